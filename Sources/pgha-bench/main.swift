// pgha-bench: host-loss failover time, Postgres-crash recovery time (medians of N trials) and the
// failovers seen during a fault-free run, and the switchover write gap, on a 3-member loopback cluster (etcd + 3 pgha + 3 Postgres).
// Usage: pgha-bench [--trials N] [--quiet-seconds S]   (S = 600 for the 10-minute figure)
//        pgha-bench --tls …       (the same with the lab's TLS on every link: etcd, REST API, Postgres, replication)
//        pgha-bench --footprint S   (resident memory and threads of each agent after S idle seconds; PGHA_BIN picks the binary)
import Fixtures
import Foundation
import PQ

func argument(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

let trials = argument("--trials", 5)
let quietSeconds = argument("--quiet-seconds", 60)

func log(_ s: String) { FileHandle.standardError.write(Data("[bench] \(s)\n".utf8)) }
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted(); guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
func fmt(_ d: Double) -> String { String(format: "%.2f s", d) }

/// Members whose primary lists every other member as a streaming replica.
func healthy(_ c: AgentCluster) -> String? {
    guard let p = c.primary(), let conn = try? c.connect(p),
          // pg_basebackup's WAL stream shows as 'streaming' too: count members only.
          let r = try? conn.query("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming' AND application_name LIKE 'n%'"),
          Int(r.value("n") ?? "") == c.members.count - 1 else { return nil }
    return p
}

func waitHealthy(_ c: AgentCluster, _ timeout: Double = 120) throws -> String {
    var p: String?
    _ = waitUntil(timeout: timeout, interval: 0.2) { p = healthy(c); return p != nil }
    guard let p else { throw FixtureError("cluster not healthy within \(Int(timeout)) s\n\(c.logs())") }
    return p
}

/// Seconds from `t0` until some member accepts an INSERT (polled every 20 ms).
func timeUntilWritable(_ c: AgentCluster, since t0: Date, timeout: Double = 60) -> Double? {
    var n = 0
    while Date().timeIntervalSince(t0) < timeout {
        for m in c.members {
            if let conn = try? PGConnection(conninfo: "host=127.0.0.1 port=\(m.pgPort) user=postgres password=\(c.superPassword) dbname=postgres", connectTimeout: 2),
               (try? conn.query("INSERT INTO bench VALUES ($1)", [String(n)])) != nil {
                return Date().timeIntervalSince(t0)
            }
            n += 1
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return nil
}

if CommandLine.arguments.contains("--footprint") {
    do { try measureIdleFootprint(seconds: argument("--footprint", 30), log: log) } catch { log("failed: \(error)"); exit(1) }
    exit(0)
}

/// --tls: the lab's TLS on every link (etcd https + client certificates + RBAC, REST over HTTPS,
/// Postgres ssl with replication verify-full; the bench's own SQL clients negotiate TLS too).
let tls = CommandLine.arguments.contains("--tls")

func benchCluster() throws -> (AgentCluster, TestPKI?) {
    guard tls else { return (try AgentCluster(scope: "bench"), nil) }
    let pki = try TestPKI()
    guard let pw = getpwnam("postgres") else { throw FixtureError("no postgres OS user") }
    pki.share(uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    let etcd = try EtcdServer.tls(pki)
    let etcdPassword = "bench-etcd-" + UUID().uuidString, restPassword = "bench-rest-" + UUID().uuidString
    try etcd.enableRBAC(pki, prefix: "/service/bench/", rootPassword: "bench-root-" + UUID().uuidString, pghaPassword: etcdPassword)
    let cluster = try AgentCluster(scope: "bench", etcd: etcd)
    try cluster.useTLS(pki, etcdPassword: etcdPassword, restPassword: restPassword)
    return (cluster, pki)
}

do {
    let (cluster, pki) = try benchCluster()
    defer { cluster.shutdown(); pki?.remove() }
    try cluster.startAll()
    var primary = try waitHealthy(cluster)
    try cluster.connect(primary).query("CREATE TABLE bench (n int)")
    log("cluster up, primary \(primary)")

    var hostLoss: [Double] = []
    for i in 1...trials {
        primary = try waitHealthy(cluster)
        Thread.sleep(forTimeInterval: Double.random(in: 0...1))  // land anywhere in the renewal cycle
        let t0 = Date()
        cluster.killHost(primary)
        guard let t = timeUntilWritable(cluster, since: t0) else { throw FixtureError("no member writable after host loss\n\(cluster.logs())") }
        hostLoss.append(t)
        log("host loss \(i)/\(trials): \(primary) killed, writes accepted after \(fmt(t))")
        try cluster.start(primary)
    }

    var crash: [Double] = []
    for i in 1...trials {
        primary = try waitHealthy(cluster)
        Thread.sleep(forTimeInterval: Double.random(in: 0...1))
        let t0 = Date()
        cluster.killPostgres(primary)
        guard let t = timeUntilWritable(cluster, since: t0) else { throw FixtureError("no member writable after Postgres crash\n\(cluster.logs())") }
        crash.append(t)
        log("postgres crash \(i)/\(trials): postmaster of \(primary) killed, writes back after \(fmt(t)) (leader stayed \(primary): \(waitUntil(timeout: 10, interval: 0.2) { cluster.primary() == primary }))")
    }

    // Planned switchover through the control CLI (SwitchoverGap.swift, issue 4).
    let gaps = try measureSwitchoverGaps(cluster, trials: trials, log: log)

    primary = try waitHealthy(cluster)
    log("no-fault run: \(quietSeconds) s")
    var changes = 0, last = primary
    let end = Date().addingTimeInterval(Double(quietSeconds))
    while Date() < end {
        if let p = cluster.primary(), p != last { changes += 1; log("primary changed \(last) → \(p) during the no-fault run"); last = p }
        Thread.sleep(forTimeInterval: 0.5)
    }
    print("pgha-bench (3 members on 127.0.0.1, ttl 6 / loop_wait 1 / retry_timeout 2.5, \(tls ? "TLS on every link" : "plain text"))")
    print("host loss (agent + postmaster SIGKILL) → writes accepted: median \(fmt(median(hostLoss))) over \(trials) [\(hostLoss.map(fmt).joined(separator: ", "))]")
    print("Postgres crash (postmaster SIGKILL)   → writes back:     median \(fmt(median(crash))) over \(trials) [\(crash.map(fmt).joined(separator: ", "))]")
    print("switchover (pgha switchover)          → write gap:       median \(fmt(median(gaps))) over \(trials) [\(gaps.map(fmt).joined(separator: ", "))] (client writing to every member every 50 ms)")
    print("failovers during \(quietSeconds) s without faults: \(changes)")
} catch {
    log("failed: \(error)")
    exit(1)
}
