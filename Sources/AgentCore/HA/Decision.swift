// The agent's whole judgement: one pure function from (cluster view, local Postgres, config, time) to actions.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What a peer's REST API (/patroni) said when asked during a leader race.
public struct PeerStatus: Equatable, Sendable {
    public var name: String
    public var isPrimary: Bool
    public var running: Bool
    public var lsn: Int64
    public var timeline: Int
    public var nofailover: Bool
    public var failoverPriority: Int
    public init(name: String, isPrimary: Bool, running: Bool = true, lsn: Int64, timeline: Int,
                nofailover: Bool = false, failoverPriority: Int = 1) {
        self.name = name; self.isPrimary = isPrimary; self.running = running; self.lsn = lsn
        self.timeline = timeline; self.nofailover = nofailover; self.failoverPriority = failoverPriority
    }
}

/// One step for the executor. Actions run in order; one that fails (a lock taken by someone else,
/// a command that errs) ends the list and the loop runs again at once.
public enum HAAction: Equatable, Sendable {
    /// Create `initialize` if absent (the bootstrap race).
    case claimInitialize
    /// initdb, files, start as primary, roles, take the leader key, publish config and system id.
    case bootstrap
    /// A standby cluster's first member: a copy of the remote primary, started as its standby,
    /// the leader key, config and system id.
    case bootstrapStandby
    /// Take over the primary in the data directory (running: adopt it; stopped: start it as primary):
    /// `initialize` = its system identifier, roles, the leader key, `history` from its pg_wal.
    case takeOver
    /// Create `initialize` = the data directory's system identifier (and `history` from its pg_wal)
    /// for a server still in recovery; it then joins the leader race as a replica would.
    case claimExisting
    /// Create the leader key if absent, on our lease.
    case acquireLeader
    /// Delete the leader key if it still names us.
    case releaseLeader
    /// pg_ctl promote, then append to history.
    case promote
    /// Write the agent's files and start Postgres; `upstream` is the member a replica streams from.
    case start(primary: Bool, upstream: String?)
    case stop(StopMode)
    /// Point a running replica at `upstream` (nil: no upstream) and reload.
    case follow(upstream: String?)
    /// Replace the data directory with a pg_basebackup of `from`.
    case clone(from: String)
    /// pg_rewind onto `from`'s timeline.
    case rewind(from: String)
    /// Leader: one physical slot per other member.
    case maintainSlots
    /// Leader: publish `status` (optime).
    case publishStatus
    // Operations (HA/Operations.swift decides them, HA/OperationActions.swift runs them).
    /// Graceful hand-over: checkpoint, stop, wait until `candidate` has the shutdown checkpoint,
    /// release the key, start as its replica. Undone (primary again, request cleared) on failure.
    case switchover(candidate: String)
    /// Delete the `failover` key (done, or refused).
    case clearFailover
    /// Stop (fast) and start again in the same role; `upstream` for a replica.
    case restart(primary: Bool, upstream: String?)
    /// Rewrite pgha.conf from the `config` key and reload.
    case applyConfig(primary: Bool, upstream: String?)
    /// Leader in synchronous mode: synchronous_standby_names and the `sync` key.
    case manageSync
    /// Leader with failsafe_mode: write the `failsafe` key (member → api_url).
    case publishFailsafe

    /// Routine leader duties, repeated every loop; they do not make the loop look again sooner.
    public var isRoutine: Bool { self == .maintainSlots || self == .publishStatus || self == .manageSync }

    /// Actions that take long enough to run beside the loop, which keeps renewing meanwhile.
    public var isLong: Bool {
        switch self {
        case .bootstrap, .bootstrapStandby, .takeOver, .clone, .rewind: return true
        default: return false
        }
    }
}

public struct Decision: Equatable, Sendable {
    public var actions: [HAAction]
    /// One line an operator understands.
    public var message: String
    /// Set when this decision answers `DecisionInput.request` (refused when `actions` is empty).
    public var answersRequest = false
    public init(_ actions: [HAAction], _ message: String) { self.actions = actions; self.message = message }
}

