// The JSON bodies of /patroni, /cluster, /history and /config, in Patroni's field names.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public enum StatusJSON {
    static func encode(_ object: Any) -> String {
        (try? JSONText.bytes(object, sortedKeys: true, escapeSlashes: false)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public static func patroni(_ s: AgentSnapshot) -> [String: Any] {
        let l = s.local
        var d: [String: Any] = [
            "state": s.stateWord,
            "role": s.roleWord,
            "tags": s.config.tags.asJSON,
            "patroni": ["version": pghaVersion, "scope": s.config.scope, "name": s.name],
            "cluster_unlocked": s.cluster?.leader == nil,
        ]
        if s.cluster?.paused == true { d["pause"] = true }
        // Patroni's key, and ours beside it: the configured mode and whether the device is armed now.
        if s.watchdogFailed { d["watchdog_failed"] = true }
        if s.config.watchdog.mode != .off {
            d["watchdog"] = ["mode": s.config.watchdog.mode.rawValue, "device": s.config.watchdog.device, "armed": s.watchdogArmed]
        }
        if let t = s.lastEtcdContact { d["dcs_last_seen"] = Int(t.timeIntervalSince1970) }
        // Ours, beside Patroni's keys: which initdb or clone made the data directory.
        if let id = l.dataIdentity { d["data_identity"] = id }
        if l.run == .running {
            d["postmaster_start_time"] = l.postmasterStartTime ?? ""
            d["server_version"] = l.serverVersion
            d["timeline"] = l.timeline
            d["database_system_identifier"] = l.systemIdentifier ?? ""
            d["pending_restart"] = l.pendingRestart
            if l.inRecovery {
                var x: [String: Any] = ["received_location": l.receivedLSN, "replayed_location": l.replayedLSN, "paused": l.replayPaused]
                if let ts = l.replayedTimestamp { x["replayed_timestamp"] = ts }
                d["xlog"] = x
                d["replication_state"] = l.streaming ? "streaming" : "in archive recovery"
            } else {
                d["xlog"] = ["location": l.writeLSN]
            }
        }
        return d
    }

    public static func cluster(_ s: AgentSnapshot) -> [String: Any] {
        let view = s.cluster ?? ClusterView()
        let sync = Set(s.syncStandbys)
        let members: [[String: Any]] = view.members.map { m in
            var d: [String: Any] = [
                "name": m.name,
                "role": m.name == view.leader ? (m.role == "standby_leader" ? "standby_leader" : "leader") : (sync.contains(m.name) ? "sync_standby" : m.role),
                // As Patroni ≥ 3.0.4: a running replica shows its replication state ("streaming"
                // only while its WAL receiver streams, else "in archive recovery").
                "state": m.state == "running" && m.role == "replica" ? (m.replicationState ?? m.state) : m.state,
                "api_url": m.apiURL, "host": m.host, "port": m.port, "timeline": m.timeline,
            ]
            if m.tagsJSON != "{}", let tags = try? JSONText.parse(m.tagsJSON) { d["tags"] = tags }
            if m.pendingRestart { d["pending_restart"] = true }
            if let at = m.scheduledRestart { d["scheduled_restart"] = ["schedule": at] }
            if m.name != view.leader {
                if let optime = view.leaderOptime, m.state == "running" { d["lag"] = max(0, optime - m.xlogLocation) } else { d["lag"] = "unknown" }
            }
            return d
        }
        return ["members": members, "scope": s.config.scope, "pause": view.paused]
    }

    public static func history(_ s: AgentSnapshot) -> [[Any]] { (s.cluster?.history ?? []).map(\.json) }

    public static func config(_ s: AgentSnapshot) -> String { s.cluster?.config?.raw ?? DynamicConfig.from(s.config).raw }
}
