// Taking over an existing Postgres (Patroni's "convert a standalone"): a server made with initdb by
// hand, with rows and a timeline switch, becomes the leader of a new scope; two empty members clone it.
import AgentCore
import Fixtures
import Foundation
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct TakeoverTests {
    /// `running`: pgha adopts the postmaster where it runs (same PID); otherwise it starts the
    /// stopped data directory as primary. Either way: no initdb, the system identifier in
    /// `initialize`, the rows on every member, two streaming replicas, the timeline switch in `history`.
    @Test(arguments: [false, true]) func standaloneBecomesLeader(running: Bool) throws {
        let cluster = try AgentCluster(size: 3, scope: running ? "adopt" : "takeover")
        defer { cluster.shutdown() }
        let m = cluster.members[0]
        let socket = m.dir + "/sock"
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: false)
        _ = chown(socket, getpwnam("postgres").pointee.pw_uid, getpwnam("postgres").pointee.pw_gid)
        // The operator's standalone server: its own socket directory (named in pgha.yml below) and
        // the parameters bootstrap.dcs gives, so the replicas may run with them.
        _ = try cluster.asPostgres("initdb", ["-D", m.dataDir, "-U", "postgres", "--auth=trust"])
        let options = "-c port=\(m.pgPort) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(socket) -c max_connections=40 -c shared_buffers=16MB"
        func pgctl(_ args: [String]) throws { _ = try cluster.asPostgres("pg_ctl", args + ["-D", m.dataDir, "-w", "-t", "60"]) }
        try pgctl(["start", "-l", m.dir + "/standalone.log", "-o", options])
        let db = try cluster.connect(m.name)
        _ = try db.query("CREATE TABLE kept (id int PRIMARY KEY, note text)")
        _ = try db.query("INSERT INTO kept SELECT g, 'before the switch' FROM generate_series(1, 500) g")
        let sysid = try #require(try db.query("SELECT system_identifier::text AS s FROM pg_control_system()").value("s"))
        // A timeline switch (stop, start as a standby without a source, promote) leaves 00000002.history.
        try pgctl(["stop", "-m", "fast"])
        FileManager.default.createFile(atPath: m.dataDir + "/standby.signal", contents: Data())
        try pgctl(["start", "-l", m.dir + "/standalone.log", "-o", options])
        try pgctl(["promote"])
        let db2 = try cluster.connect(m.name)
        _ = try db2.query("INSERT INTO kept SELECT g, 'after the switch' FROM generate_series(501, 1000) g")
        let rows = try #require(Int(try db2.query("SELECT count(*) AS n FROM kept").value("n") ?? ""))
        let historyFile = try String(contentsOfFile: m.dataDir + "/pg_wal/00000002.history", encoding: .utf8)
        let switchLSN = try #require(HistoryEntry.parseHistoryFile(historyFile).first?.lsn)
        if !running { try pgctl(["stop", "-m", "fast"]) }
        let standalonePID = cluster.postmasterPID(m.name)
        try cluster.rewriteConfig(of: m.name, "  data_dir: \(m.dataDir)\n", "  data_dir: \(m.dataDir)\n  parameters:\n    unix_socket_directories: \(socket)\n")

        // The member with the data first: empty members started with it would race it to initdb.
        let t0 = Date()
        try cluster.start(m.name)
        _ = try cluster.eventually(60, "\(m.name) primary after the takeover") { cluster.status(m.name, "/primary") == 200 ? true : nil }
        print("takeover (\(running ? "running" : "stopped") server): \(m.name) primary with the leader key \(String(format: "%.1f", Date().timeIntervalSince(t0))) s after its agent started")
        #expect(cluster.etcdValue("initialize") == sysid)
        #expect(cluster.etcdValue("leader") == m.name)
        if running { #expect(cluster.postmasterPID(m.name) == standalonePID, "the running postmaster was adopted, not restarted") }
        let history = try #require(cluster.etcdValue("history"))
        let recorded = (try JSONSerialization.jsonObject(with: Data(history.utf8))) as? [[Any]]
        #expect(recorded?.count == 1 && (recorded?[0][0] as? Int) == 1 && (recorded?[0][1] as? NSNumber)?.int64Value == switchLSN, "history \(history)")
        #expect((recorded?[0].last as? String) == m.name, "history \(history)")
        let log = (try? String(contentsOfFile: cluster.logPath(m.name), encoding: .utf8)) ?? ""
        #expect(!log.contains("initdb"), "\(cluster.logs(20))")

        let t1 = Date()
        try cluster.start("n2")
        try cluster.start("n3")
        let leader = try cluster.healthy(timeout: 120)
        print("takeover: n2 and n3 streaming \(String(format: "%.1f", Date().timeIntervalSince(t1))) s after their agents started")
        #expect(leader == m.name)
        for name in ["n1", "n2", "n3"] {
            let c = try cluster.connect(name)
            #expect(try c.query("SELECT system_identifier::text AS s FROM pg_control_system()").value("s") == sysid, "\(name)")
            let n = try cluster.eventually(30, "\(rows) rows on \(name)") { () -> Int? in
                let got = (try? c.query("SELECT count(*) AS n FROM kept"))?.value("n").flatMap { Int($0) }
                return got == rows ? got : nil
            }
            #expect(n == rows)
        }
    }
} }
