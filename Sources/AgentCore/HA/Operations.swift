// The operations' rules inside the one decision: switchover / failover requests, local requests
// (restart, reinitialize, reload), pause, synchronous mode, failsafe, and dynamic config duties.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A request made to this member's REST API, carried out by its HA loop.
public enum LocalRequest: Equatable, Sendable {
    /// role: "primary" | "replica" | nil (any); pendingOnly: only if pg_settings says pending_restart.
    case restart(role: String?, pendingOnly: Bool)
    case reinitialize
    case reload
}

extension HADecision {
    static func answer(_ actions: [HAAction], _ message: String) -> Decision {
        var d = Decision(actions, message)
        d.answersRequest = true
        return d
    }

    /// A decision that replaces the core rules, or nil to let them run.
    static func operation(_ i: DecisionInput, cluster: ClusterView) -> Decision? {
        guard cluster.initialize != nil else { return nil }
        if let request = i.request { return local(request, i, cluster: cluster) }
        let settings = cluster.settings
        let l = i.local
        if let f = cluster.failover {
            if cluster.leader == i.me, l.isPrimary, f.member != i.me { return switchoverAsLeader(f, i, cluster: cluster) }
            if cluster.leader == nil, let target = f.member {
                if target == i.me && l.isReplica, let why = i.watchdogProblem {
                    return Decision([.clearFailover], "\(f.leader == nil ? "failover" : "switchover") to me refused: \(why)")
                }
                if target == i.me && l.isReplica {
                    var actions: [HAAction] = [.acquireLeader, .promote, .clearFailover, .maintainSlots, .publishStatus]
                    if settings.synchronousMode { actions.insert(.manageSync, at: 2) }
                    return Decision(actions, "promoted self to leader by acquiring session lock (\(f.leader == nil ? "failover" : "switchover") to me requested)")
                }
                if target != i.me, let m = cluster.member(target), m.state == "running" || f.leader == i.me {
                    return Decision([], "no leader: waiting for \(target) to take over (requested \(f.leader == nil ? "failover" : "switchover"))")
                }
            }
        }
        if settings.pause {
            switch cluster.leader {
            case nil where !l.isPrimary:
                return Decision([], "paused: no leader, and automatic failover is off (maintenance mode)")
            case i.me? where l.run != .running:
                return Decision([], "paused: Postgres is not running; not restarting it (maintenance mode)")
            case _? where cluster.leader != i.me && l.run == .stopped:
                return Decision([], "paused: Postgres is stopped; not starting it (maintenance mode)")
            default: break
            }
        }
        if settings.checkTimeline, cluster.leader == nil, l.isReplica, let last = cluster.history.last, l.timeline <= last.timeline {
            return Decision([], "no leader, not racing: check_timeline is on and my timeline \(l.timeline) is behind the last leader's (\(last.timeline + 1))")
        }
        if settings.synchronousMode, cluster.leader == nil, l.isReplica, !cluster.syncStandbys.contains(i.me) {
            return Decision([], "no leader, not racing: synchronous_mode is on and I am not a synchronous standby (sync: \(cluster.syncStandbys.joined(separator: ",")))")
        }
        return nil
    }

    /// The leader with a `failover` key: hand over when due, refuse (clear it) when it cannot be done.
    static func switchoverAsLeader(_ f: FailoverRequest, _ i: DecisionInput, cluster: ClusterView) -> Decision? {
        let kind = f.leader == nil ? "failover" : "switchover"
        if let named = f.leader, named != i.me {
            return Decision([.clearFailover], "\(kind) refused: it names \(named) as leader, but I am the leader")
        }
        if let at = scheduledTime(f.scheduledAt), at.timeIntervalSince1970 > i.wallNow { return nil }
        guard let target = f.member ?? cluster.bestCandidate()?.name else {
            return Decision([.clearFailover], "\(kind) refused: no healthy candidate")
        }
        guard let m = cluster.member(target) else { return Decision([.clearFailover], "\(kind) refused: unknown member \(target)") }
        // The lag of an immediate switchover was checked fresh when it was asked for (POST
        // /switchover); etcd's view of it can be a loop stale, and the hand-over itself waits
        // (bounded) for the candidate to have all WAL. A scheduled one is checked when due.
        if let why = cluster.ineligibility(m, checkLag: f.leader != nil && f.scheduledAt != nil) {
            return Decision([.clearFailover], "\(kind) refused: \(why)")
        }
        return Decision([.switchover(candidate: target)], "\(kind) to \(target): checkpoint, stop, hand over the leader lock once \(target) has all WAL")
    }