/// Everything the decision reads; built by the loop from etcd, Postgres, peers and its own memory.
public struct DecisionInput: Sendable {
    public var now: Double
    public var me: String
    public var tags = Tags()
    public var timing = Timing()
    public var usePgRewind = true
    /// nil: etcd could not be read this loop.
    public var cluster: ClusterView?
    /// When the lease was last renewed (same clock as `now`).
    public var lastRenewal: Double?
    public var local = LocalPostgres()
    /// Answers from peers' REST APIs (asked only while nobody holds the leader key).
    public var peers: [PeerStatus] = []
    /// When Postgres was first seen down while it should run (same clock as `now`).
    public var postgresDownSince: Double?
    /// A long action still running (clone, bootstrap, rewind).
    public var busy: String?
    /// pg_rewind failed for this data directory: re-clone instead.
    public var rewindFailed = false
    /// Wall-clock seconds since 1970 (scheduled switchovers / restarts).
    public var wallNow: Double = 0
    /// A request made to this member's REST API (restart, reinitialize, reload), not yet carried out.
    public var request: LocalRequest?
    /// pgha.conf differs from what the `config` key asks for.
    public var configStale = false
    /// etcd unreachable: every member in the last `failsafe` key answered POST /failsafe (nil: not asked).
    public var failsafeAcked: Bool?
    /// The last cluster view read from etcd (for failsafe while etcd is unreachable).
    public var lastKnown: ClusterView?
    /// Why the watchdog (mode required) cannot be armed: the member must not take or keep the
    /// leader key. nil: armed, usable, or not required.
    public var watchdogProblem: String?
    public var watchdogUsable: Bool { watchdogProblem == nil }
    /// standby_cluster in force: the `config` key's, or bootstrap.dcs's while there is no key yet.
    public var standbyCluster: StandbyCluster?
    public init(now: Double, me: String) { self.now = now; self.me = me }
}

public enum HADecision {
    public static func decide(_ i: DecisionInput) -> Decision {
        if let job = i.busy { return Decision([], "waiting: \(job) in progress") }
        guard let cluster = i.cluster else { return failsafe(i) ?? etcdUnreachable(i) }
        if let d = operation(i, cluster: cluster) { return d }
        return withOperationDuties(core(i, cluster: cluster), i, cluster: cluster)
    }

    static func core(_ i: DecisionInput, cluster: ClusterView) -> Decision {
        if cluster.initialize == nil {
            if i.local.run == .noData {
                if let why = i.watchdogProblem { return Decision([], "no cluster in etcd yet, not racing to initialize it: \(why)") }
                if let standby = i.standbyCluster {
                    return Decision([.claimInitialize, .bootstrapStandby], "no cluster in etcd yet: racing to initialize it as a standby cluster of \(standby.remote)")
                }
                return Decision([.claimInitialize, .bootstrap], "no cluster in etcd yet: racing to initialize it")
            }
            return takeOver(i)
        }
        if cluster.leader != i.me, let why = foreignData(i.local, cluster: cluster) {
            return Decision(i.local.run == .running ? [.stop(.fast)] : [], why)
        }
        switch cluster.leader {
        case i.me?: return i.standbyCluster.map { asStandbyLeader(i, $0) } ?? asLeader(i)
        case let leader?: return asFollower(i, leader: leader, cluster: cluster)
        case nil: return withoutLeader(i, cluster: cluster)
        }
    }

