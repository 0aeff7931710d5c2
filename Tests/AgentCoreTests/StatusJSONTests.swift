// GET /cluster's member states, as Patroni ≥ 3.0.4 shows them: tools (and `provision check`)
// wait for "streaming", so a replica whose WAL receiver is down must not be shown streaming.
import Testing
@testable import AgentCore

@Suite struct StatusJSONTests {
    func member(_ name: String, role: String, state: String, replication: String?) -> MemberInfo {
        var m = MemberInfo(name: name)
        m.role = role; m.state = state; m.replicationState = replication
        m.connURL = "postgres://10.0.0.1:5432/postgres"
        return m
    }

    @Test func replicaStateIsItsReplicationState() throws {
        var config = AgentConfig(); config.scope = "demo"; config.name = "n1"
        var snapshot = AgentSnapshot(config: config)
        var view = ClusterView()
        view.leader = "n1"
        view.members = [
            member("n1", role: "primary", state: "running", replication: nil),
            member("n2", role: "replica", state: "running", replication: "streaming"),
            member("n3", role: "replica", state: "running", replication: "in archive recovery"),
            member("n4", role: "replica", state: "running", replication: nil),
            member("n5", role: "replica", state: "stopped", replication: nil),
        ]
        snapshot.cluster = view
        let members = try #require(StatusJSON.cluster(snapshot)["members"] as? [[String: Any]])
        let states = Dictionary(uniqueKeysWithValues: members.map { ($0["name"] as! String, $0["state"] as! String) })
        #expect(states == ["n1": "running", "n2": "streaming", "n3": "in archive recovery", "n4": "running", "n5": "stopped"])
        #expect(members.first { $0["name"] as? String == "n1" }?["role"] as? String == "leader")
    }
}

/// GET /metrics keeps Patroni's metric names (dashboards and alerts are written against them).
@Suite struct MetricsTests {
    @Test func patroniNamesAndValues() {
        var config = AgentConfig(); config.scope = "demo"; config.name = "n1"
        var snapshot = AgentSnapshot(config: config)
        snapshot.local.run = .running
        snapshot.local.timeline = 3
        snapshot.holdsLeader = true
        let text = AgentMetrics(scope: "demo", name: "n1").render(snapshot)
        #expect(text.contains("# TYPE patroni_postgres_running gauge"))
        #expect(text.contains(#"patroni_postgres_running{scope="demo",name="n1"} 1"#))
        #expect(text.contains(#"patroni_primary{scope="demo",name="n1"} 1"#))
        #expect(text.contains(#"patroni_postgres_timeline{scope="demo",name="n1"} 3"#))
        #expect(text.contains("# HELP patroni_cluster_unlocked 1 if nobody holds the leader key"))
    }
}
