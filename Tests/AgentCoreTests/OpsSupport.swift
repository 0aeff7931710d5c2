// Helpers for the operations' end-to-end tests: run the `pgha` control CLI as a user would, make a
// replica lag for real, and wait (bounded) for cluster states.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

struct CLIResult {
    var status: Int32
    var out: String
    var err: String
}

/// The operations' cluster tests run one after another (each starts etcd + 3 agents + 3 Postgres;
/// two cores do not run several such clusters at once without stalling their leases).
@Suite(.serialized) struct AgentOpsClusters {}

/// REST basic auth the ops tests put into every member's configuration.
let opsAuth = (user: "admin", password: "pw-rest-test")

extension AgentCluster {
    /// Adds restapi.authentication to every member's configuration (before the agents start).
    func requireRESTAuth() throws {
        for m in members {
            var text = try String(contentsOfFile: m.configPath, encoding: .utf8)
            text = text.replacingOccurrences(of: "  connect_address: 127.0.0.1:\(m.restPort)\n",
                                             with: "  connect_address: 127.0.0.1:\(m.restPort)\n  authentication: {username: \(opsAuth.user), password: \(opsAuth.password)}\n")
            try text.write(toFile: m.configPath, atomically: false, encoding: .utf8)
        }
    }

    /// Runs `pgha ARGS -c <first member's config>` and returns its exit status and output (bounded).
    func cli(_ args: [String], timeout: Double = 120, quiet: Bool = false, environment: [String: String] = [:]) throws -> CLIResult {
        let dir = try makeTempDir("pgha-cli")
        defer { removeTree(dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args + ["-c", members[0].configPath]
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, n in n } }
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        if !waitUntil(timeout: timeout, interval: 0.1, { !p.isRunning }) {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw FixtureError("pgha \(args.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        if !quiet { print("$ pgha \(args.joined(separator: " "))\n\(out)\(err)", terminator: "") }
        return CLIResult(status: p.terminationStatus, out: out, err: err)
    }

    /// An HTTP request to a member's REST API, with the ops tests' basic auth unless `auth` is false.
    func http(_ name: String, _ method: String, _ path: String, body: String? = nil, auth: Bool = true) -> (status: Int, body: String)? {
        let headers = auth ? ["Authorization": "Basic \(Data("\(opsAuth.user):\(opsAuth.password)".utf8).base64EncodedString())"] : [:]
        return httpGet(port: member(name).restPort, path: path, method: method, body: body, headers: headers, timeout: 60)
    }

    /// Waits (bounded) until `body` returns a value; the failure names `what` and shows the logs.
    func eventually<T>(_ timeout: Double, _ what: String, _ body: () -> T?) throws -> T {
        var result: T?
        _ = waitUntil(timeout: timeout, interval: 0.2) { result = body(); return result != nil }
        guard let result else { throw FixtureError("timed out after \(timeout) s waiting for \(what)\n\(logs())") }
        return result
    }

    func streaming(on primary: String) -> Set<String> {
        guard let conn = try? connect(primary),
              let r = try? conn.query("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'") else { return [] }
        return Set(r.rows.compactMap { $0[0] })
    }

    /// Up: one primary and every other member streaming from it; returns the primary.
    func healthy(timeout: Double = 90) throws -> String {
        try eventually(timeout, "one primary with every other member streaming") { () -> String? in
            guard let p = primary() else { return nil }
            return streaming(on: p) == Set(members.map(\.name)).subtracting([p]) ? p : nil
        }
    }
}
