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
        // TTL 8, not 2: with the cluster suites running beside this one on two cores, a short lease
        // could lapse between grant and use.
        let lease = try await client.grantLease(ttl: 8)
        #expect(try await client.createIfAbsent("/service/t/leader", "n1", lease: lease))
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
        while Date().timeIntervalSince(deletedAt) < 5 && seen.get().isEmpty { try await Task.sleep(nanoseconds: 20_000_000) }
        let woke = Date().timeIntervalSince(deletedAt)
        watcher.cancel()
        #expect(seen.get().first?.kind == .delete)
        #expect(woke < 1, "watch took \(woke) s")
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
        #expect(try await store.renewLease(ttl: 5))
        await store.revokeLease()
        #expect(try await store.load().leader == nil)
        await client.shutdown()
    }
}