    /// No `initialize` key but a data directory (Patroni's "convert a standalone"): race for the key
    /// with its system identifier; a primary (running, or stopped without a pending recovery) is
    /// taken over as the leader, a server in recovery joins the leader race as a replica.
    static func takeOver(_ i: DecisionInput) -> Decision {
        let l = i.local
        if l.run == .starting { return Decision([], "not initialized in etcd, data directory here: waiting, Postgres is starting") }
        guard let sysid = l.systemIdentifier, !sysid.isEmpty else {
            return Decision([], "not initialized in etcd but the data directory has no readable system identifier (pg_controldata failed): not taking it over")
        }
        if i.tags.nofailover || i.tags.failoverPriority <= 0 {
            return Decision([], "not initialized in etcd: not taking over my data directory (system identifier \(sysid)): nofailover / failover_priority 0")
        }
        if let why = i.watchdogProblem { return Decision([], "not initialized in etcd: not taking over my data directory: \(why)") }
        if let standby = i.standbyCluster {
            return Decision([.claimExisting], "not initialized in etcd: claiming it for my data directory (system identifier \(sysid)); then racing to be the standby leader of \(standby.remote)")
        }
        if l.isPrimary {
            return Decision([.takeOver], "not initialized in etcd: taking over the running primary (system identifier \(sysid)) as leader")
        }
        if l.run == .stopped && l.wasPrimary && !l.recoveryPending && !l.hasStandbySignal {
            return Decision([.takeOver], "not initialized in etcd: taking over my data directory (system identifier \(sysid)), starting it as primary")
        }
        return Decision([.claimExisting], "not initialized in etcd: claiming it for my data directory (system identifier \(sysid)), which is in recovery; then racing for the leader lock")
    }

    /// Why this data directory cannot join the cluster, nil when it can: it holds another
    /// cluster's system identifier than `initialize` (Patroni stops it and exits).
    static func foreignData(_ l: LocalPostgres, cluster: ClusterView) -> String? {
        guard let cluster = cluster.initialize, !cluster.isEmpty, let mine = l.systemIdentifier, !mine.isEmpty, mine != cluster else { return nil }
        return "my data directory belongs to another cluster (system identifier \(mine), initialize is \(cluster)): not joining; remove it or reinitialize this member"
    }

    static func secs(_ d: Double) -> String { formatted("%.1f s", d) }

    /// etcd unreachable: a primary keeps serving only while its lease certainly still holds.
    /// The moment a primary that cannot renew must have begun demoting: loop_wait + retry_timeout
    /// after the start of its last successful renewal. The safety rule (loop_wait + 2 ×
    /// retry_timeout ≤ ttl) leaves it retry_timeout to be read-only before the lease can expire;
    /// the loop wakes for this moment and bounds its etcd calls by it (HALoop.etcdBudget).
    public static func demotionDeadline(lastRenewal: Double, timing: Timing) -> Double {
        lastRenewal + timing.loopWait + timing.retryTimeout
    }

    static func etcdUnreachable(_ i: DecisionInput) -> Decision {
        guard i.local.isPrimary else { return Decision([], "etcd unreachable: keeping Postgres as it is") }
        let since = i.lastRenewal.map { i.now - $0 } ?? .infinity
        let limit = i.timing.loopWait + i.timing.retryTimeout
        if since >= limit {
            return Decision([.stop(.fast), .start(primary: false, upstream: nil)],
                            "demoting: lost the leader lease (no renewal for \(secs(since)), etcd unreachable); restarting read-only")
        }
        return Decision([], "etcd unreachable for \(secs(since)): still primary, demoting after \(secs(limit))")
    }

    static func asLeader(_ i: DecisionInput) -> Decision {
        let down = i.postgresDownSince.map { i.now - $0 } ?? 0
        if let why = i.watchdogProblem {
            let stop: [HAAction] = i.local.run == .running || i.local.run == .starting ? [.stop(.fast)] : []
            return Decision(stop + [.releaseLeader], "demoting: \(why); releasing the leader lock")
        }
        switch i.local.run {
        case .running where !i.local.inRecovery:
            return Decision([.maintainSlots, .publishStatus], "no action: I am the leader with the lock")
        case .running:
            return Decision([.promote, .maintainSlots, .publishStatus], "promoting: I hold the leader lock but Postgres is a replica")
        case .starting, .stopped:
            if down > i.timing.primaryStartTimeout {
                return Decision([.stop(.immediate), .releaseLeader],
                                "releasing the leader lock: Postgres did not come back within \(secs(i.timing.primaryStartTimeout))")
            }
            if i.local.run == .starting { return Decision([], "waiting: Postgres is starting (down \(secs(down)))") }
            return Decision([.start(primary: i.local.wasPrimary, upstream: nil)],
                            "restarting crashed Postgres in place as primary (down \(secs(down)))")
        case .noData:
            return Decision([.releaseLeader], "releasing the leader lock: my data directory is gone")
        }
    }

