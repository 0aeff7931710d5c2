// Carries out the decision's actions against etcd and Postgres, in order, stopping at the first failure.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

public struct ActionFailure: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// The I/O side of the HA loop: one method per action.
public final class ActionRunner: @unchecked Sendable {
    let config: AgentConfig
    let store: ClusterStore
    let postgres: PostgresControl
    let logger: Logger
    /// Set when pg_rewind failed, so the next decision re-clones instead (cleared after a clone).
    let rewindFailed = Locked(false)
    let watchdog: Watchdog

    init(config: AgentConfig, store: ClusterStore, postgres: PostgresControl, watchdog: Watchdog, logger: Logger) {
        self.config = config; self.store = store; self.postgres = postgres; self.watchdog = watchdog; self.logger = logger
    }

    /// Arms the watchdog before the leader key is taken, so this member never holds the key with a
    /// required watchdog unarmed (automatic mode: a failure is logged and ignored).
    func armWatchdog(_ cluster: ClusterView?) throws {
        if let why = watchdog.arm(timing: cluster?.config?.timing ?? config.timing, now: monotonicNow()) {
            throw ActionFailure("not taking the leader lock: watchdog required but \(why)")
        }
    }

    /// Renews the lease mid-action (a long switchover or restart) and feeds the watchdog when it worked.
    func renewMidAction() async {
        do {
            let renewal = try await store.renewLease(ttl: config.timing.ttl)
            if let lost = renewal.lostMessage(ttl: config.timing.ttl) { logger.warning("\(lost)") }
            watchdog.feed()
        } catch {}
    }

    func dynamicParameters(_ cluster: ClusterView?) -> [String: String] {
        cluster?.config?.parameters ?? config.dcsParameters
    }

    /// standby_cluster in force: the `config` key's, or bootstrap.dcs's while there is no key yet.
    func standbyCluster(_ cluster: ClusterView?) -> StandbyCluster? {
        if let dynamic = cluster?.config { return dynamic.standbyCluster }
        return config.dcsStandbyCluster
    }

    func upstream(_ name: String?, _ cluster: ClusterView?) throws -> UpstreamServer? {
        guard let name else { return nil }
        if StandbyCluster.isRemote(name) {
            guard let standby = standbyCluster(cluster) else { throw ActionFailure("standby_cluster is no longer set: no remote primary to follow") }
            return UpstreamServer(remote: standby)
        }
        guard let m = cluster?.member(name), !m.host.isEmpty else { throw ActionFailure("member \(name) has no conn_url in etcd yet") }
        return UpstreamServer(name: name, host: m.host, port: m.port)
    }

    /// Runs `actions` in order; returns false at the first failure (logged).
    func run(_ actions: [HAAction], cluster: ClusterView?, local: LocalPostgres) async -> Bool {
        for action in actions {
            do {
                try await perform(action, cluster: cluster, local: local)
            } catch {
                logger.warning("\(action) did not succeed: \(error)")
                return false
            }
        }
        return true
    }

    func perform(_ action: HAAction, cluster: ClusterView?, local: LocalPostgres) async throws {
        let dynamic = dynamicParameters(cluster)
        postgres.clusterHBA.set(cluster?.config?.pgHBA ?? config.dcsPgHBA)
        switch action {
        case .claimInitialize:
            guard try await store.claimInitialize() else { throw ActionFailure("another member won the bootstrap race") }
        case .bootstrap:
            try await bootstrap()
        case .bootstrapStandby:
            guard let standby = standbyCluster(cluster) else { throw ActionFailure("standby_cluster is not set") }
            try await bootstrapStandby(standby)
        case .takeOver:
            try await takeOver(local)
        case .claimExisting:
            try await claimExisting(local)
        case .acquireLeader:
            let wasArmed = watchdog.isArmed
            try armWatchdog(cluster)
            guard try await store.acquireLeader() else {
                if !wasArmed { watchdog.disarm("lost the race for the leader lock") }
                throw ActionFailure("the leader lock is taken")
            }
        case .releaseLeader:
            _ = try await store.releaseLeader()
        case .promote:
            try await postgres.promote(dynamic: dynamic)
            try await recordPromotion(cluster: cluster, before: local)
        case let .start(primary, upstreamName):
            try await postgres.start(dynamic: dynamic, upstream: try upstream(upstreamName, cluster), standby: !primary)
        case let .stop(mode):
            try await postgres.stop(mode)
            // Patroni's safepoint: with Postgres down no primary runs here, so a demotion (etcd
            // lost, another leader, a release) disarms before the read-only restart, not after it.
            watchdog.disarm("Postgres stopped")
        case let .follow(upstreamName):
            try await postgres.follow(dynamic: dynamic, upstream: try upstream(upstreamName, cluster))
        case let .clone(from):
            guard let source = try upstream(from, cluster) else { return }
            let method = try await postgres.clone(from: source)
            if method != "basebackup" { logger.info("replica made from \(from) by create_replica_methods \(method)") }
            rewindFailed.set(false)
        case let .rewind(from):
            guard let source = try upstream(from, cluster) else { return }
            do {
                let said = try await postgres.rewind(from: source, dynamic: dynamic)
                logger.info("pg_rewind from \(from): \(said)")
            } catch {
                // Only a rewind that ran and failed sends the next rejoin to a fresh clone; a source
                // that could not be reached (a leader that just died) is no reason to throw data away.
                if !PostgresControl.sourceUnreachable("\(error)") { rewindFailed.set(true) }
                throw error
            }
        case .maintainSlots:
            let others = (cluster?.members ?? []).map(\.name).filter { $0 != config.name }
            try await postgres.maintainSlots(for: others)
        case .publishStatus:
            try await store.publishStatus(optime: local.lsn, slots: [:])
        default:
            try await performOperation(action, cluster: cluster, local: local)
        }
    }

