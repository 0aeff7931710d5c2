// Patroni's etcd3 layout under /<namespace>/<scope>/: our lease, the leader lock, members, config, history, status.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public final class ClusterStore: @unchecked Sendable {
    public let etcd: EtcdClient
    public let prefix: String
    public let me: String
    let base: AgentConfig
    private let lock = Lock()
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
    /// lived on the old one are gone then: the caller says so once, see `LeaseRenewal.lost`).
    @discardableResult
    public func renewLease(ttl: Double, timeout: Double? = nil) async throws -> LeaseRenewal {
        let current = lease
        if current != 0, try await etcd.keepAlive(current, timeout: timeout) > 0 { return .renewed }
        let fresh = try await etcd.grantLease(ttl: Int(ttl.rounded(.up)), timeout: timeout)
        lock.withLock { _lease = fresh }
        return current == 0 ? .granted(fresh) : .lost(expired: current, granted: fresh)
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

    /// Bootstrap race: true for the one member that creates `initialize` ("" while a new cluster is
    /// being made; an existing data directory's system identifier when it is taken over).
    public func claimInitialize(systemIdentifier: String = "") async throws -> Bool {
        try await etcd.createIfAbsent(key("initialize"), systemIdentifier)
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
        let data = try JSONText.bytes(history.map(\.json), escapeSlashes: false)
        try await etcd.put(key("history"), String(decoding: data, as: UTF8.self))
    }

    public func publishStatus(optime: Int64, slots: [String: Int64]) async throws {
        let data = try JSONText.bytes(["optime": optime, "slots": slots, "retain_slots": Array(slots.keys).sorted()], sortedKeys: true, escapeSlashes: false)
        try await etcd.put(key("status"), String(decoding: data, as: UTF8.self))
    }

    /// Deletes the `failover` key only while it is still the request seen at `modRevision` (a newer one survives).
    @discardableResult
    public func clearFailover(ifRevision modRevision: Int64) async throws -> Bool {
        try await etcd.deleteIfRevision(key("failover"), modRevision: modRevision)
    }

    /// Replaces the `failover` key only while it is still the request seen at `modRevision`.
    public func replaceFailover(_ json: String, ifRevision modRevision: Int64) async throws -> Bool {
        try await etcd.putIfRevision(key("failover"), json, modRevision: modRevision)
    }

    /// Writes the `failover` key only when there is none (one pending request at a time).
    public func requestFailover(_ json: String) async throws -> Bool {
        try await etcd.putIfRevision(key("failover"), json, modRevision: 0)
    }

    /// The `sync` key (synchronous standbys), or removes it with nil.
    public func writeSync(_ json: String?) async throws {
        if let json { try await etcd.put(key("sync"), json) } else { try await etcd.delete(key("sync")) }
    }

    /// The `failsafe` key (members seen by the leader), or removes it with nil.
    public func writeFailsafe(_ json: String?) async throws {
        if let json { try await etcd.put(key("failsafe"), json) } else { try await etcd.delete(key("failsafe")) }
    }

    /// The `config` key as stored (nil when absent), for a compare-and-swap edit.
    public func readConfig() async throws -> KeyValue? {
        try await etcd.get(key("config"))
    }

    /// Writes `config` only while it is still at `modRevision` (0: only when absent).
    public func replaceConfig(_ json: String, ifRevision modRevision: Int64) async throws -> Bool {
        try await etcd.putIfRevision(key("config"), json, modRevision: modRevision)
    }

    /// `patronictl remove`: every key of the scope, in one transaction that (unless `force`) runs only
    /// while no member holds the leader key. Returns how many keys went (nil: refused, a leader exists).
    public func removeCluster(force: Bool) async throws -> Int64? {
        try await etcd.deletePrefix(prefix, unlessExists: force ? nil : key("leader"))
    }

    /// Lets the lease go (member and leader keys with it) on an orderly exit.
    public func revokeLease() async {
        let current = lease
        guard current != 0 else { return }
        try? await etcd.revoke(current)
        lock.withLock { _lease = 0 }
    }
}

/// What a lease renewal found.
public enum LeaseRenewal: Equatable, Sendable {
    case renewed
    /// The first lease of this run.
    case granted(Int64)
    /// The old lease had expired: etcd dropped our member key and, if we held it, the leader key.
    case lost(expired: Int64, granted: Int64)

    /// The one line to log when the lease was lost, nil otherwise.
    public func lostMessage(ttl: Double) -> String? {
        guard case let .lost(expired, granted) = self else { return nil }
        return "our etcd lease \(String(expired, radix: 16)) had expired (etcd heard no renewal for ttl \(ttl) s): the member key " +
            "and the leader key, if we held it, lapsed with it and other members may have raced for leadership; " +
            "granted lease \(String(granted, radix: 16)), keys are written again on it"
    }
}
