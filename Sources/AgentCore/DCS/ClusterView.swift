// What etcd says about the cluster, in Patroni's etcd3 layout, as plain values the decision reads.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// members/<name>: Patroni's member JSON.
public struct MemberInfo: Equatable, Sendable {
    public var name: String
    public var role: String = "replica"          // primary | replica | uninitialized
    public var state: String = "stopped"         // running | streaming | starting | stopped | crashed | …
    public var apiURL: String = ""
    public var connURL: String = ""
    public var timeline: Int = 0
    /// Last WAL position: current on a primary, max(received, replayed) on a replica.
    public var xlogLocation: Int64 = 0
    public var nofailover = false
    public var noloadbalance = false
    public var clonefrom = false
    public var failoverPriority = 1
    public var pendingRestart = false
    /// replication_state of a replica ("streaming", "in archive recovery").
    public var replicationState: String?
    /// scheduled_restart.schedule, when a restart is scheduled on the member.
    public var scheduledRestart: String?
    /// The tags object as stored, for /cluster.
    public var tagsJSON: String = "{}"
    public init(name: String) { self.name = name }

    public var host: String { URLComponents(string: connURL)?.host ?? "" }
    public var port: Int { URLComponents(string: connURL)?.port ?? 5432 }

    public static func parse(name: String, json: String) -> MemberInfo {
        var m = MemberInfo(name: name)
        guard let d = JSONText.object(json) else { return m }
        m.role = (d["role"] as? String).map { $0 == "master" ? "primary" : $0 } ?? m.role
        m.state = d["state"] as? String ?? m.state
        m.apiURL = d["api_url"] as? String ?? ""
        m.connURL = d["conn_url"] as? String ?? ""
        m.timeline = JSONNumber.truncatedInt(d["timeline"]) ?? 0
        m.xlogLocation = JSONNumber.truncatedInt64(d["xlog_location"]) ?? 0
        m.pendingRestart = JSONNumber.bool(d["pending_restart"]) ?? false
        m.replicationState = d["replication_state"] as? String
        m.scheduledRestart = (d["scheduled_restart"] as? [String: Any])?["schedule"] as? String
        if let tags = d["tags"] as? [String: Any] {
            m.nofailover = JSONNumber.bool(tags["nofailover"]) ?? false
            m.noloadbalance = JSONNumber.bool(tags["noloadbalance"]) ?? false
            m.clonefrom = JSONNumber.bool(tags["clonefrom"]) ?? false
            m.failoverPriority = JSONNumber.truncatedInt(tags["failover_priority"]) ?? 1
            m.tagsJSON = (try? JSONText.bytes(tags, sortedKeys: true, escapeSlashes: false)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
        return m
    }
}

/// One line of the history key: [timeline, lsn, reason, timestamp, new_leader].
public struct HistoryEntry: Equatable, Sendable {
    public var timeline: Int
    public var lsn: Int64
    public var reason: String
    public var timestamp: String
    public var newLeader: String
    public init(timeline: Int, lsn: Int64, reason: String, timestamp: String, newLeader: String) {
        self.timeline = timeline; self.lsn = lsn; self.reason = reason; self.timestamp = timestamp; self.newLeader = newLeader
    }
    /// Patroni's row: timestamp and new leader only when known (a taken-over server's older switches have neither).
    public var json: [Any] { timestamp.isEmpty && newLeader.isEmpty ? [timeline, lsn, reason] : [timeline, lsn, reason, timestamp, newLeader] }

    /// The lines of a Postgres timeline history file ("1\t0/3000060\tno recovery target specified"):
    /// parent timeline, switch point, reason; comments and blank lines skipped.
    public static func parseHistoryFile(_ text: String) -> [HistoryEntry] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let cols = line.split(separator: "\t", maxSplits: 2).map { $0.trimmingSpaces() }
            guard cols.count >= 2, let tl = Int(cols[0]), let lsn = parseLSN(cols[1]) else { return nil }
            return HistoryEntry(timeline: tl, lsn: lsn, reason: cols.count > 2 ? cols[2] : "", timestamp: "", newLeader: "")
        }
    }
}

/// The `config` key: Patroni's dynamic configuration (only the fields pgha acts on are typed).
public struct DynamicConfig: Equatable, Sendable {
    public var timing: Timing
    public var usePgRewind: Bool
    public var parameters: [String: String]
    /// postgresql.pg_hba of the key (nil: none there).
    public var pgHBA: [String]? = nil
    /// standby_cluster of the key (nil: a primary cluster; removing it promotes the standby leader).
    public var standbyCluster: StandbyCluster? = nil
    /// The whole object as stored, so keys pgha does not know survive a rewrite.
    public var raw: String

