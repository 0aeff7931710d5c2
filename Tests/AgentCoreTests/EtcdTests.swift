// The DCS layer against a real etcd started on 127.0.0.1 by the test.
import AgentCore
import Fixtures
import Foundation
import Testing

@Suite(.serialized) struct EtcdTests {
    @Test func leaseExpiryFreesTheLeaderKey() async throws {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint], requestTimeout: 5)
        // Other suites block the shared cooperative threads for seconds at a time; a lease can lapse
        // between its grant and its use then. That is not what this test is about: try again.
        var lease: Int64 = 0
        for _ in 0..<5 {
            lease = try await client.grantLease(ttl: 5)
            if (try? await client.createIfAbsent("/service/t/leader", "n1", lease: lease)) == true { break }
            lease = 0
        }
        #expect(lease != 0, "could not put the leader key on a live lease")
        #expect(try await client.get("/service/t/leader")?.value == "n1")
        let deadline = Date().addingTimeInterval(30)
        var gone = false
        while Date() < deadline {
            if try await client.get("/service/t/leader") == nil { gone = true; break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        #expect(gone, "the leader key outlived its lease")
        #expect(try await client.keepAlive(lease) == 0)
        await client.shutdown()
    }

    @Test func createIfAbsentLosesToAHolder() async throws {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: ["http://127.0.0.1:1", etcd.endpoint], requestTimeout: 5)  // first endpoint dead: fail-over
        let l1 = try await client.grantLease(ttl: 10), l2 = try await client.grantLease(ttl: 10)
        #expect(try await client.createIfAbsent("/service/t/leader", "n1", lease: l1))
        #expect(try await client.createIfAbsent("/service/t/leader", "n2", lease: l2) == false)
        #expect(try await client.deleteIfValue("/service/t/leader", "n2") == false)
        #expect(try await client.get("/service/t/leader")?.value == "n1")
        #expect(try await client.deleteIfValue("/service/t/leader", "n1"))
        #expect(try await client.get("/service/t/leader") == nil)
        await client.shutdown()
    }

    @Test func watchWakesOnDelete() async throws {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint], requestTimeout: 5)
        try await client.put("/service/t/leader", "n1")
        let seen = Locked<[WatchEvent]>([])
        let watcher = Task {
            try? await client.watch(prefix: "/service/t/leader", startRevision: 0) { e in seen.update { $0.append(e) } }
        }
        try await Task.sleep(nanoseconds: 300_000_000)  // let the watch register
        let deletedAt = Date()
        try await client.delete("/service/t/leader")
        while Date().timeIntervalSince(deletedAt) < 10 && seen.get().isEmpty { try await Task.sleep(nanoseconds: 20_000_000) }
        let woke = Date().timeIntervalSince(deletedAt)
        watcher.cancel()
        #expect(seen.get().first?.kind == .delete)
        print("watch woke \(String(format: "%.3f", woke)) s after the delete")  // timing printed, not asserted
        await client.shutdown()
    }

    @Test func clusterViewReadsPatroniLayout() async throws {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        var config = AgentConfig(); config.scope = "demo"; config.name = "n1"; config.etcdEndpoints = [etcd.endpoint]
        let client = EtcdClient(endpoints: [etcd.endpoint], requestTimeout: 5)
        let store = ClusterStore(config: config, etcd: client)
        try await store.renewLease(ttl: 5)
        #expect(try await store.claimInitialize())
        #expect(try await store.claimInitialize() == false)
        #expect(try await store.acquireLeader())
        try await store.publishMember(#"{"role":"primary","state":"running","api_url":"http://127.0.0.1:8008/patroni","conn_url":"postgres://127.0.0.1:5432/postgres","xlog_location":42,"timeline":1}"#)
        try await store.writeHistory([HistoryEntry(timeline: 1, lsn: 100, reason: "r", timestamp: "t", newLeader: "n1")])
        try await store.publishStatus(optime: 42, slots: [:])
        let view = try await store.load()
        #expect(view.leader == "n1" && view.initialize == "")
        #expect(view.member("n1")?.xlogLocation == 42 && view.member("n1")?.host == "127.0.0.1")
        #expect(view.history.first?.lsn == 100 && view.leaderOptime == 42)
        #expect(try await store.renewLease(ttl: 5) == .renewed)
        // A lease that lapsed behind our back is reported once, with what it cost, then renewed as usual.
        let old = store.lease
        try await client.revoke(old)
        let lost = try await store.renewLease(ttl: 5)
        #expect(lost == .lost(expired: old, granted: store.lease) && store.lease != old)
        #expect(lost.lostMessage(ttl: 5)?.contains("leader key") == true)
        #expect(try await store.renewLease(ttl: 5) == .renewed)
        #expect(LeaseRenewal.renewed.lostMessage(ttl: 5) == nil)
        await store.revokeLease()
        #expect(try await store.load().leader == nil)
        await client.shutdown()
    }
}
