// What `pgha list`, `topology` and `history` print: Patroni's table, or JSON / YAML rows.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import YAML

public enum OutputFormat: String, CaseIterable, Sendable { case pretty, json, yaml }

public enum ClusterTable {
    public static let columns = ["Cluster", "Member", "Host", "Role", "State", "TL", "Lag in MB", "Pending restart", "Tags"]

    static func role(_ m: MemberInfo, _ v: ClusterView) -> String {
        if m.name == v.leader { return m.role == "standby_leader" ? "Standby Leader" : "Leader" }
        if v.syncStandbys.contains(m.name) { return "Sync Standby" }
        return m.role == "primary" ? "Primary" : (m.role == "replica" ? "Replica" : m.role.capitalized)
    }

    static func state(_ m: MemberInfo, _ v: ClusterView) -> String {
        if m.name != v.leader, m.state == "running", m.role == "replica" { return m.replicationState ?? "running" }
        return m.state
    }

    static func tags(_ m: MemberInfo) -> String {
        guard m.tagsJSON != "{}", let d = JSONText.object(m.tagsJSON) else { return "" }
        return d.keys.sorted().map { "\($0): \(JSONNumber.text(d[$0]) ?? "\(d[$0]!)")" }.joined(separator: ", ")
    }

    /// One row per member (the leader first, then by name), `indent` for topology.
    public static func rows(_ v: ClusterView, scope: String, topology: Bool = false) -> [[String: Any]] {
        let ordered = v.members.sorted { a, b in
            if (a.name == v.leader) != (b.name == v.leader) { return a.name == v.leader }
            return a.name < b.name
        }
        return ordered.map { m in
            var lag: Any = ""
            if m.name != v.leader {
                if let l = v.lag(of: m) { lag = Int((Double(l) / 1_048_576).rounded(.down)) } else { lag = "unknown" }
            }
            let host = m.host.isEmpty ? "" : "\(m.host):\(m.port)"
            return ["Cluster": scope, "Member": topology && m.name != v.leader && v.leader != nil ? "+ " + m.name : m.name,
                    "Host": host, "Role": role(m, v), "State": state(m, v),
                    "TL": m.timeline == 0 ? "" : m.timeline as Any, "Lag in MB": lag,
                    "Pending restart": m.pendingRestart ? "*" : (m.scheduledRestart.map { "at \($0)" } ?? ""),
                    "Tags": tags(m)]
        }
    }

    public static func render(_ v: ClusterView, scope: String, format: OutputFormat, topology: Bool = false) -> String {
        let rows = rows(v, scope: scope, topology: topology)
        switch format {
        case .json: return ConfigEdit.encode(rows)
        case .yaml: return (try? YAMLText.dump(rows.map(plain))) ?? ""
        case .pretty:
            var text = table(columns, rows.map { r in columns.map { "\(r[$0] ?? "")" } }, title: "Cluster: \(scope) (\(v.initialize ?? "uninitialized"))")
            if v.paused { text += "\n Maintenance mode: on" }
            if let f = v.failover, let at = f.scheduledAt {
                text += "\n Switchover scheduled at: \(at)\n                    from: \(f.leader ?? "")\n                      to: \(f.member ?? "best candidate")"
            }
            return text
        }
    }

    /// Values to dump as YAML (numbers stay numbers, the rest strings).
    static func plain(_ r: [String: Any]) -> [String: Any] {
        r.mapValues { v -> Any in (v as? Int) ?? "\(v)" }
    }

    public static func history(_ v: ClusterView, format: OutputFormat) -> String {
        let cols = ["TL", "LSN", "Reason", "Timestamp", "New Leader"]
        let rows: [[String: Any]] = v.history.map { ["TL": $0.timeline, "LSN": $0.lsn, "Reason": $0.reason, "Timestamp": $0.timestamp, "New Leader": $0.newLeader] }
        switch format {
        case .json: return ConfigEdit.encode(rows)
        case .yaml: return (try? YAMLText.dump(rows.map(plain))) ?? ""
        case .pretty: return table(cols, rows.map { r in cols.map { "\(r[$0] ?? "")" } }, title: nil)
        }
    }

    /// An ASCII table in Patroni's style; numbers right-aligned.
    public static func table(_ columns: [String], _ rows: [[String]], title: String?) -> String {
        var widths = columns.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        func line(_ cells: [String]) -> String {
            "|" + cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                let numeric = !c.isEmpty && c.allSatisfy { $0.isNumber }
                return " " + (numeric ? pad + c : c + pad) + " "
            }.joined(separator: "|") + "|"
        }
        var top = rule
        if let title {
            let head = "+ \(title) "
            top = head.count < rule.count ? head + rule.dropFirst(head.count) : head
        }
        return ([top, line(columns), rule] + rows.map(line) + [rule]).joined(separator: "\n")
    }
}
