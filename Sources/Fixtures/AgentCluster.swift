// A loopback pgha cluster: one throw-away etcd and N `pgha serve` processes (as the postgres OS
// user, via setpriv so each PID is pgha's), each owning its own Postgres in a temp dir.
import Foundation
import PQ
#if canImport(Glibc)
import Glibc
#endif

/// The pgha binary `swift build` put next to the running test or bench executable (PGHA_BIN overrides).
public func pghaBinary() throws -> String {
    if let env = ProcessInfo.processInfo.environment["PGHA_BIN"] { return env }
    return try builtBinary("pgha")
}

/// The executable `name` that `swift build` put next to the running test or bench executable.
public func builtBinary(_ name: String) throws -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    // The test bundle may sit inside a .xctest directory.
    while !dir.isEmpty && dir != "/" {
        let candidate = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = (dir as NSString).deletingLastPathComponent
    }
    throw FixtureError("no \(name) binary next to \(exe); run `swift build --product \(name)`")
}

public final class AgentCluster {
    public struct Member {
        public let name: String
        public let dir: String
        public let pgPort: Int
        public let restPort: Int
        public var dataDir: String { dir + "/data" }
        public var configPath: String { dir + "/pgha.yml" }
    }

    public let scope: String
    public let etcd: EtcdServer
    public let root: String
    public let members: [Member]
    public let binary: String
    public let superPassword = "pw-super-test"
    private var agents: [String: Daemon] = [:]
    private var starts: [String: Int] = [:]

    /// The log of the member's current (latest) agent run.
    public func logPath(_ name: String) -> String { member(name).dir + "/agent.\(starts[name] ?? 1).log" }
    private var postgresUID: uid_t = 0
    private var postgresGID: gid_t = 0

    /// Writes `size` configs (timing from `dcsYAML`, the bootstrap.dcs block) without starting agents.
    /// `etcd`: a server the test started (e.g. https with RBAC); by default a plain one.
    public init(size: Int = 3, scope: String = "pgtest", dcsYAML: String? = nil, etcd: EtcdServer? = nil) throws {
        binary = try pghaBinary()
        guard let pw = getpwnam("postgres") else { throw FixtureError("no postgres OS user (install postgresql-15)") }
        postgresUID = pw.pointee.pw_uid
        postgresGID = pw.pointee.pw_gid
        self.scope = scope
        self.etcd = try etcd ?? EtcdServer()
        root = try makeTempDir("pgha-cluster")
        try Self.own(root, uid: postgresUID, gid: postgresGID)
        var list: [Member] = []
        for i in 1...size {
            let m = Member(name: "n\(i)", dir: root + "/n\(i)", pgPort: try freePort(), restPort: try freePort())
            try FileManager.default.createDirectory(atPath: m.dir, withIntermediateDirectories: false)
            try Self.own(m.dir, uid: postgresUID, gid: postgresGID)
            try Self.config(for: m, scope: scope, etcdPort: self.etcd.clientPort, dcsYAML: dcsYAML).write(toFile: m.configPath, atomically: true, encoding: .utf8)
            try Self.own(m.configPath, uid: postgresUID, gid: postgresGID, mode: 0o600)
            list.append(m)
        }
        members = list
    }

