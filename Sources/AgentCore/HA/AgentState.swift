// The agent's cached state (read by the REST API without waiting on anything) and the loop's wake-up.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public let pghaVersion = "0.3.0"

/// What the REST API answers from: replaced wholesale by the loop after every iteration.
public struct AgentSnapshot: Sendable {
    public var config: AgentConfig
    public var timing: Timing
    public var cluster: ClusterView?
    public var local = LocalPostgres()
    /// The leader key names us (as of the last etcd read).
    public var holdsLeader = false
    public var lastLoop: Date?
    public var lastEtcdContact: Date?
    public var lastMessage = "starting"
    public var failovers = 0
    /// The watchdog device is armed (this member leads with it).
    public var watchdogArmed = false
    /// The last attempt to arm the watchdog failed (Patroni's `watchdog_failed`).
    public var watchdogFailed = false
    public init(config: AgentConfig) { self.config = config; timing = config.timing }

    public var name: String { config.name }
    /// Patroni's member state words.
    public var stateWord: String {
        switch local.run {
        case .running: return "running"
        case .starting: return "starting"
        case .stopped: return "stopped"
        case .noData: return "uninitialized"
        }
    }
    /// standby_cluster in force (the `config` key's, or bootstrap.dcs's while there is no key).
    public var isStandbyCluster: Bool {
        if let dynamic = cluster?.config { return dynamic.standbyCluster != nil }
        return config.dcsStandbyCluster != nil
    }
    /// Holds the leader key of a standby cluster with Postgres running as the remote's replica.
    public var isStandbyLeader: Bool { holdsLeader && local.isReplica && isStandbyCluster }
    public var roleWord: String {
        if isStandbyLeader { return "standby_leader" }
        guard local.run == .running else { return local.run == .noData ? "uninitialized" : (local.hasStandbySignal ? "replica" : "primary") }
        return local.inRecovery ? "replica" : "primary"
    }
    /// Bytes the local server is behind the leader's last published position.
    public var lag: Int64? {
        guard let optime = cluster?.leaderOptime, local.isReplica else { return nil }
        return max(0, optime - local.lsn)
    }
    /// Every member the `sync` key names (Patroni writes several comma-separated).
    public var syncStandbys: [String] { cluster?.syncStandbys ?? [] }
}

/// A lock-protected box: writers replace the value, readers copy it out at once.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ v: Value) { lock.withLock { value = v } }
    public func update<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}

/// Wakes the HA loop early (leader key changed, a long action finished, shutdown).
public final class Wakeup: @unchecked Sendable {
    private let lock = Lock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    public init() {}

    public func signal() {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            if let w = waiter { waiter = nil; return w }
            pending = true
            return nil
        }
        w?.resume()
    }

    /// Returns after `seconds` or as soon as `signal()` is called (a signal that came earlier counts).
    public func wait(seconds: Double) async {
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))) != nil else { return }
            self?.signal()
        }
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = lock.withLock {
                if pending { pending = false; return true }
                waiter = cont
                return false
            }
            if resumeNow { cont.resume() }
        }
        timer.cancel()
        lock.withLock { pending = false }
    }
}

/// A monotonic clock in seconds (lease arithmetic must not jump with the wall clock).
public func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