    /// initdb, files, start, roles, leader key, config and initialize; undone on failure so another
    /// member can try.
    func bootstrap() async throws {
        do {
            try postgres.files.writePgpass()
            var recovery: [String: String]?
            if let m = config.bootstrapMethod {
                try await postgres.customBootstrap(m)
                recovery = m.keepExistingRecoveryConf ? [:] : (m.recoveryConf.isEmpty ? nil : m.recoveryConf)
                logger.info("bootstrap: bootstrap.method \(m.name) made the data directory, starting it\(recovery == nil ? " as the new primary" : " to recover, then promote")")
                try await postgres.start(dynamic: config.dcsParameters, upstream: nil,
                                         standby: m.keepExistingRecoveryConf && postgres.files.hasStandbySignal, recovery: recovery)
            } else {
                try await postgres.initdb(extraOptions: config.initdbOptions)
                logger.info("bootstrap: initdb done, starting the new primary")
                try await postgres.start(dynamic: config.dcsParameters, upstream: nil, standby: false)
            }
            var state = LocalPostgres()
            // A recovery replays the archive first: it gets as long as a restore may take.
            let limit: Double = recovery == nil ? 60 : 3600
            let deadline = Date().addingTimeInterval(limit)
            var promoted = false
            while Date() < deadline {
                state = await postgres.probe()
                if state.isPrimary { break }
                // A recovery that fails (a missing WAL segment, settings below the old primary's) stops Postgres.
                if state.run == .stopped { throw ActionFailure("Postgres stopped before it ran as the new primary; see \(postgres.files.logPath)") }
                // recovery_target_action pause (pgBackRest's default) stops at the target: promote from there.
                if state.isReplica && state.replayPaused && !promoted {
                    logger.info("bootstrap: recovery paused at its target, promoting")
                    try await postgres.promote(dynamic: config.dcsParameters)
                    promoted = true
                }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            guard state.isPrimary else { throw ActionFailure("the new primary did not accept connections within \(Int(limit)) s; see \(postgres.files.logPath)") }
            // The recovery settings served the first start only.
            if recovery != nil { try postgres.reload(dynamic: config.dcsParameters, upstream: nil, standby: false) }
            logger.info("bootstrap: primary is up, creating roles")
            try await postgres.createRoles()
            if let command = config.postBootstrap {
                logger.info("bootstrap: running post_bootstrap \(command)")
                try await postgres.runPostBootstrap(command)
            }
            try await store.seedConfig(DynamicConfig.from(config).raw)
            try armWatchdog(nil)
            guard try await store.acquireLeader() else { throw ActionFailure("the leader lock was taken during bootstrap") }
            try await store.setInitialize(systemIdentifier: state.systemIdentifier ?? "")
            // A restored cluster brings its timelines along (a recovery ends on a new one).
            let history = postgres.timelineHistory()
            if !history.isEmpty { try await store.writeHistory(history) }
            logger.info("bootstrapped a new cluster (system identifier \(state.systemIdentifier ?? "?"))")
        } catch {
            try? await postgres.stop(.immediate)
            watchdog.disarm("bootstrap failed")
            try? FileManager.default.removeItem(atPath: config.postgres.dataDir)
            try? await store.abandonInitialize()
            throw error
        }
    }

    /// A standby cluster's first member: a copy of the remote primary (standby_cluster's
    /// create_replica_methods, default pg_basebackup), started as its standby, then the leader key,
    /// `config` and `initialize`; undone on failure so another member can try.
    func bootstrapStandby(_ standby: StandbyCluster) async throws {
        do {
            try postgres.files.writePgpass()
            let remote = UpstreamServer(remote: standby)
            let methods = try standby.createReplicaMethods.map { name -> ReplicaMethod in
                if name == "basebackup" { return ReplicaMethod(name: name) }
                guard let m = config.postgres.createReplicaMethods.first(where: { $0.name == name }) else {
                    throw ActionFailure("standby_cluster.create_replica_methods: \(name) has no postgresql.\(name) section listed in postgresql.create_replica_methods")
                }
                return m
            }
            if standby.host == nil && methods.allSatisfy({ $0.command == nil }) {
                throw ActionFailure("standby_cluster has no host to pg_basebackup from: name a replica method in standby_cluster.create_replica_methods")
            }
            let method = try await postgres.clone(from: remote, methods: methods.isEmpty ? nil : methods)
            logger.info("standby bootstrap: copy of \(standby.remote) made by \(method), starting the standby leader")
            try await postgres.start(dynamic: config.dcsParameters, upstream: remote, standby: true)
            var state = LocalPostgres()
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                state = await postgres.probe()
                if state.isReplica { break }
                if state.run == .stopped { throw ActionFailure(Self.stoppedWhileStarting("the standby leader", postgres.files)) }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            guard state.isReplica else { throw ActionFailure("the standby leader did not accept connections within 120 s; see \(postgres.files.logPath)") }
            try await store.seedConfig(DynamicConfig.from(config).raw)
            try armWatchdog(nil)
            guard try await store.acquireLeader() else { throw ActionFailure("the leader lock was taken during bootstrap") }
            try await store.setInitialize(systemIdentifier: state.systemIdentifier ?? "")
            logger.info("bootstrapped a standby cluster of \(standby.remote) (system identifier \(state.systemIdentifier ?? "?"))")
        } catch {
            try? await postgres.stop(.immediate)
            watchdog.disarm("standby bootstrap failed")
            try? FileManager.default.removeItem(atPath: config.postgres.dataDir)
            try? await store.abandonInitialize()
            throw error
        }
    }

    /// Waits (60 s at most) until the local server accepts connections as a primary.
    func waitForPrimary() async throws -> LocalPostgres {
        var state = LocalPostgres()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            state = await postgres.probe()
            if state.isPrimary { return state }
            if state.run == .stopped { throw ActionFailure(Self.stoppedWhileStarting("the primary", postgres.files)) }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw ActionFailure("the primary did not accept connections within 60 s; see \(postgres.files.logPath)")
    }

    /// Postgres exited while the agent waited for it to come up: say so at once, with its log's reason.
    static func stoppedWhileStarting(_ what: String, _ files: PostgresFiles) -> String {
        "\(what) stopped while starting" + (files.lastLogProblem().map { " (\($0))" } ?? "") + "; see \(files.logPath)"
    }

    /// `initialize` = the data directory's system identifier (the race), `config` seeded from
    /// bootstrap.dcs, `history` from the server's pg_wal/*.history files.
    func claimExisting(_ local: LocalPostgres) async throws {
        guard let sysid = local.systemIdentifier, !sysid.isEmpty else { throw ActionFailure("the data directory's system identifier is not known") }
        guard try await store.claimInitialize(systemIdentifier: sysid) else { throw ActionFailure("another member won the race to initialize the cluster") }
        try await store.seedConfig(DynamicConfig.from(config).raw)
        let history = postgres.timelineHistory()
        if !history.isEmpty { try await store.writeHistory(history) }
        logger.info("initialize claimed for the existing data directory (system identifier \(sysid), timeline history of \(history.count) switches recorded)")
    }

    /// A primary that was not made by pgha becomes the leader: data and system identifier kept, no
    /// initdb. A running one is adopted where it runs (its files rewritten and reloaded; parameters
    /// that need a restart show as pending_restart); a stopped one is started as primary.
    func takeOver(_ local: LocalPostgres) async throws {
        try postgres.files.writePgpass()
        try await claimExisting(local)
        do {
            if local.run == .running {
                try await postgres.createRoles()
                try postgres.reload(dynamic: config.dcsParameters, upstream: nil, standby: false)
            } else {
                try await postgres.start(dynamic: config.dcsParameters, upstream: nil, standby: false)
                _ = try await waitForPrimary()
                try await postgres.createRoles()
            }
            try armWatchdog(nil)
            guard try await store.acquireLeader() else { throw ActionFailure("the leader lock was taken during the takeover") }
            logger.info("took over the existing Postgres as leader (system identifier \(local.systemIdentifier ?? "?"), \(local.run == .running ? "adopted running" : "started"))")
        } catch {
            watchdog.disarm("takeover failed")
            try? await store.abandonInitialize()
            throw error
        }
    }

    /// Appends [old timeline, switch LSN, reason, time, me] to `history` after a promotion.
    func recordPromotion(cluster: ClusterView?, before: LocalPostgres) async throws {
        var state = LocalPostgres()
        for _ in 0..<20 {
            state = await postgres.probe()
            if state.isPrimary { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        // pg_rewind reads the source's timeline from pg_control, which only shows the new timeline
        // after a checkpoint: without one a former primary rejoining now would be told "no rewind required".
        if state.isPrimary { _ = try? await postgres.query("CHECKPOINT") }
        guard state.isPrimary, let (oldTimeline, lsn) = postgres.lastTimelineSwitch(timeline: state.timeline) else { return }
        var history = cluster?.history ?? []
        guard !history.contains(where: { $0.timeline == oldTimeline }) else { return }
        let stamp = iso8601(Date())
        history.append(HistoryEntry(timeline: oldTimeline, lsn: lsn, reason: "no recovery target specified", timestamp: stamp, newLeader: config.name))
        try await store.writeHistory(history)
    }
}
