// Synchronous mode on the leader: synchronous_standby_names names synchronous_node_count healthy
// standbys and the `sync` key lists only standbys that have every acknowledged commit.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

struct SyncReplication {
    let runner: ActionRunner

    /// Order keeps the `sync` key safe (it names who may be promoted): a standby leaves the key
    /// before it leaves synchronous_standby_names, and enters the key only after Postgres reports it
    /// synchronous under the current setting.
    func manage(_ cluster: ClusterView) async throws {
        let pg = runner.postgres
        let settings = cluster.settings
        let current = cluster.syncStandbys
        let ssn = try await pg.query("SELECT current_setting('synchronous_standby_names') AS s").value("s") ?? ""
        guard settings.synchronousMode else {
            if !ssn.isEmpty { try await setSSN("") }
            if cluster.syncJSON != nil { try await runner.store.writeSync(nil) }
            return
        }
        let rows = try await pg.query("""
            SELECT application_name AS n, sync_state AS s FROM pg_stat_replication
            WHERE state = 'streaming' ORDER BY flush_lsn DESC NULLS LAST
            """).rows
        let eligible = Set(cluster.members.filter { !$0.nosync }.map(\.name))
        let streaming = rows.compactMap { $0[0] }.filter { eligible.contains($0) }
        let syncState = Dictionary(rows.compactMap { r in r[0].map { ($0, r[1] ?? "") } }, uniquingKeysWith: { a, _ in a })
        var picked = current.filter { streaming.contains($0) }
        for n in streaming where picked.count < settings.synchronousNodeCount && !picked.contains(n) { picked.append(n) }
        picked = Array(picked.prefix(settings.synchronousNodeCount))

        let kept = current.filter { picked.contains($0) }
        if kept != current { try await writeSync(kept) }
        let wanted = picked.isEmpty
            ? (settings.synchronousModeStrict ? "*" : "")
            : "\(picked.count) (\(picked.map { "\"\($0)\"" }.joined(separator: ",")))"
        if ssn != wanted {
            try await setSSN(wanted)
            runner.logger.info("synchronous_standby_names = '\(wanted)'")
            return  // who is synchronous under the new setting shows from the next loop on
        }
        let confirmed = picked.filter { syncState[$0] == "sync" || syncState[$0] == "quorum" }
        if Set(confirmed) != Set(kept) || cluster.syncJSON == nil { try await writeSync(confirmed) }
    }

    func setSSN(_ value: String) async throws {
        let pg = runner.postgres
        _ = try await pg.query("ALTER SYSTEM SET synchronous_standby_names = '\(value.replacing("'", with: "''"))'")
        _ = try await pg.query("SELECT pg_reload_conf()")
    }

    func writeSync(_ names: [String]) async throws {
        let object: [String: Any] = ["leader": runner.config.name, "sync_standby": names.isEmpty ? JSONNull() : names.sorted().joined(separator: ","), "quorum": 0]
        let data = try JSONText.bytes(object, sortedKeys: true)
        try await runner.store.writeSync(String(decoding: data, as: UTF8.self))
        runner.logger.info("sync key: synchronous standby \(names.isEmpty ? "none" : names.joined(separator: ","))")
    }
}
