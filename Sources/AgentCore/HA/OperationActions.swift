// The I/O of the operations' actions: graceful switchover, restart, config apply, sync and failsafe keys.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import PQ

extension ActionRunner {
    func performOperation(_ action: HAAction, cluster: ClusterView?, local: LocalPostgres) async throws {
        let dynamic = dynamicParameters(cluster)
        switch action {
        case let .switchover(candidate):
            guard let cluster else { throw ActionFailure("no cluster view") }
            try await switchover(to: candidate, cluster: cluster)
        case .clearFailover:
            try await clearFailover(cluster)
        case let .restart(primary, upstreamName):
            try await postgres.stop(.fast, restart: true)
            try await postgres.start(dynamic: dynamic, upstream: try upstream(upstreamName, cluster), standby: !primary)
            try await waitRunning(timeout: 60)
        case let .applyConfig(primary, upstreamName):
            try postgres.reload(dynamic: dynamic, upstream: try upstream(upstreamName, cluster), standby: !primary, announce: true)
        case .manageSync:
            guard let cluster else { return }
            try await SyncReplication(runner: self).manage(cluster)
        case .publishFailsafe:
            guard let cluster else { return }
            if cluster.settings.failsafeMode {
                let data = try JSONText.bytes(cluster.failsafeWanted, sortedKeys: true)
                try await store.writeFailsafe(String(decoding: data, as: UTF8.self))
            } else {
                try await store.writeFailsafe(nil)
            }
        default:
            throw ActionFailure("\(action) has no executor")
        }
    }

    func waitRunning(timeout: Double) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await postgres.probe().run == .running { return }
            await renewMidAction()  // a slow start must not cost the leader its key
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        throw ActionFailure("Postgres did not accept connections within \(Int(timeout)) s")
    }

    /// Deletes the `failover` key only if it is still the request we saw (a newer one survives).
    func clearFailover(_ cluster: ClusterView?) async throws {
        guard let rev = cluster?.failover?.modRevision else { return }
        try await store.clearFailover(ifRevision: rev)
    }

    /// Lossless hand-over: CHECKPOINT (so the shutdown checkpoint is quick), fast stop, wait until
    /// the candidate has received the shutdown checkpoint, release the key (the candidate, named in
    /// `failover`, takes it and promotes), start as its replica. Before the key is released every
    /// failure puts things back: Postgres starts again as primary and the request is cleared.
    func switchover(to candidate: String, cluster: ClusterView) async throws {
        guard let target = try upstream(candidate, cluster) else { throw ActionFailure("no candidate") }
        let dynamic = dynamicParameters(cluster)
        let started = Date()
        if let f = cluster.failover, f.member == nil {
            // Name the candidate we picked, so it (and only it) takes the key we release.
            var body: [String: Any] = ["member": candidate]
            if let l = f.leader { body["leader"] = l }
            let json = String(decoding: try JSONText.bytes(body, sortedKeys: true), as: UTF8.self)
            guard try await store.replaceFailover(json, ifRevision: f.modRevision) else {
                throw ActionFailure("the switchover request changed meanwhile")
            }
        }
        _ = try? await postgres.query("CHECKPOINT")
        await renewMidAction()  // the checkpoint may have taken a while; the watchdog still guards the primary
        do {
            try await postgres.stop(.fast)
            // Patroni's safepoint: no primary runs here any more, so nothing is left to guard.
            watchdog.disarm("switchover: Postgres stopped")
            guard let checkpoint = await postgres.latestCheckpoint() else { throw ActionFailure("cannot read the shutdown checkpoint (pg_controldata)") }
            let deadline = Date().addingTimeInterval(max(2, config.timing.ttl - config.timing.loopWait - 1))
            var received: Int64 = 0
            while true {
                received = await receivedLSN(of: target)
                if received > checkpoint { break }
                if Date() > deadline {
                    throw ActionFailure("\(candidate) did not receive the shutdown checkpoint (has \(received), needs > \(checkpoint))")
                }
                await renewMidAction()
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            guard try await store.releaseLeader() else { throw ActionFailure("the leader key no longer names me") }
            logger.info("switchover: \(candidate) has the shutdown checkpoint; leader lock released after \(formatted("%.2f", Date().timeIntervalSince(started))) s")
        } catch {
            logger.warning("switchover to \(candidate) aborted: \(error); staying primary")
            try? await clearFailover(cluster)
            try? await postgres.start(dynamic: dynamic, upstream: nil, standby: false)
            throw error
        }
        try await postgres.start(dynamic: dynamic, upstream: target, standby: true)
    }

    /// pg_last_wal_receive_lsn() of a replica (0 when it cannot be asked).
    func receivedLSN(of server: UpstreamServer) async -> Int64 {
        let pg = config.postgres
        let conninfo = "host=\(server.host) port=\(server.port) user=\(pg.superuser.username) dbname=postgres passfile=\(pg.pgpass) application_name=pgha-switchover" + pg.superuser.conninfoSuffix
        let session = PGSession(conninfo: conninfo, connectTimeout: 2, label: "pgha.switchover")
        let r = try? await session.query("SELECT pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0')::bigint AS l")
        await session.close()
        return Int64(r?.value("l") ?? "") ?? 0
    }
}

extension PostgresControl {
    /// pg_controldata's "Latest checkpoint location" of a stopped server, in bytes.
    func latestCheckpoint() async -> Int64? {
        let r = await Command.run(bin("pg_controldata"), ["-D", files.dataDir], environment: ["LC_ALL": "C"], timeout: 10)
        guard r.ok else { return nil }
        for line in r.output.split(separator: "\n") where line.hasPrefix("Latest checkpoint location:") {
            return parseLSN(line.dropFirst("Latest checkpoint location:".count).trimmingSpaces())
        }
        return nil
    }
}
