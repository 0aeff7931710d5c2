// Patroni's etcd3 layout under /<namespace>/<scope>/: our lease, the leader lock, members, config, history, status.
import Foundation

public final class ClusterStore: @unchecked Sendable {
    public let etcd: EtcdClient
    public let prefix: String
    public let me: String
    let base: AgentConfig
    private let lock = NSLock()
    private var _lease: Int64 = 0  // guarded by lock

    public init(config: AgentConfig, etcd: EtcdClient) {
        self.etcd = etcd
        prefix = config.keyPrefix
        me = config.name
        base = config
    }

    public var lease: Int64 { lock.withLock { _lease } }
    public func key(_ name: String) -> String { prefix + name }

    /// Everything under the prefix at one revision.
    public func load(timeout: Double? = nil) async throws -> ClusterView {
        let (kvs, revision) = try await etcd.range(prefix: prefix, timeout: timeout)
        return ClusterView.from(kvs, prefix: prefix, revision: revision, base: base)
    }

    /// Keeps our lease alive, granting a new one when there is none or it has lapsed (the keys that
    /// lived on the old one are gone then). Returns true when the old lease was still alive.
    @discardableResult
    public func renewLease(ttl: Double, timeout: Double? = nil) async throws -> Bool {
        let current = lease
        if current != 0, try await etcd.keepAlive(current, timeout: timeout) > 0 { return true }
        let fresh = try await etcd.grantLease(ttl: Int(ttl.rounded(.up)), timeout: timeout)
        lock.withLock { _lease = fresh }
        return false
    }

    public func publishMember(_ json: String) async throws {
        try await etcd.put(key("members/" + me), json, lease: lease)
    }

    /// Create-if-absent on our lease: true when we now hold the leader key.
    public func acquireLeader() async throws -> Bool {
        try await etcd.createIfAbsent(key("leader"), me, lease: lease)
    }

    /// Compare-by-value delete: only removes the key while it names us.
    public func releaseLeader() async throws -> Bool {
        try await etcd.deleteIfValue(key("leader"), me)
    }

    /// Bootstrap race: true for the one member that creates `initialize`.
    public func claimInitialize() async throws -> Bool {
        try await etcd.createIfAbsent(key("initialize"), "")
    }

    public func setInitialize(systemIdentifier: String) async throws {
        try await etcd.put(key("initialize"), systemIdentifier)
    }

    public func abandonInitialize() async throws {
        try await etcd.delete(key("initialize"))
    }

    /// Writes `config` unless someone already has (bootstrap.dcs seeds it once).
    public func seedConfig(_ json: String) async throws {
        _ = try await etcd.putIfRevision(key("config"), json, modRevision: 0)
    }

    public func writeHistory(_ history: [HistoryEntry]) async throws {
        let data = try JSONSerialization.data(withJSONObject: history.map(\.json), options: [.withoutEscapingSlashes])
        try await etcd.put(key("history"), String(decoding: data, as: UTF8.self))
    }

    public func publishStatus(optime: Int64, slots: [String: Int64]) async throws {
        let data = try JSONSerialization.data(withJSONObject: ["optime": optime, "slots": slots, "retain_slots": Array(slots.keys).sorted()], options: [.sortedKeys, .withoutEscapingSlashes])
        try await etcd.put(key("status"), String(decoding: data, as: UTF8.self))
    }

    /// Lets the lease go (member and leader keys with it) on an orderly exit.
    public func revokeLease() async {
        let current = lease
        guard current != 0 else { return }
        try? await etcd.revoke(current)
        lock.withLock { _lease = 0 }
    }
}
