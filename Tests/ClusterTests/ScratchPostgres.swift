// A throw-away Postgres on a unix socket in a temp dir, run as the `postgres` OS user, for
// tests that only need a database to load SQL into.
import Fixtures
import Spawn
import Foundation

final class ScratchPostgres {
    static let binDir = "/usr/lib/postgresql/15/bin"
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: binDir + "/initdb")
    }

    let dir: String
    let port: Int
    private var daemon: Daemon?

    init() throws {
        dir = try makeTempDir("scratch-pg")
        port = try freePort()
        try Self.run("/bin/chown", ["postgres:postgres", dir])
        try Self.run("/usr/bin/setpriv", Self.asPostgres + [Self.binDir + "/initdb", "-D", dir + "/data", "-U", "postgres",
                                                            "--auth=trust", "-E", "UTF8", "--no-sync"])
        daemon = try Daemon(name: "postgres", executable: "/usr/bin/setpriv",
                            arguments: Self.asPostgres + [Self.binDir + "/postgres", "-D", dir + "/data", "-p", String(port),
                                                          "-k", dir, "-c", "listen_addresses=", "-c", "fsync=off"],
                            logPath: dir + "/postgres.log")
        guard waitUntil(timeout: 30, interval: 0.1, { (try? self.psql(["-Atc", "select 1"])) != nil }) else {
            let tail = daemon?.logTail() ?? ""
            stop()
            throw FixtureError("scratch Postgres did not start:\n\(tail)")
        }
    }

    static let asPostgres = ["--reuid=postgres", "--regid=postgres", "--init-groups"]

    /// Runs psql against the scratch server as `postgres`; throws with stderr on failure.
    @discardableResult
    func psql(_ arguments: [String]) throws -> String {
        try Self.run("/usr/bin/setpriv", Self.asPostgres + [Self.binDir + "/psql", "-X", "-h", dir, "-p", String(port),
                                                            "-U", "postgres", "-d", "postgres"] + arguments)
    }

    func stop() {
        daemon?.stop()
        daemon = nil
        removeTree(dir)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let r = try Spawn.run(executable, arguments, environment: ProcessInfo.processInfo.environment, timeout: 300)
        guard r.status == 0 else {
            throw FixtureError("\(executable) \(arguments.joined(separator: " ")): exit \(r.status): " + r.stderr)
        }
        return r.stdout
    }
}
