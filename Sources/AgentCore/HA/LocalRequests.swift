// Requests made to this member's REST API (restart, reinitialize, reload, scheduled restart), handed
// to the HA loop, which carries them out through the decision; the API waits for the outcome.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public struct RequestOutcome: Equatable, Sendable {
    public var ok: Bool
    public var message: String
}

/// A scheduled restart (Patroni keeps it in the member's own state and shows it in members/<name>).
public struct ScheduledRestart: Equatable, Sendable {
    public var at: Date
    public var role: String?
    public var pendingOnly: Bool
    public var json: [String: Any] {
        var d: [String: Any] = ["schedule": iso8601(at), "restart_pending": pendingOnly]
        if let role { d["role"] = role }
        return d
    }
}

public final class LocalRequests: @unchecked Sendable {
    private let lock = Lock()
    private var nextID = 1
    private var pending: (id: Int, request: LocalRequest)?
    private var outcomes: [Int: RequestOutcome] = [:]
    private var scheduled: ScheduledRestart?

    public init() {}

    /// Queues `request`; nil when another one is still waiting for the loop.
    public func submit(_ request: LocalRequest) -> Int? {
        lock.withLock {
            guard pending == nil else { return nil }
            defer { nextID += 1 }
            pending = (nextID, request)
            return nextID
        }
    }

    /// The request the loop should act on now (a due scheduled restart becomes one).
    public func current(now: Date = Date()) -> (id: Int, request: LocalRequest)? {
        lock.withLock {
            if pending == nil, let s = scheduled, s.at <= now {
                scheduled = nil
                pending = (nextID, .restart(role: s.role, pendingOnly: s.pendingOnly))
                nextID += 1
            }
            return pending
        }
    }

    public func complete(_ id: Int, _ outcome: RequestOutcome) {
        lock.withLock {
            if pending?.id == id { pending = nil }
            outcomes[id] = outcome
            if outcomes.count > 50, let oldest = outcomes.keys.min() { outcomes[oldest] = nil }
        }
    }

    /// Waits (bounded) for the loop to finish request `id`.
    public func outcome(_ id: Int, timeout: Double) async -> RequestOutcome? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let o = lock.withLock({ outcomes[id] }) { return o }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        lock.withLock { if pending?.id == id { pending = nil } }
        return nil
    }

    public var scheduledRestart: ScheduledRestart? {
        get { lock.withLock { scheduled } }
        set { lock.withLock { scheduled = newValue } }
    }
}