    static func asFollower(_ i: DecisionInput, leader: String, cluster: ClusterView) -> Decision {
        let l = i.local
        switch l.run {
        case .running where !l.inRecovery:
            return Decision([.stop(.immediate)], "demoting: \(leader) holds the leader lock; stopping my primary at once")
        case .running:
            if let why = divergence(l, leader: leader, cluster: cluster) { return rejoin(i, leader: leader, because: why) }
            if l.following != leader { return Decision([.follow(upstream: leader)], "following new leader \(leader)") }
            return Decision([], l.streaming ? "no action: streaming from leader \(leader)" : "replica of \(leader), not streaming yet")
        case .starting:
            // A replica still recovering may be waiting for WAL from a leader that is gone.
            if l.hasStandbySignal && l.following != leader { return Decision([.follow(upstream: leader)], "following new leader \(leader) while Postgres is starting") }
            return Decision([], "waiting: Postgres is starting")
        case .noData:
            guard cluster.member(leader)?.state == "running" else { return Decision([], "waiting: leader \(leader) is not running yet, nothing to clone") }
            return Decision([.clone(from: leader), .start(primary: false, upstream: leader)], "cloning from leader \(leader)")
        case .stopped:
            if !l.wasPrimary { return Decision([.start(primary: false, upstream: leader)], "starting as a replica of \(leader)") }
            return rejoin(i, leader: leader, because: "former primary")
        }
    }

    /// Why this running replica cannot follow `leader` without pg_rewind, nil when it can: it
    /// replayed WAL on an older timeline past the point where the leader's history forked off it.
    /// That is a primary demoted read-only (cut off from etcd) after writing WAL the others never
    /// received — its shutdown checkpoint at least — while another member was promoted; Postgres
    /// would refuse to stream from the new timeline forever. Replayed (not received) WAL is
    /// compared: it ends on a record boundary, so a replica level with the new leader never counts.
    static func divergence(_ l: LocalPostgres, leader: String, cluster: ClusterView) -> String? {
        guard l.inRecovery, !l.streaming, l.timeline > 0,
              let leaderTimeline = cluster.member(leader)?.timeline, leaderTimeline > l.timeline,
              let fork = cluster.history.last(where: { $0.timeline == l.timeline }), l.replayedLSN > fork.lsn
        else { return nil }
        return "diverged: my WAL on timeline \(l.timeline) goes to \(l.replayedLSN), past the fork to timeline \(l.timeline + 1) at \(fork.lsn)"
    }

    /// Back as `leader`'s replica after diverging (a former primary, or a diverged replica, which
    /// is stopped first): pg_rewind, or a fresh clone when rewinding is off or already failed.
    static func rejoin(_ i: DecisionInput, leader: String, because why: String) -> Decision {
        let stop: [HAAction] = i.local.run == .running ? [.stop(.fast)] : []
        if i.usePgRewind && !i.rewindFailed {
            return Decision(stop + [.rewind(from: leader), .start(primary: false, upstream: leader)], "\(why) rejoining \(leader): pg_rewind, then replica")
        }
        return Decision(stop + [.clone(from: leader), .start(primary: false, upstream: leader)],
                        i.rewindFailed ? "\(why) rejoining \(leader): pg_rewind failed, re-cloning"
                                       : "\(why) rejoining \(leader): re-cloning (use_pg_rewind is off)")
    }