    public static func from(_ c: AgentConfig) -> DynamicConfig {
        let t = c.timing
        var object = PatroniTimingKeys.json(t)
        var pg: [String: Any] = ["use_pg_rewind": c.usePgRewind, "use_slots": true, "parameters": c.dcsParameters]
        if !c.dcsPgHBA.isEmpty { pg["pg_hba"] = c.dcsPgHBA }
        object["postgresql"] = pg
        for (k, v) in c.dcsSwitches { object[k] = v }
        if let n = c.dcsSynchronousNodeCount { object["synchronous_node_count"] = n }
        if let standby = c.dcsStandbyCluster { object["standby_cluster"] = standby.json }
        let raw = (try? JSONText.bytes(object, sortedKeys: true, escapeSlashes: false)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return DynamicConfig(timing: t, usePgRewind: c.usePgRewind, parameters: c.dcsParameters,
                             pgHBA: c.dcsPgHBA.isEmpty ? nil : c.dcsPgHBA, standbyCluster: c.dcsStandbyCluster, raw: raw)
    }

    /// Reads the stored JSON over `base` (values missing or malformed keep the base's).
    public static func parse(_ json: String, base: AgentConfig) -> DynamicConfig {
        var dc = from(base)
        guard let d = JSONText.object(json) else { return dc }
        dc.raw = json
        dc.standbyCluster = StandbyCluster.parse(d["standby_cluster"])  // the key's own, never bootstrap.dcs's
        var t = dc.timing
        PatroniTimingKeys.apply(d, to: &t)
        if t.invalid == nil { dc.timing = t.adjusted.timing }  // Patroni's way: unsafe timing adjusted, not obeyed
        if let pg = d["postgresql"] as? [String: Any] {
            if let v = JSONNumber.bool(pg["use_pg_rewind"]) { dc.usePgRewind = v }
            dc.pgHBA = (pg["pg_hba"] as? [Any])?.compactMap { $0 as? String }
            if let p = pg["parameters"] as? [String: Any] {
                dc.parameters = p.mapValues { v in JSONNumber.text(v) ?? "\(v)" }
            }
        }
        return dc
    }
}

/// The failover key: {leader, member, scheduled_at} (acted on by issue-4 switchover logic).
public struct FailoverRequest: Equatable, Sendable {
    public var leader: String?
    public var member: String?
    public var scheduledAt: String?
    public var modRevision: Int64
    public init(leader: String?, member: String?, scheduledAt: String?, modRevision: Int64) {
        self.leader = leader; self.member = member; self.scheduledAt = scheduledAt; self.modRevision = modRevision
    }
}

/// Everything under /<namespace>/<scope>/ at one etcd revision.
public struct ClusterView: Equatable, Sendable {
    public var leader: String?
    public var leaderModRevision: Int64 = 0
    public var members: [MemberInfo] = []
    /// The initialize key (the system identifier; "" while the winner is still bootstrapping).
    public var initialize: String?
    public var config: DynamicConfig?
    public var configModRevision: Int64 = 0
    public var history: [HistoryEntry] = []
    /// status.optime: the leader's last published WAL position.
    public var leaderOptime: Int64?
    public var failover: FailoverRequest?
    public var syncJSON: String?
    public var failsafeJSON: String?
    public var revision: Int64 = 0
    public init() {}

    public func member(_ name: String) -> MemberInfo? { members.first { $0.name == name } }

    /// Builds the view from a range over the prefix.
    public static func from(_ kvs: [KeyValue], prefix: String, revision: Int64, base: AgentConfig) -> ClusterView {
        var view = ClusterView()
        view.revision = revision
        for kv in kvs where kv.key.hasPrefix(prefix) {
            let key = String(kv.key.dropFirst(prefix.count))
            switch key {
            case "leader": view.leader = kv.value; view.leaderModRevision = kv.modRevision
            case "initialize": view.initialize = kv.value
            case "config": view.config = DynamicConfig.parse(kv.value, base: base); view.configModRevision = kv.modRevision
            case "history": view.history = parseHistory(kv.value)
            case "status", "optime/leader":
                if let d = JSONText.object(kv.value) {
                    view.leaderOptime = JSONNumber.truncatedInt64(d["optime"])
                } else if let v = Int64(kv.value) { view.leaderOptime = v }
            case "failover":
                let d = JSONText.object(kv.value) ?? [:]
                view.failover = FailoverRequest(leader: d["leader"] as? String, member: d["member"] as? String,
                                                scheduledAt: d["scheduled_at"] as? String, modRevision: kv.modRevision)
            case "sync": view.syncJSON = kv.value
            case "failsafe": view.failsafeJSON = kv.value
            default:
                if key.hasPrefix("members/") {
                    view.members.append(MemberInfo.parse(name: String(key.dropFirst("members/".count)), json: kv.value))
                }
            }
        }
        view.members.sort { $0.name < $1.name }
        return view
    }

    static func parseHistory(_ json: String) -> [HistoryEntry] {
        guard let rows = (try? JSONText.parse(json)) as? [[Any]] else { return [] }
        return rows.compactMap { r in
            guard r.count >= 2, let tl = JSONNumber.truncatedInt(r[0]), let lsn = JSONNumber.truncatedInt64(r[1]) else { return nil }
            return HistoryEntry(timeline: tl, lsn: lsn, reason: r.count > 2 ? "\(r[2])" : "",
                                timestamp: r.count > 3 ? "\(r[3])" : "", newLeader: r.count > 4 ? "\(r[4])" : "")
        }
    }
}
