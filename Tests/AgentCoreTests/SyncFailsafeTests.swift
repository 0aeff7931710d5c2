// Synchronous mode (no acknowledged commit lost when the primary is SIGKILLed) and failsafe mode
// (etcd down: the primary stays while every member answers, demotes when one does not), each on its
// own 3-member loopback cluster.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

/// Inserts numbered rows one commit at a time on its own thread, remembering every acknowledged id.
final class NumberedWriter: @unchecked Sendable {
    let acked = Locked<[Int]>([])
    let stop = Locked(false)
    let failedAt = Locked<Date?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ conninfo: String) {
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            guard let conn = try? PGConnection(conninfo: conninfo, connectTimeout: 2) else { return }
            var i = 0
            while !stop.get() {
                i += 1
                do {
                    try conn.query("INSERT INTO numbered VALUES ($1)", [String(i)])
                    acked.update { $0.append(i) }
                } catch {
                    failedAt.set(Date())
                    return
                }
            }
        }
    }

    func finish() { stop.set(true); _ = done.wait(timeout: .now() + 20) }
}

extension AgentOpsClusters { @Suite(.serialized) struct SyncFailsafeTests {
    @Test func synchronousModeLosesNoAcknowledgedCommit() throws {
        let cluster = try AgentCluster(scope: "sync")
        defer { cluster.shutdown() }
        try cluster.startAll()
        let names = cluster.members.map(\.name)
        let first = try cluster.healthy()
        let on = try cluster.cli(["edit-config", "-s", "synchronous_mode=true", "--force"])
        #expect(on.status == 0, "\(on.err)")
        let standby = try cluster.eventually(30, "a synchronous standby") { names.first { cluster.status($0, "/sync") == 200 } }
        let state = try cluster.connect(first).query("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", [standby])
        #expect(state.value("sync_state") == "sync")
        #expect(try cluster.cli(["list"]).out.contains("| Sync Standby |"))

        try cluster.connect(first).query("CREATE TABLE numbered (id int PRIMARY KEY)")
        let m = cluster.member(first)
        let writer = NumberedWriter("host=127.0.0.1 port=\(m.pgPort) user=postgres password=\(cluster.superPassword) dbname=postgres")
        defer { writer.finish() }
        _ = try cluster.eventually(30, "writes flowing") { writer.acked.get().count >= 200 ? true : nil }
        cluster.killHost(first)
        _ = try cluster.eventually(20, "the writer to notice") { writer.failedAt.get() }
        writer.finish()
        let acked = writer.acked.get()
        let promoted = try cluster.eventually(40, "a new primary") { cluster.primary() }
        #expect(promoted == standby, "only the synchronous standby may be promoted")
        let have = try cluster.connect(promoted).query("SELECT count(*) AS n FROM numbered WHERE id <= $1", [String(acked.max() ?? 0)])
        #expect(Int(have.value("n") ?? "") == acked.count, "acknowledged \(acked.count) rows, found \(have.value("n") ?? "?") on \(promoted)")
        print("sync mode: \(acked.count) acknowledged commits, all on \(promoted) after SIGKILL of \(first)")
    }

    /// synchronous_mode_strict: with every standby gone a commit waits (is never acknowledged
    /// on the primary alone) and completes once a standby streams again.
    @Test func strictSynchronousModeHoldsCommitsWithoutAStandby() throws {
        let cluster = try AgentCluster(scope: "strict")
        defer { cluster.shutdown() }
        try cluster.startAll()
        let names = cluster.members.map(\.name)
        let primary = try cluster.healthy()
        let on = try cluster.cli(["edit-config", "-s", "synchronous_mode=true", "-s", "synchronous_mode_strict=true", "--force"])
        #expect(on.status == 0, "\(on.err)")
        _ = try cluster.eventually(30, "a synchronous standby") { names.first { cluster.status($0, "/sync") == 200 } }
        try cluster.connect(primary).query("CREATE TABLE strict (id int PRIMARY KEY)")
        let replicas = names.filter { $0 != primary }
        for r in replicas { cluster.killHost(r) }
        _ = try cluster.eventually(30, "synchronous_standby_names '*' on \(primary)") { () -> Bool? in
            (try? cluster.connect(primary).query("SHOW synchronous_standby_names"))?.value("synchronous_standby_names") == "*" ? true : nil
        }
        let m = cluster.member(primary)
        let acknowledged = Locked<Date?>(nil)
        Thread.detachNewThread {
            let c = try? PGConnection(conninfo: "host=127.0.0.1 port=\(m.pgPort) user=postgres password=\(cluster.superPassword) dbname=postgres", connectTimeout: 2)
            if (try? c?.query("INSERT INTO strict VALUES (1)")) != nil { acknowledged.set(Date()) }
        }
        Thread.sleep(forTimeInterval: 4)
        #expect(acknowledged.get() == nil, "a commit was acknowledged with no synchronous standby")
        let back = Date()
        try cluster.start(replicas[0])
        let at = try cluster.eventually(120, "the held commit acknowledged once \(replicas[0]) streams") { acknowledged.get() }
        print(String(format: "strict sync: commit held with no standby, acknowledged %.1f s after %@'s agent restarted", at.timeIntervalSince(back), replicas[0]))
        _ = try cluster.eventually(20, "the row on \(replicas[0])") { () -> Bool? in
            (try? cluster.connect(replicas[0]).query("SELECT count(*) AS n FROM strict"))?.value("n") == "1" ? true : nil
        }
    }

    @Test func failsafeKeepsThePrimaryOnlyWhileEveryMemberAnswers() async throws {
        let cluster = try AgentCluster(scope: "failsafe")
        defer { cluster.shutdown() }
        try cluster.startAll()
        let primary = try cluster.healthy()
        let replicas = cluster.members.map(\.name).filter { $0 != primary }
        let etcd = EtcdClient(endpoints: [cluster.etcd.endpoint], requestTimeout: 2)
        var failsafe: KeyValue?
        for _ in 0..<50 where failsafe == nil {
            failsafe = try? await etcd.get("/service/failsafe/failsafe")
            if failsafe == nil { try? await Task.sleep(nanoseconds: 200_000_000) }
        }
        await etcd.shutdown()
        #expect(failsafe.map { v in replicas.allSatisfy { v.value.contains("\"\($0)\"") } } == true, "failsafe key: \(String(describing: failsafe))")

        // etcd down with every member up: the primary keeps taking writes well past its lease.
        cluster.etcd.daemon.stop()
        try cluster.connect(primary).query("CREATE TABLE fs (id int)")
        try await Task.sleep(nanoseconds: 9_000_000_000)
        #expect((try? cluster.connect(primary).query("INSERT INTO fs VALUES (1)")) != nil, "primary stopped taking writes\n\(cluster.logs())")
        #expect(replicas.allSatisfy { cluster.status($0, "/primary") == 503 }, "a replica promoted without the key")

        // One replica gone too: the primary can no longer be vouched for and demotes.
        cluster.killHost(replicas[0])
        let demoted = try cluster.eventually(20, "the primary to demote") { () -> Bool? in
            guard let c = try? cluster.connect(primary) else { return true }
            return (try? c.query("SELECT pg_is_in_recovery() AS r").value("r")) == "t" ? true : nil
        }
        #expect(demoted)
        #expect(cluster.status(replicas[1], "/primary") == 503)
    }
} }