    static func withoutLeader(_ i: DecisionInput, cluster: ClusterView) -> Decision {
        let l = i.local
        switch l.run {
        case .noData: return Decision([], "no leader in etcd and no data here: waiting for a leader to clone from")
        case .starting: return Decision([], "no leader; waiting: Postgres is starting")
        case .stopped: return Decision([.start(primary: false, upstream: nil)], "no leader: starting Postgres read-only before joining the race")
        case .running: break
        }
        if i.tags.nofailover || i.tags.failoverPriority <= 0 {
            return Decision([], "no leader, but not racing for the lock: nofailover / failover_priority 0")
        }
        if let why = i.watchdogProblem {
            if l.isPrimary { return Decision([.stop(.fast), .start(primary: false, upstream: nil)], "no leader, not taking the lock: \(why); restarting read-only") }
            return Decision([], "no leader, not racing: \(why)")
        }
        if l.isPrimary { return Decision([.acquireLeader, .maintainSlots, .publishStatus], "no leader: taking the leader lock as the running primary") }
        if let optime = cluster.leaderOptime, optime - l.lsn > i.timing.maximumLagOnFailover {
            return Decision([], "no leader, not racing: \(optime - l.lsn) bytes behind the last leader position (maximum_lag_on_failover \(i.timing.maximumLagOnFailover))")
        }
        for p in i.peers where p.name != i.me && p.running {
            if p.isPrimary { return Decision([], "no leader, not racing: \(p.name) still runs as primary") }
            if p.nofailover || p.failoverPriority <= 0 { continue }
            if p.timeline > l.timeline { return Decision([], "no leader, not racing: \(p.name) is on a newer timeline (\(p.timeline) > \(l.timeline))") }
            if p.lsn > l.lsn { return Decision([], "no leader, not racing: \(p.name) has more WAL (\(p.lsn) > \(l.lsn))") }
            if p.lsn == l.lsn && p.failoverPriority > i.tags.failoverPriority {
                return Decision([], "no leader, not racing: \(p.name) has as much WAL and a higher failover_priority")
            }
        }
        if let standby = i.standbyCluster {
            return Decision([.acquireLeader, .follow(upstream: standby.upstreamName), .maintainSlots, .publishStatus],
                            "took the standby leader lock (healthiest of \(i.peers.count + 1) reachable, WAL \(l.lsn)): following \(standby.remote)")
        }
        return Decision([.acquireLeader, .promote, .maintainSlots, .publishStatus],
                        "promoted self to leader by acquiring session lock (healthiest of \(i.peers.count + 1) reachable, WAL \(l.lsn))")
    }

    /// The leader of a standby cluster: a replica of the remote primary (or of restore_command)
    /// that never promotes while standby_cluster is set; the other members cascade from it.
    static func asStandbyLeader(_ i: DecisionInput, _ standby: StandbyCluster) -> Decision {
        let down = i.postgresDownSince.map { i.now - $0 } ?? 0
        let remote = standby.upstreamName
        if let why = i.watchdogProblem {
            let stop: [HAAction] = i.local.run == .running || i.local.run == .starting ? [.stop(.fast)] : []
            return Decision(stop + [.releaseLeader], "standby leader demoting: \(why); releasing the leader lock")
        }
        switch i.local.run {
        case .running where !i.local.inRecovery:
            return Decision([.stop(.fast), .start(primary: false, upstream: remote)],
                            "standby_cluster is set but I run a primary: restarting as the standby leader of \(standby.remote)")
        case .running:
            if i.local.following != remote { return Decision([.follow(upstream: remote)], "standby leader: following the remote primary \(standby.remote)") }
            return Decision([.maintainSlots, .publishStatus], i.local.streaming ? "no action: I am the standby leader with the lock, streaming from \(standby.remote)"
                                                                                 : "no action: I am the standby leader with the lock, not streaming from \(standby.remote) yet")
        case .starting, .stopped:
            if down > i.timing.primaryStartTimeout {
                return Decision([.stop(.immediate), .releaseLeader],
                                "releasing the standby leader lock: Postgres did not come back within \(secs(i.timing.primaryStartTimeout))")
            }
            if i.local.run == .starting {
                if i.local.hasStandbySignal && i.local.following != remote { return Decision([.follow(upstream: remote)], "standby leader: following \(standby.remote) while Postgres is starting") }
                return Decision([], "waiting: Postgres is starting (down \(secs(down)))")
            }
            return Decision([.start(primary: false, upstream: remote)], "starting Postgres in place as the standby leader of \(standby.remote) (down \(secs(down)))")
        case .noData:
            return Decision([.releaseLeader], "releasing the standby leader lock: my data directory is gone")
        }
    }

    /// How the leader's own Postgres runs: a primary, or in a standby cluster a replica of the remote.
    static func leaderRole(_ i: DecisionInput) -> (primary: Bool, upstream: String?) {
        i.standbyCluster.map { (false, $0.upstreamName) } ?? (true, nil)
    }
}
