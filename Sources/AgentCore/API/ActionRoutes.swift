// Patroni's action endpoints: switchover, failover, restart, reload, reinitialize, config, failsafe.
// Unsafe methods need the configured basic auth (401); bad JSON is 400; unmet preconditions 412/503
// with the reason; a request either lands whole (one etcd write, or one loop request) or not at all.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird

public struct ActionContext: Sendable {
    public let config: AgentConfig
    public let store: ClusterStore
    public let snapshot: Locked<AgentSnapshot>
    public let requests: LocalRequests
    public let wakeup: Wakeup
    /// A member's replication lag as this server sees it now (nil unless we are the running
    /// primary and the member streams from us); used for a switchover's lag check.
    public let liveLag: @Sendable (String) async -> Int64?
    public init(config: AgentConfig, store: ClusterStore, snapshot: Locked<AgentSnapshot>, requests: LocalRequests, wakeup: Wakeup,
                liveLag: @escaping @Sendable (String) async -> Int64? = { _ in nil }) {
        self.config = config; self.store = store; self.snapshot = snapshot; self.requests = requests; self.wakeup = wakeup
        self.liveLag = liveLag
    }
}

/// A refusal: status code and the reason, sent as the body.
struct Refusal: Error {
    var status: Int
    var reason: String
    init(_ status: Int, _ reason: String) { self.status = status; self.reason = reason }
}

public enum ActionRoutes {
    static func text(_ status: Int, _ body: String) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if status == 401 { headers[.wwwAuthenticate] = "Basic realm=\"pgha\"" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }

    /// Runs `body` after the auth check; a thrown Refusal becomes its status and reason.
    static func guarded(_ ctx: ActionContext, _ request: Request, _ body: ([String: Any]?) async throws -> Response) async -> Response {
        if let auth = ctx.config.restAuth {
            let expected = "Basic " + Data("\(auth.username):\(auth.password ?? "")".utf8).base64EncodedString()
            guard request.headers[.authorization] == expected else { return text(401, "authentication required") }
        }
        do {
            var r = request
            let buffer = try await r.collectBody(upTo: 1 << 20)
            var object: [String: Any]?
            if buffer.readableBytes > 0 {
                do { object = try JSONText.parse(buffer.readableBytesView) as? [String: Any] } catch {
                    throw Refusal(400, "malformed JSON: \(error)")
                }
                if object == nil { throw Refusal(400, "malformed JSON: expected an object") }
            }
            return try await body(object)
        } catch let refusal as Refusal {
            return text(refusal.status, refusal.reason)
        } catch {
            return text(503, "\(error)")
        }
    }

    static func view(_ ctx: ActionContext) async throws -> ClusterView {
        do { return try await ctx.store.load() } catch { throw Refusal(503, "etcd unreachable: \(error)") }
    }

    static func string(_ o: [String: Any]?, _ key: String) throws -> String? {
        guard let v = o?[key], !(v is JSONNull) else { return nil }
        guard let s = v as? String else { throw Refusal(400, "\(key): expected a string") }
        return s.isEmpty ? nil : s
    }

