// The operations' rules in the one decision, as a table: switchover / failover requests, scheduled
// requests, pause, synchronous mode, failsafe, local requests, dynamic config.
import AgentCore
import Foundation
import Testing

func withConfig(_ v: ClusterView, _ json: String) -> ClusterView {
    var v = v
    v.config = DynamicConfig.parse(json, base: AgentConfig())
    return v
}
func withFailover(_ v: ClusterView, leader: String?, member: String?, at: String? = nil) -> ClusterView {
    var v = v
    v.failover = FailoverRequest(leader: leader, member: member, scheduledAt: at, modRevision: 7)
    return v
}
func withSync(_ v: ClusterView, _ standby: String) -> ClusterView {
    var v = v
    v.syncJSON = #"{"leader":"n1","sync_standby":"\#(standby)"}"#
    return v
}
/// A view with every member's api_url and the matching failsafe key, so the leader has no failsafe duty.
func settled(_ v: ClusterView) -> ClusterView {
    var v = v
    for i in v.members.indices { v.members[i].apiURL = "http://127.0.0.1:800\(i)/patroni" }
    v.failsafeJSON = ConfigEdit.encode(Dictionary(uniqueKeysWithValues: v.members.map { ($0.name, $0.apiURL) }))
    return v
}

let opsTable: [DecisionCase] = [
    // Switchover: the leader hands over when due; the named candidate takes the key; others wait.
    DecisionCase(description: "leader hands over to the named candidate",
                 input: input("n1", withFailover(settled(view(leader: "n1")), leader: "n1", member: "n2"), primary()),
                 expected: [.switchover(candidate: "n2")], says: "switchover to n2"),
    DecisionCase(description: "switchover without candidate picks the most advanced replica",
                 input: input("n1", { var v = withFailover(settled(view(leader: "n1")), leader: "n1", member: nil); v.members[2].xlogLocation = 4990; v.members[1].xlogLocation = 4900; return v }(), primary()),
                 expected: [.switchover(candidate: "n3")], says: "switchover to n3"),
    DecisionCase(description: "scheduled switchover to a candidate lagging when due is refused and cleared",
                 input: input("n1", { var v = withFailover(settled(view(leader: "n1", optime: 9_000_000)), leader: "n1", member: "n2", at: "2020-01-01T00:00:00Z"); v.members[1].xlogLocation = 10; return v }(), primary()) { $0.wallNow = 1_800_000_000 },
                 expected: [.clearFailover], says: "lagging"),
    DecisionCase(description: "immediate switchover goes ahead though etcd shows lag (POST /switchover checked it fresh)",
                 input: input("n1", { var v = withFailover(settled(view(leader: "n1", optime: 9_000_000)), leader: "n1", member: "n2"); v.members[1].xlogLocation = 10; return v }(), primary()),
                 expected: [.switchover(candidate: "n2")], says: "switchover to n2"),
    DecisionCase(description: "switchover without a candidate leaves out one lagging in etcd",
                 input: input("n1", { var v = withFailover(settled(view(leader: "n1", optime: 9_000_000)), leader: "n1", member: nil); v.members[1].xlogLocation = 8_999_000; v.members[2].xlogLocation = 10; return v }(), primary()),
                 expected: [.switchover(candidate: "n2")], says: "switchover to n2"),
    DecisionCase(description: "switchover naming another leader is refused",
                 input: input("n1", withFailover(settled(view(leader: "n1")), leader: "n3", member: "n2"), primary()),
                 expected: [.clearFailover], says: "names n3 as leader"),
    DecisionCase(description: "scheduled switchover waits for its time",
                 input: input("n1", withFailover(settled(view(leader: "n1")), leader: "n1", member: "n2", at: "2030-01-01T00:00:00Z"), primary()) { $0.wallNow = 1_800_000_000 },
                 expected: [.maintainSlots, .publishStatus], says: "I am the leader"),
    DecisionCase(description: "scheduled switchover runs once due",
                 input: input("n1", withFailover(settled(view(leader: "n1")), leader: "n1", member: "n2", at: "2020-01-01T00:00:00Z"), primary()) { $0.wallNow = 1_800_000_000 },
                 expected: [.switchover(candidate: "n2")], says: "switchover to n2"),
    DecisionCase(description: "named candidate takes the key and promotes",
                 input: input("n2", withFailover(view(leader: nil), leader: "n1", member: "n2"), replica()),
                 expected: [.acquireLeader, .promote, .clearFailover, .maintainSlots, .publishStatus], says: "switchover to me requested"),
    DecisionCase(description: "others wait for the named candidate",
                 input: input("n3", withFailover(view(leader: nil), leader: "n1", member: "n2"), replica(lsn: 9000)) { $0.peers = [peer("n2", lsn: 5000)] },
                 expected: [], says: "waiting for n2 to take over"),
    DecisionCase(description: "manual failover with no leader promotes the candidate even when paused",
                 input: input("n2", withFailover(withConfig(view(leader: nil), #"{"pause":true}"#), leader: nil, member: "n2"), replica()),
                 expected: [.acquireLeader, .promote, .clearFailover, .maintainSlots, .publishStatus], says: "failover to me requested"),
    // Pause: no automatic failover, no automatic restarts.
    DecisionCase(description: "paused: no race without a leader",
                 input: input("n2", withConfig(view(leader: nil), #"{"pause":true}"#), replica()) { $0.peers = [peer("n3", lsn: 1)] },
                 expected: [], says: "paused: no leader"),
    DecisionCase(description: "paused: crashed primary is not restarted",
                 input: input("n1", withConfig(view(leader: "n1"), #"{"pause":true}"#), stopped(controlState: "in production")) { $0.postgresDownSince = 99 },
                 expected: [], says: "not restarting it"),
    DecisionCase(description: "paused: manual switchover still works",
                 input: input("n1", withFailover(withConfig(settled(view(leader: "n1")), #"{"pause":true}"#), leader: "n1", member: "n2"), primary()),
                 expected: [.switchover(candidate: "n2")], says: "switchover to n2"),
    // Synchronous mode: only the sync standby races; the leader manages the sync key.
    DecisionCase(description: "sync mode: an asynchronous replica does not race",
                 input: input("n3", withSync(withConfig(view(leader: nil), #"{"synchronous_mode":true}"#), "n2"), replica(lsn: 9000)),
                 expected: [], says: "not a synchronous standby"),
    DecisionCase(description: "sync mode: the synchronous standby races",
                 input: input("n2", withSync(withConfig(settled(view(leader: nil)), #"{"synchronous_mode":true}"#), "n2"), replica()) { $0.peers = [peer("n3", lsn: 4000)] },
                 expected: [.acquireLeader, .promote, .maintainSlots, .publishStatus, .manageSync], says: "promoted self"),
    DecisionCase(description: "sync mode: leader manages synchronous_standby_names",
                 input: input("n1", withSync(withConfig(settled(view(leader: "n1")), #"{"synchronous_mode":true}"#), "n2"), primary()),
                 expected: [.maintainSlots, .publishStatus, .manageSync], says: "I am the leader"),
    DecisionCase(description: "sync mode: a lagging asynchronous replica is not a switchover candidate",
                 input: input("n1", withFailover(withSync(withConfig(settled(view(leader: "n1")), #"{"synchronous_mode":true}"#), "n2"), leader: "n1", member: "n3"), primary()),
                 expected: [.clearFailover], says: "not a synchronous standby"),
    // check_timeline: a replica still on an old timeline stays out.
    DecisionCase(description: "check_timeline: replica behind the last leader's timeline does not race",
                 input: input("n2", { var v = withConfig(view(leader: nil), #"{"check_timeline":true}"#); v.history = [HistoryEntry(timeline: 1, lsn: 100, reason: "", timestamp: "", newLeader: "n1")]; return v }(), replica(timeline: 1)),
                 expected: [], says: "check_timeline is on"),
    // Failsafe: etcd gone; the leader stays only while every member acknowledges.
    DecisionCase(description: "failsafe: all members acknowledge, primary stays",
                 input: input("n1", nil, primary(), now: 120, renewed: 100) { $0.failsafeAcked = true; $0.lastKnown = settled(view(leader: "n1")) },
                 expected: [], says: "failsafe acknowledged by all 3 members"),
    DecisionCase(description: "failsafe: a member does not answer, primary demotes",
                 input: input("n1", nil, primary(), now: 120, renewed: 100) { $0.failsafeAcked = false; $0.lastKnown = settled(view(leader: "n1")) },
                 expected: [.stop(.fast), .start(primary: false, upstream: nil)], says: "demoting: lost the leader lease"),
    DecisionCase(description: "failsafe: leader publishes the failsafe key",
                 input: input("n1", { var v = view(leader: "n1"); v.members[0].apiURL = "http://a/patroni"; return v }(), primary()),
                 expected: [.maintainSlots, .publishStatus, .publishFailsafe], says: "I am the leader"),
    DecisionCase(description: "failsafe: a replica never promotes without the key",
                 input: input("n2", nil, replica(), now: 200, renewed: 100) { $0.failsafeAcked = nil },
                 expected: [], says: "etcd unreachable"),
    // Local requests.
    DecisionCase(description: "restart of the leader keeps the lock",
                 input: input("n1", settled(view(leader: "n1")), primary()) { $0.request = .restart(role: nil, pendingOnly: false) },
                 expected: [.restart(primary: true, upstream: nil)], says: "keeping the leader lock"),
    DecisionCase(description: "restart --pending skips a member without pending restart",
                 input: input("n2", view(leader: "n1"), replica()) { $0.request = .restart(role: nil, pendingOnly: true) },
                 expected: [], says: "no pending restart"),
    DecisionCase(description: "restart with role replica refused on the leader",
                 input: input("n1", settled(view(leader: "n1")), primary()) { $0.request = .restart(role: "replica", pendingOnly: false) },
                 expected: [], says: "role is not replica"),
    DecisionCase(description: "reinitialize refused on the leader",
                 input: input("n1", view(leader: "n1"), primary()) { $0.request = .reinitialize },
                 expected: [], says: "I am the leader, can not reinitialize"),
    DecisionCase(description: "reinitialize a replica clones from a clonefrom peer",
                 input: input("n2", { var v = view(leader: "n1"); v.members[2].clonefrom = true; return v }(), replica()) { $0.request = .reinitialize },
                 expected: [.stop(.immediate), .clone(from: "n3"), .start(primary: false, upstream: "n1")], says: "cloning from n3"),
    // Dynamic config: a stale pgha.conf is rewritten and reloaded.
    DecisionCase(description: "replica applies a changed config",
                 input: input("n2", view(leader: "n1"), replica()) { $0.configStale = true },
                 expected: [.applyConfig(primary: false, upstream: "n1")], says: "streaming from leader n1"),
]

@Suite struct OperationDecisionTests {
    @Test(arguments: opsTable)
    func decides(_ c: DecisionCase) {
        let d = HADecision.decide(c.input)
        #expect(d.actions == c.expected, "\(c.description): \(d.message)")
        #expect(d.message.contains(c.says), "\(c.description): said \"\(d.message)\"")
    }

    @Test func freshLagOverridesTheOneReadFromEtcd() throws {
        var v = settled(view(leader: "n1", optime: 9_000_000))
        v.members[1].xlogLocation = 10
        let n2 = v.members[1]
        #expect(v.ineligibility(n2, checkLag: true)?.contains("lagging 8999990 bytes") == true)
        #expect(v.ineligibility(n2, checkLag: true, freshLag: 0) == nil)
        #expect(v.ineligibility(n2, checkLag: true, freshLag: 2_000_000)?.contains("lagging 2000000 bytes") == true)
        #expect(v.ineligibility(n2, checkLag: false, freshLag: 2_000_000) == nil)
    }

    @Test func mergePatchRemovesWithNull() {
        let merged = ConfigEdit.mergePatch(["ttl": 6, "postgresql": ["parameters": ["a": 1, "b": 2]]],
                                           ["postgresql": ["parameters": ["a": JSONNull(), "c": 3]], "pause": true]) as? [String: Any]
        let params = (merged?["postgresql"] as? [String: Any])?["parameters"] as? [String: Any]
        #expect(params?["a"] == nil && params?["b"] as? Int == 2 && params?["c"] as? Int == 3)
        #expect(merged?["pause"] as? Bool == true && merged?["ttl"] as? Int == 6)
    }

    @Test func configProblemsNameTheKey() {
        #expect(ConfigEdit.problem(["ttl": 30, "loop_wait": 10, "retry_timeout": 10]) == nil)
        #expect(ConfigEdit.problem(["ttl": 5, "loop_wait": 3, "retry_timeout": 2]) == nil)  // adjusted, not refused
        #expect(ConfigEdit.problem(["loop_wait": 0])?.contains("positive") == true)
        #expect(ConfigEdit.problem(["pause": "yes"])?.contains("pause") == true)
        #expect(ConfigEdit.problem(["synchronous_node_count": 0])?.contains("synchronous_node_count") == true)
        let parsed = try? JSONSerialization.jsonObject(with: Data(#"{"ttl":6,"loop_wait":1,"retry_timeout":2.5,"pause":true,"maximum_lag_on_failover":1048576}"#.utf8)) as? [String: Any]
        #expect(parsed.map { ConfigEdit.problem($0) } == .some(nil))
        #expect(ConfigEdit.problem(["loop_wait": true])?.contains("loop_wait") == true)
    }

    @Test func staleConfigIsNoticedOnlyWhenParametersDiffer() throws {
        let dir = NSTemporaryDirectory() + "pgha-stale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = AgentConfig(); c.name = "n1"; c.postgres.dataDir = dir + "/data"; c.postgres.pgpass = dir + "/pgpass"
        let files = PostgresFiles(config: c)
        try files.write(dynamic: ["max_connections": "40", "work_mem": "4MB"], upstream: UpstreamServer(name: "n2", host: "127.0.0.1", port: 5433), standby: true)
        #expect(!ConfigSync.isStale(files, dynamic: ["max_connections": "40", "work_mem": "4MB"]))
        #expect(ConfigSync.isStale(files, dynamic: ["max_connections": "55", "work_mem": "4MB"]))
        #expect(ConfigSync.isStale(files, dynamic: ["max_connections": "40"]))
        // A restore_command among the parameters (WAL archive) is a parameter like the others, on a
        // replica and on a primary; a standby cluster's own restore_command below the marker is not.
        c.postgres.parameters = ["restore_command": "pgbackrest --stanza=demo archive-get %f \"%p\"", "archive_mode": "on"]
        let archiving = PostgresFiles(config: c)
        try archiving.write(dynamic: ["max_connections": "40"], upstream: nil, standby: false)
        #expect(!ConfigSync.isStale(archiving, dynamic: ["max_connections": "40"]))
        var remote = UpstreamServer(name: "remote", host: "10.0.0.9", port: 5432)
        remote.restoreCommand = "cp /archive/%f %p"
        try archiving.write(dynamic: ["max_connections": "40"], upstream: remote, standby: true)
        #expect(!ConfigSync.isStale(archiving, dynamic: ["max_connections": "40"]))
        c.postgres.parameters = [:]
        #expect(ConfigSync.isStale(PostgresFiles(config: c), dynamic: ["max_connections": "40"]))
        // A file from before the marker existed is stale once.
        try "max_connections = 40\nprimary_conninfo = ''\n".write(toFile: files.confPath, atomically: true, encoding: .utf8)
        #expect(ConfigSync.isStale(files, dynamic: ["max_connections": "40"]))
    }

    /// recovery_target_timeline is restart-only: a primary's file keeps it, so a promoted replica's
    /// next reload does not leave pending_restart set.
    @Test func primaryConfKeepsRecoveryTargetTimeline() {
        var c = AgentConfig(); c.name = "n1"; c.postgres.dataDir = "/nonexistent/data"
        let files = PostgresFiles(config: c)
        let replica = files.confText(dynamic: [:], upstream: UpstreamServer(name: "n2", host: "10.0.0.2", port: 5432))
        let primary = files.confText(dynamic: [:], upstream: nil)
        for text in [replica, primary] {
            #expect(text.components(separatedBy: "\n").filter { $0 == "recovery_target_timeline = 'latest'" }.count == 1, "\(text)")
        }
        #expect(primary.contains("primary_conninfo = ''"))
    }

    @Test func editConfigSetsDottedKeys() throws {
        var c: [String: Any] = ["postgresql": ["parameters": ["max_connections": 40]]]
        c = try ConfigEditor.set(c, path: "postgresql.parameters.max_connections", value: "50")
        c = try ConfigEditor.set(c, path: "synchronous_mode", value: "true")
        c = try ConfigEditor.set(c, path: "ttl", value: "null")
        #expect(((c["postgresql"] as? [String: Any])?["parameters"] as? [String: Any])?["max_connections"] as? Int == 50)
        #expect(c["synchronous_mode"] as? Bool == true)
        let yaml = ConfigEditor.yaml(ConfigEdit.encode(c))
        #expect(yaml.contains("synchronous_mode: true") && yaml.contains("max_connections: 50"), "\(yaml)")
        #expect(ConfigEditor.diff("a: 1\nb: 2", "a: 1\nb: 3").contains("- b: 2\n+ b: 3"))
    }
}
