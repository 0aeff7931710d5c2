// End to end: one etcd, three pgha agents each owning a Postgres, all on 127.0.0.1.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

@Suite(.serialized) struct AgentClusterTests {
    /// Waits (bounded) until `body` returns a value; the failure shows the cluster's logs.
    func eventually<T>(_ timeout: Double, _ what: String, _ cluster: AgentCluster, _ body: () -> T?) throws -> T {
        try Fixtures.eventually(timeout, what, context: { cluster.logs() }, body)
    }

    func streamingReplicas(_ cluster: AgentCluster, on primary: String) -> Set<String> {
        guard let conn = try? cluster.connect(primary),
              let r = try? conn.query("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'") else { return [] }
        return Set(r.rows.compactMap { $0[0] })
    }

    func readRow(_ cluster: AgentCluster, _ name: String, id: Int) -> String? {
        guard let conn = try? cluster.connect(name), let r = try? conn.query("SELECT v FROM t WHERE id = $1", [String(id)]) else { return nil }
        return r.value("v")
    }

    @Test func failoverAndRejoin() throws {
        let cluster = try AgentCluster()
        defer { cluster.shutdown() }
        try cluster.startAll()
        let names = cluster.members.map(\.name)

        // Up: one primary, two streaming replicas.
        let first = try eventually(90, "a primary", cluster) { cluster.primary() }
        let others = Set(names).subtracting([first])
        _ = try eventually(90, "two streaming replicas on \(first)", cluster) {
            streamingReplicas(cluster, on: first) == others ? true : nil
        }
        _ = try eventually(10, "health answers to settle", cluster) {
            names.allSatisfy { cluster.status($0, "/replica") == ($0 == first ? 503 : 200) } ? true : nil
        }
        for n in names {
            #expect(cluster.status(n, "/primary") == (n == first ? 200 : 503), "\(n) /primary")
            #expect(cluster.status(n, "/replica") == (n == first ? 503 : 200), "\(n) /replica")
        }

        // A row written on the primary is read on both replicas.
        let conn = try cluster.connect(first)
        try conn.query("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try conn.query("INSERT INTO t VALUES (1, 'before failover')")
        for n in others {
            #expect(try eventually(20, "row on \(n)", cluster) { readRow(cluster, n, id: 1) } == "before failover")
        }

        // Host loss of the primary: agent and postmaster SIGKILLed together.
        let killedAt = Date()
        cluster.killHost(first)
        let second = try eventually(60, "a new primary", cluster) { () -> String? in
            let p = others.first { cluster.status($0, "/primary") == 200 }
            guard let p, let c = try? cluster.connect(p), (try? c.query("INSERT INTO t VALUES (2, 'after failover')")) != nil else { return nil }
            return p
        }
        print("failover: \(second) accepted writes \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s after host loss of \(first)")
        #expect(readRow(cluster, second, id: 1) == "before failover", "row lost in failover")
        let third = others.subtracting([second]).first!
        #expect(try eventually(30, "\(third) streaming from \(second)", cluster) {
            streamingReplicas(cluster, on: second).contains(third) ? true : nil
        })

        // The old primary's agent comes back: it rejoins as a streaming replica (pg_rewind).
        try cluster.start(first)
        _ = try eventually(90, "\(first) rejoining as a streaming replica", cluster) {
            streamingReplicas(cluster, on: second) == Set(names).subtracting([second]) ? true : nil
        }
        #expect(try eventually(20, "row 2 on \(first)", cluster) { readRow(cluster, first, id: 2) } == "after failover")
        _ = try eventually(10, "health answers to settle", cluster) {
            names.allSatisfy { cluster.status($0, "/primary") == ($0 == second ? 200 : 503) && cluster.status($0, "/replica") == ($0 == second ? 503 : 200) } ? true : nil
        }
        for n in names {
            #expect(cluster.status(n, "/primary") == (n == second ? 200 : 503), "\(n) /primary after rejoin")
            #expect(cluster.status(n, "/replica") == (n == second ? 503 : 200), "\(n) /replica after rejoin")
        }
        let clusterJSON = cluster.body(second, "/cluster") ?? ""
        #expect(clusterJSON.contains("\"role\":\"leader\""), "/cluster: \(clusterJSON)")
    }
}