    /// restart / reinitialize / reload asked through this member's REST API.
    static func local(_ r: LocalRequest, _ i: DecisionInput, cluster: ClusterView) -> Decision {
        let l = i.local
        let leading = cluster.leader == i.me
        let (asPrimary, upstream) = leading ? leaderRole(i) : (false, cluster.leader)
        switch r {
        case .reload:
            guard l.run == .running else { return answer([], "reload refused: Postgres is not running") }
            return answer([.applyConfig(primary: asPrimary, upstream: upstream)], "reloading the configuration on request")
        case let .restart(role, pendingOnly):
            guard l.run == .running || l.run == .stopped else { return answer([], "restart refused: Postgres is \(l.run.rawValue)") }
            if pendingOnly && !l.pendingRestart { return answer([], "restart conditions are not satisfied: no pending restart") }
            if let role, role != "any" {
                let isPrimaryRole = role == "primary" || role == "master"
                if isPrimaryRole != leading { return answer([], "restart conditions are not satisfied: role is not \(role)") }
            }
            if !leading && cluster.leader == nil { return answer([], "restart refused: no leader to follow") }
            return answer([.restart(primary: asPrimary, upstream: upstream)], "restarting Postgres on request\(leading ? " (keeping the leader lock)" : "")")
        case .reinitialize:
            if leading { return answer([], "I am the leader, can not reinitialize") }
            guard let leader = cluster.leader, cluster.member(leader)?.state == "running" else {
                return answer([], "reinitialize refused: no running leader to clone from")
            }
            let source = cluster.members.first { $0.clonefrom && $0.name != i.me && $0.state == "running" }?.name ?? leader
            return answer([.stop(.immediate), .clone(from: source), .start(primary: false, upstream: leader)],
                          "reinitializing: wiping the data directory and cloning from \(source)")
        }
    }

    /// Duties added to what the core rules decided: clear a fulfilled request, keep sync and failsafe
    /// keys, apply a changed `config`.
    static func withOperationDuties(_ d: Decision, _ i: DecisionInput, cluster: ClusterView) -> Decision {
        var out = d
        let stopping = d.actions.contains { if case .stop = $0 { return true }; return $0 == .releaseLeader }
        let leads = (cluster.leader == i.me || d.actions.contains(.acquireLeader)) && !stopping
        let settings = cluster.settings
        if leads && (i.local.run == .running) {
            if cluster.failover?.member == i.me { out.actions.append(.clearFailover) }
            if settings.synchronousMode || cluster.syncJSON != nil { out.actions.append(.manageSync) }
            let wanted = cluster.failsafeWanted
            if settings.failsafeMode ? cluster.failsafeMembers != wanted : cluster.failsafeJSON != nil {
                out.actions.append(.publishFailsafe)
            }
        }
        let restarting = d.actions.contains { a in
            switch a { case .start, .stop, .restart, .clone, .rewind, .follow, .promote: return true; default: return false }
        }
        if i.configStale, i.local.run == .running, !restarting, let leader = cluster.leader ?? (leads ? i.me : nil) {
            let (primary, upstream) = leader == i.me ? leaderRole(i) : (false, leader)
            out.actions.append(.applyConfig(primary: primary, upstream: upstream))
        }
        return out
    }

    /// etcd unreachable: failsafe keeps a primary whose every peer acknowledged it; pause never demotes.
    static func failsafe(_ i: DecisionInput) -> Decision? {
        guard i.local.isPrimary else { return nil }
        if i.lastKnown?.paused == true { return Decision([], "paused: etcd unreachable, not demoting (maintenance mode)") }
        guard i.failsafeAcked == true else { return nil }
        let n = i.lastKnown?.failsafeMembers.count ?? 0
        return Decision([], "etcd unreachable: staying primary, failsafe acknowledged by all \(n) members")
    }
}