    static func own(_ path: String, uid: uid_t, gid: gid_t, mode: mode_t = 0o700) throws {
        guard chown(path, uid, gid) == 0, chmod(path, mode) == 0 else {
            throw FixtureError("chown/chmod \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The default timing of pgha (ttl 6 / loop_wait 1 / retry_timeout 2.5) unless `dcsYAML` says otherwise.
    static func config(for m: Member, scope: String, etcdPort: Int, dcsYAML: String?) -> String {
        """
        scope: \(scope)
        namespace: /service
        name: \(m.name)
        restapi:
          listen: 127.0.0.1:\(m.restPort)
          connect_address: 127.0.0.1:\(m.restPort)
        etcd3:
          hosts: 127.0.0.1:\(etcdPort)
        bootstrap:
          dcs:
        \(dcsYAML ?? "    maximum_lag_on_failover: 1048576")
            postgresql:
              use_pg_rewind: true
              parameters:
                max_connections: 40
                shared_buffers: 16MB
        postgresql:
          listen: 127.0.0.1:\(m.pgPort)
          connect_address: 127.0.0.1:\(m.pgPort)
          data_dir: \(m.dataDir)
          pgpass: \(m.dir)/pgpass
          authentication:
            superuser: {username: postgres, password: pw-super-test}
            replication: {username: replicator, password: pw-repl-test}
        tags: {}
        log:
          level: info

        """
    }

    public func member(_ name: String) -> Member { members.first { $0.name == name }! }

    /// Points the member's agent at etcd through `port` (a TCPProxy to etcd) instead of etcd
    /// itself; before that agent starts.
    public func routeEtcd(of name: String, throughPort port: Int) throws {
        try rewriteConfig(of: name, "hosts: 127.0.0.1:\(etcd.clientPort)\n", "hosts: 127.0.0.1:\(port)\n")
    }

    /// Publishes the member's Postgres to the others (postgresql.connect_address: replication,
    /// clones, rewinds) through `port` (a TCPProxy to its port); before that agent starts.
    public func routePostgres(of name: String, throughPort port: Int) throws {
        let m = member(name)
        try rewriteConfig(of: name, "  connect_address: 127.0.0.1:\(m.pgPort)\n", "  connect_address: 127.0.0.1:\(port)\n")
    }

    /// Appends top-level YAML (e.g. a `watchdog:` section) to the member's configuration; before that agent starts.
    public func appendConfig(of name: String, _ yaml: String) throws {
        let path = member(name).configPath
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try (text + yaml).write(toFile: path, atomically: false, encoding: .utf8)
    }

    public func rewriteConfig(of name: String, _ old: String, _ new: String) throws {
        let path = member(name).configPath
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard text.contains(old) else { throw FixtureError("\(path) has no line \(old)") }
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Starts (or restarts) the agent of `name` as the postgres user; its log is appended.
    public func start(_ name: String) throws {
        let m = member(name)
        starts[name, default: 0] += 1
        let env = ["PATH": "/usr/bin:/bin", "HOME": m.dir, "LANG": "C.UTF-8"]
        let d = try Daemon(name: "pgha-\(name)", executable: "/usr/bin/setpriv",
                           arguments: ["--reuid=postgres", "--regid=postgres", "--init-groups", binary, "serve", "--config", m.configPath],
                           logPath: logPath(name), environment: env)
        agents[name] = d
    }

    public func startAll() throws { for m in members { try start(m.name) } }

    public func agent(_ name: String) -> Daemon? { agents[name] }

    /// PID of the member's postmaster, from postmaster.pid, if that process lives.
    public func postmasterPID(_ name: String) -> Int32? {
        guard let text = try? String(contentsOfFile: member(name).dataDir + "/postmaster.pid", encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// Host loss: SIGKILL the agent and the postmaster together (no clean exit anywhere).
    public func killHost(_ name: String) {
        let pm = postmasterPID(name)
        agents[name]?.kill9()
        if let pm { kill(pm, SIGKILL) }
        _ = waitUntil(timeout: 5) { postmasterPID(name) == nil }
    }

    /// Postgres crash under a live agent: SIGKILL the postmaster only.
    public func killPostgres(_ name: String) {
        if let pm = postmasterPID(name) { kill(pm, SIGKILL) }
    }

    /// HTTP status of GET `path` on the member's REST API (nil: no answer within 1 s).
    public func status(_ name: String, _ path: String) -> Int? { get(name, path)?.status }

    public func body(_ name: String, _ path: String) -> String? { get(name, path)?.body }

    /// The REST API's CA and the operator's client pair once useTLS made it HTTPS (curl then asks).
    var restTLS: (ca: String, cert: String, key: String)?

    private func get(_ name: String, _ path: String) -> (status: Int, body: String)? {
        guard let tls = restTLS else { return httpGet(port: member(name).restPort, path: path) }
        guard let a = try? curl("https://127.0.0.1:\(member(name).restPort)\(path)", cacert: tls.ca, cert: tls.cert, key: tls.key, timeout: 1),
              a.exitCode == 0 else { return nil }
        return (a.status, a.body)
    }

    /// A superuser connection to the member's Postgres over TCP.
    public func conninfo(_ name: String) -> String {
        "host=127.0.0.1 port=\(member(name).pgPort) user=postgres password=\(superPassword) dbname=postgres"
    }

    public func connect(_ name: String) throws -> PGConnection {
        try PGConnection(conninfo: conninfo(name), connectTimeout: 2)
    }

    /// The member that answers 200 on /primary, if exactly one does.
    public func primary() -> String? {
        let ps = members.filter { status($0.name, "/primary") == 200 }
        return ps.count == 1 ? ps[0].name : nil
    }

    /// Stops every agent (SIGTERM, which stops its Postgres), kills leftover postmasters by PID,
    /// stops etcd and removes the temp tree.
    public func shutdown() {
        for (_, d) in agents { d.stop(grace: 15) }
        for m in members {
            if let pm = postmasterPID(m.name) { kill(pm, SIGKILL) }
        }
        agents = [:]
        etcd.stop()
        if ProcessInfo.processInfo.environment["PGHA_KEEP"] == nil { removeTree(root) }
    }

    /// Every agent's log tail, for failure messages.
    public func logs(_ lines: Int = 25) -> String {
        members.map { m in
            let text = (try? String(contentsOfFile: logPath(m.name), encoding: .utf8)) ?? ""
            return "== \(m.name) ==\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

/// A minimal HTTP/1.0 request on 127.0.0.1 with a `timeout` (1 s unless told; no client library
/// needed in fixtures). `body` is sent as JSON; `headers` are added as given.
public func httpGet(port: Int, path: String, method: String = "GET", body: String? = nil,
                    headers: [String: String] = [:], timeout: Int = 1) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard ok else { return nil }
    var head = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
    if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
    let request = Array((head + "\r\n" + (body ?? "")).utf8)
    guard send(fd, request, request.count, 0) == request.count else { return nil }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data.append(contentsOf: buf[0..<n])
    }
    let text = String(decoding: data, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    guard let statusLine = parts.first?.split(separator: "\r\n").first else { return nil }
    let fields = statusLine.split(separator: " ")
    guard fields.count >= 2, let code = Int(fields[1]) else { return nil }
    return (code, parts.dropFirst().joined(separator: "\r\n\r\n"))
}