    public static func install(_ router: Router<BasicRequestContext>, _ ctx: ActionContext) {
        router.post("/switchover") { request, _ in await guarded(ctx, request) { try await switchover(ctx, $0, failover: false) } }
        router.post("/failover") { request, _ in await guarded(ctx, request) { try await switchover(ctx, $0, failover: true) } }
        router.delete("/switchover") { request, _ in await guarded(ctx, request) { _ in try await cancelSwitchover(ctx) } }
        router.post("/restart") { request, _ in await guarded(ctx, request) { try await restart(ctx, $0) } }
        router.delete("/restart") { request, _ in
            await guarded(ctx, request) { _ in
                guard ctx.requests.scheduledRestart != nil else { throw Refusal(404, "no restart is scheduled") }
                ctx.requests.scheduledRestart = nil
                return text(200, "scheduled restart deleted")
            }
        }
        router.post("/reload") { request, _ in
            await guarded(ctx, request) { _ in try await run(ctx, .reload, timeout: 30, ok: "reloaded") }
        }
        router.post("/reinitialize") { request, _ in
            await guarded(ctx, request) { _ in
                if ctx.snapshot.get().holdsLeader { throw Refusal(503, "I am the leader, can not reinitialize") }
                return try await run(ctx, .reinitialize, timeout: 30, ok: "reinitialize started")
            }
        }
        router.patch("/config") { request, _ in await guarded(ctx, request) { try await applyConfig(ctx, $0, replace: false) } }
        router.put("/config") { request, _ in await guarded(ctx, request) { try await applyConfig(ctx, $0, replace: true) } }
        router.post("/failsafe") { request, _ in
            await guarded(ctx, request) { _ in
                guard ctx.snapshot.get().cluster?.settings.failsafeMode ?? true else { throw Refusal(503, "failsafe_mode is off") }
                return text(200, "Accepted")
            }
        }
    }

    /// Hands a request to the loop and waits for its outcome.
    static func run(_ ctx: ActionContext, _ r: LocalRequest, timeout: Double, ok: String) async throws -> Response {
        guard let id = ctx.requests.submit(r) else { throw Refusal(503, "another request is still being carried out") }
        ctx.wakeup.signal()
        guard let outcome = await ctx.requests.outcome(id, timeout: timeout) else { throw Refusal(503, "timed out after \(Int(timeout)) s") }
        return outcome.ok ? text(200, ok) : text(503, outcome.message)
    }

    static func restart(_ ctx: ActionContext, _ o: [String: Any]?) async throws -> Response {
        let role = try string(o, "role")
        if let role, !["primary", "master", "replica", "any"].contains(role) { throw Refusal(400, "role: expected primary, replica or any, got \(role)") }
        let pending = JSONNumber.bool(o?["restart_pending"]) ?? false
        let timeout = JSONNumber.double(o?["timeout"]) ?? 90
        if let schedule = try string(o, "schedule") {
            guard let at = scheduledTime(schedule) else { throw Refusal(400, "schedule: not an ISO 8601 time: \(schedule)") }
            if ctx.snapshot.get().cluster?.paused == true { throw Refusal(412, "cluster is paused: can not schedule a restart") }
            if ctx.requests.scheduledRestart != nil { throw Refusal(412, "a restart is already scheduled; DELETE /restart cancels it") }
            ctx.requests.scheduledRestart = ScheduledRestart(at: at, role: role, pendingOnly: pending)
            return text(202, "Restart scheduled")
        }
        return try await run(ctx, .restart(role: role, pendingOnly: pending), timeout: timeout, ok: "restarted successfully")
    }

    static func cancelSwitchover(_ ctx: ActionContext) async throws -> Response {
        let v = try await view(ctx)
        guard let f = v.failover, f.scheduledAt != nil else { throw Refusal(404, "no switchover is scheduled") }
        try await ctx.store.clearFailover(ifRevision: f.modRevision)
        return text(200, "scheduled switchover deleted")
    }

