// The HA loop service: every loop_wait (or when woken) read etcd and Postgres, decide, act, publish.
import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ServiceLifecycle

public final class HALoop: Service, @unchecked Sendable {
    let config: AgentConfig
    let store: ClusterStore
    let postgres: PostgresControl
    let runner: ActionRunner
    let snapshot: Locked<AgentSnapshot>
    let wakeup: Wakeup
    let logger: Logger
    let peerClient: HTTPClient
    let watchdog: Watchdog

    // Loop memory (touched only by the loop task, or through Locked).
    var timing: Timing
    var lastRenewal: Double?
    var downSince: Double?
    var lastMessage = ""
    var lastLogged = 0.0
    var etcdError: String?
    let busy = Locked<String?>(nil)
    /// Restart / reinitialize / reload asked through the REST API (HA/LocalRequests.swift).
    public let requests = LocalRequests()

    public init(config: AgentConfig, store: ClusterStore, postgres: PostgresControl, snapshot: Locked<AgentSnapshot>,
                wakeup: Wakeup, logger: Logger) {
        self.config = config; self.store = store; self.postgres = postgres
        self.snapshot = snapshot; self.wakeup = wakeup; self.logger = logger
        timing = config.timing
        watchdog = Watchdog(config: config.watchdog, logger: logger)
        runner = ActionRunner(config: config, store: store, postgres: postgres, watchdog: watchdog, logger: logger)
        // Per-request deadlines, 1 s connect timeout, never shut down; the ctl/restapi CA and certificate for https peers.
        peerClient = (try? EtcdClient.sharedHTTP(tls: config.restClientTLS.isEmpty ? nil : config.restClientTLS)) ?? EtcdClient.sharedHTTP
    }