    /// Checks the request against a fresh view, writes the `failover` key (only if none is pending),
    /// and waits for the new leader unless it is scheduled.
    static func switchover(_ ctx: ActionContext, _ o: [String: Any]?, failover: Bool) async throws -> Response {
        let kind = failover ? "failover" : "switchover"
        let leader = try string(o, "leader")
        let candidate = try string(o, "candidate") ?? string(o, "member")
        let scheduled = try string(o, "scheduled_at")
        let v = try await view(ctx)
        if failover && candidate == nil { throw Refusal(400, "failover needs a candidate") }
        if let leader, leader != v.leader { throw Refusal(412, "leader name does not match: \(leader) is not the leader (leader: \(v.leader ?? "none"))") }
        if !failover && v.leader == nil { throw Refusal(503, "no leader: a switchover needs a running leader (use failover --candidate)") }
        if let scheduled {
            guard let at = scheduledTime(scheduled) else { throw Refusal(400, "scheduled_at: not an ISO 8601 time with zone: \(scheduled)") }
            if at < Date().addingTimeInterval(-60) { throw Refusal(400, "scheduled_at is in the past: \(scheduled)") }
            if v.paused { throw Refusal(412, "cluster is paused: can not schedule a \(kind)") }
        }
        var target = candidate
        if let candidate {
            guard let m = v.member(candidate) else { throw Refusal(412, "unknown member \(candidate)") }
            let lag = failover || scheduled != nil ? nil : await freshLag(ctx, of: m, in: v)
            if let why = v.ineligibility(m, checkLag: !failover, freshLag: lag) { throw Refusal(412, why) }
        } else {
            if v.paused { throw Refusal(412, "cluster is paused: a switchover needs an explicit candidate") }
            guard let best = v.bestCandidate() else { throw Refusal(412, "no healthy candidate") }
            target = best.name
        }
        var body: [String: Any] = [:]
        if !failover { body["leader"] = v.leader ?? "" }
        if let candidate { body["member"] = candidate }
        if let scheduled { body["scheduled_at"] = scheduled }
        let json = String(decoding: try JSONText.bytes(body, sortedKeys: true), as: UTF8.self)
        guard try await ctx.store.requestFailover(json) else {
            throw Refusal(412, "a switchover or failover is already pending; DELETE /switchover cancels a scheduled one")
        }
        ctx.wakeup.signal()
        if scheduled != nil { return text(202, "\(kind.capitalized) scheduled") }
        let oldLeader = v.leader
        let deadline = Date().addingTimeInterval(30 + 2 * v.timing.ttl)
        while Date() < deadline {
            try await Task.sleep(nanoseconds: 100_000_000)
            guard let now = try? await ctx.store.load() else { continue }
            if let l = now.leader, l != oldLeader, candidate == nil || l == candidate {
                return text(200, "Successfully \(failover ? "failed" : "switched") over to \"\(l)\"")
            }
            if let old = oldLeader, now.failover == nil, now.leader == old {
                throw Refusal(503, "\(kind.capitalized) to \(target ?? "?") failed: \(old) refused or aborted it (see its log)")
            }
        }
        throw Refusal(503, "\(kind.capitalized) to \(target ?? "?") did not complete within \(Int(30 + 2 * v.timing.ttl)) s")
    }
}

extension ActionRoutes {
    /// The candidate's lag measured now on the leader (pg_stat_replication), when this agent is
    /// the leader; nil otherwise, and the etcd values decide. Members publish their WAL position
    /// once per loop, so right after a bulk load etcd can show a caught-up replica megabytes behind.
    static func freshLag(_ ctx: ActionContext, of candidate: MemberInfo, in v: ClusterView) async -> Int64? {
        guard v.leader == ctx.config.name, ctx.snapshot.get().holdsLeader else { return nil }
        return await ctx.liveLag(candidate.name)
    }

    /// PATCH (merge) or PUT (replace) /config: validated, one compare-and-swap write.
    static func applyConfig(_ ctx: ActionContext, _ body: [String: Any]?, replace: Bool) async throws -> Response {
        guard let body else { throw Refusal(400, "expected a JSON object body") }
        do {
            let server = ServerParameters.cached(binDir: ctx.config.postgres.binDir)
            let (_, after) = try await ConfigEdit.update(ctx.store, server: server) { current in
                replace ? body : (ConfigEdit.mergePatch(current, body) as? [String: Any] ?? [:])
            }
            ctx.wakeup.signal()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: after)))
        } catch let e as ConfigError {
            throw Refusal(e.description.contains("someone else") ? 409 : 400, e.description)
        } catch {
            throw Refusal(503, "etcd unreachable: \(error)")
        }
    }
}

extension ClusterView {
    var timing: Timing { config?.timing ?? Timing() }
}