    public func run() async throws {
        do { try postgres.files.writePgpass() } catch { logger.error("cannot write pgpass file: \(error)") }
        Reaper.adoptOrphans()
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                let acted = await iteration()
                var wait = acted ? min(0.3, timing.loopWait) : timing.loopWait
                // A primary that could not renew looks again at its demotion deadline, not a loop later.
                if etcdError != nil, let deadline = demotionDeadline { wait = min(wait, max(0.05, deadline - monotonicNow())) }
                await wakeup.wait(seconds: wait)
            }
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
        await shutdown()
    }

    /// SIGTERM: stop Postgres cleanly, then give the leader key up (orderly hand-over), then the lease.
    func shutdown() async {
        let wasLeader = snapshot.get().holdsLeader
        logger.info("shutting down: stopping Postgres\(wasLeader ? " and releasing the leader lock" : "")")
        if wasLeader { await runner.renewMidAction() }  // a full watchdog timeout for the shutdown checkpoint
        do { try await postgres.stop(.fast) } catch { logger.error("stopping Postgres: \(error)") }
        watchdog.disarm("shutting down")
        if wasLeader {
            do { _ = try await store.releaseLeader() } catch { logger.error("releasing the leader lock: \(error)") }
        }
        await store.revokeLease()
    }

    /// One pass; returns whether actions ran and succeeded (the loop then looks again sooner; after
    /// a failure it waits a full loop_wait, so a failing step is not retried in a tight loop).
    func iteration() async -> Bool {
        let t0 = monotonicNow()
        Reaper.reap()
        var cluster: ClusterView?
        do {
            let renewal = try await store.renewLease(ttl: timing.ttl, timeout: etcdBudget)
            if let lost = renewal.lostMessage(ttl: timing.ttl) { logger.warning("\(lost)") }
            lastRenewal = t0
            watchdog.feed()  // only here: a loop that cannot renew lets the device fire
            cluster = try await store.load(timeout: etcdBudget)
            if etcdError != nil { logger.info("etcd reachable again"); etcdError = nil }
        } catch {
            let text = "\(error)"
            if etcdError != text { logger.warning("etcd: \(text)") }
            etcdError = text
        }
        if let dynamic = cluster?.config?.timing {
            if dynamic != timing, let raw = cluster?.config?.raw,
               let object = JSONText.object(raw),
               let note = ConfigEdit.timingNote(object) {
                logger.warning("config: \(note)")
            }
            timing = dynamic
        }
        var local = await postgres.probe()
        if local.run == .running { downSince = nil } else if downSince == nil { downSince = t0 }
        if let cluster { await publishMember(local, cluster: cluster) }

        var input = DecisionInput(now: monotonicNow(), me: config.name)
        input.tags = config.tags
        input.standbyCluster = runner.standbyCluster(cluster)
        input.timing = timing
        input.usePgRewind = cluster?.config?.usePgRewind ?? config.usePgRewind
        input.cluster = cluster
        input.lastRenewal = lastRenewal
        input.local = local
        input.postgresDownSince = downSince
        input.busy = busy.get()
        input.rewindFailed = runner.rewindFailed.get()
        if let cluster, cluster.leader == nil, local.isReplica {
            input.peers = await askPeers(cluster.members.filter { $0.name != config.name })
        }
        await addOperationInputs(&input, cluster: cluster, local: local)
        if cluster?.paused != true { input.watchdogProblem = watchdog.refusal(timing: timing, now: input.now) }
        let decision = HADecision.decide(input)
        report(decision.message, now: t0)
        if decision.actions.isEmpty { finishRequest(decision, ok: false) }

        var acted = false
        if !decision.actions.isEmpty {
            if let longIndex = decision.actions.firstIndex(where: \.isLong) {
                acted = await runner.run(Array(decision.actions[..<longIndex]), cluster: cluster, local: local)
                if acted { startJob(Array(decision.actions[longIndex...]), cluster: cluster, local: local) }
                finishRequest(decision, ok: acted, started: true)
            } else {
                let ok = await runner.run(decision.actions, cluster: cluster, local: local)
                finishRequest(decision, ok: ok)
                acted = ok && !decision.actions.allSatisfy(\.isRoutine)
            }
            if decision.actions.contains(.promote) { snapshot.update { $0.failovers += 1 } }
            local = await postgres.probe()
            if local.run == .running { downSince = nil }
            let keyMoved = decision.actions.contains { a in
                if case .switchover = a { return true }
                return a == .acquireLeader || a == .releaseLeader
            }
            if let c = cluster, keyMoved {
                cluster = (try? await store.load()) ?? c
            }
        }
        // A bootstrap running beside the loop arms the device itself before it takes the key.
        if input.busy == nil { keepWatchdog(cluster: cluster, local: local, input: input, decision: decision) }
        let finalCluster = cluster
        let finalLocal = local
        let dcsOK = cluster != nil
        let (armed, failed) = (watchdog.isArmed, watchdog.hasFailed)
        snapshot.update { s in
            s.watchdogArmed = armed
            s.watchdogFailed = failed
            s.timing = timing
            s.local = finalLocal
            if let finalCluster { s.cluster = finalCluster; s.holdsLeader = finalCluster.leader == config.name }
            else if !finalLocal.isPrimary { s.holdsLeader = false }
            s.lastLoop = Date()
            if dcsOK { s.lastEtcdContact = Date() }
            s.lastMessage = decision.message
        }
        return acted
    }

    /// While this member runs a primary: when it must demote unless a renewal succeeds first.
    var demotionDeadline: Double? {
        guard snapshot.get().local.isPrimary, let lastRenewal else { return nil }
        return HADecision.demotionDeadline(lastRenewal: lastRenewal, timing: timing)
    }

    /// Time for one etcd call: retry_timeout, but a primary's calls end by its demotion deadline
    /// (an unreachable etcd used to cost two full budgets plus the failsafe round before the
    /// demotion ran: 8 s instead of 3.5, while another member was being promoted).
    var etcdBudget: Double {
        guard let deadline = demotionDeadline else { return timing.retryTimeout }
        return min(timing.retryTimeout, max(0.1, deadline - monotonicNow()))
    }

    /// Armed exactly while this member holds the leader key (Patroni disarms in pause); with etcd
    /// unreachable it stays armed but unfed, unless failsafe keeps the primary (fed) or it was
    /// demoted (disarmed).
    func keepWatchdog(cluster: ClusterView?, local: LocalPostgres, input: DecisionInput, decision: Decision) {
        if let cluster {
            if cluster.leader == config.name && !cluster.paused {
                watchdog.arm(timing: timing, now: monotonicNow())
            } else {
                watchdog.disarm(cluster.paused ? "paused (maintenance mode)" : "not the leader")
            }
        } else if local.isPrimary {
            if input.failsafeAcked == true && decision.actions.isEmpty { watchdog.feed() }
        } else {
            watchdog.disarm("demoted while etcd is unreachable")
        }
    }

    /// Long actions (clone, bootstrap, rewind) run beside the loop, which keeps the lease alive.
    func startJob(_ actions: [HAAction], cluster: ClusterView?, local: LocalPostgres) {
        busy.set("\(actions[0])".components(separatedBy: "(").first ?? "job")
        Task { [runner, busy, wakeup, timing] in
            let ok = await runner.run(actions, cluster: cluster, local: local)
            if !ok { try? await Task.sleep(nanoseconds: UInt64(timing.loopWait * 1e9)) }
            busy.set(nil)
            wakeup.signal()
        }
    }

    /// Logs the decision: every change at once, a repeated line every 30 s (one line per loop would
    /// drown the log at loop_wait 1 s).
    func report(_ message: String, now: Double) {
        if message != lastMessage || now - lastLogged >= 30 {
            logger.info("\(message)")
            lastMessage = message
            lastLogged = now
        }
    }

    func memberJSON(_ local: LocalPostgres, cluster: ClusterView? = nil) -> String {
        var s = AgentSnapshot(config: config)
        s.local = local
        s.cluster = cluster
        s.holdsLeader = cluster?.leader == config.name
        var d: [String: Any] = [
            "conn_url": "postgres://\(config.postgres.connectAddress)/postgres",
            "api_url": config.apiURL,
            "state": s.stateWord,
            "role": s.roleWord,
            "version": pghaVersion,
            "tags": config.tags.asJSON,
        ]
        if let scheduled = requests.scheduledRestart { d["scheduled_restart"] = scheduled.json }
        if local.run == .running {
            d["xlog_location"] = local.lsn
            d["timeline"] = local.timeline
            if local.isReplica {
                d["replication_state"] = local.streaming ? "streaming" : "in archive recovery"
                d["receive_lsn"] = local.receivedLSN
                d["replay_lsn"] = local.replayedLSN
            }
            if local.pendingRestart { d["pending_restart"] = true }
        }
        return (try? JSONText.bytes(d, sortedKeys: true, escapeSlashes: false)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    func publishMember(_ local: LocalPostgres, cluster: ClusterView) async {
        do { try await store.publishMember(memberJSON(local, cluster: cluster)) } catch { logger.warning("publishing members/\(config.name): \(error)") }
    }

    /// Asks every peer's /patroni in parallel with a short timeout; silent peers are left out.
    func askPeers(_ members: [MemberInfo]) async -> [PeerStatus] {
        let timeout = min(1.0, timing.retryTimeout)
        return await withTaskGroup(of: PeerStatus?.self) { group in
            for m in members where !m.apiURL.isEmpty {
                group.addTask { [peerClient] in
                    do {
                        let response = try await peerClient.execute(HTTPClientRequest(url: m.apiURL), timeout: .milliseconds(Int64(timeout * 1000)))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return PeerStatus.parse(name: m.name, json: Data(buffer: body))
                    } catch { return nil }
                }
            }
            var out: [PeerStatus] = []
            for await p in group { if let p { out.append(p) } }
            return out.sorted { $0.name < $1.name }
        }
    }
}

extension PeerStatus {
    /// Reads a peer's /patroni answer (Patroni's or ours).
    static func parse(name: String, json: Data) -> PeerStatus? {
        guard let d = (try? JSONText.parse(json)) as? [String: Any] else { return nil }
        let role = d["role"] as? String ?? ""
        let xlog = d["xlog"] as? [String: Any] ?? [:]
        let lsn = [xlog["location"], xlog["received_location"], xlog["replayed_location"]]
            .compactMap { JSONNumber.truncatedInt64($0) }.max() ?? 0
        let tags = d["tags"] as? [String: Any] ?? [:]
        return PeerStatus(name: name, isPrimary: role == "primary" || role == "master", running: (d["state"] as? String) == "running",
                          lsn: lsn, timeline: JSONNumber.truncatedInt(d["timeline"]) ?? 0,
                          nofailover: JSONNumber.bool(tags["nofailover"]) ?? false,
                          failoverPriority: JSONNumber.truncatedInt(tags["failover_priority"]) ?? 1)
    }
}
