// The cluster as its agents see it (pgha's /cluster, Patroni's shape), fetched over the
// engine's transport from the first database host that answers, and printed as a table.
import Foundation

public struct ClusterMember: Equatable, Sendable {
    public var name: String
    public var host: String
    public var role: String      // leader | standby_leader (DR site) | replica | sync_standby
    public var state: String     // running | streaming | stopped | …
    public var timeline: Int?
    public var lagBytes: Int64?  // nil: unknown (or the leader)
}

public struct ClusterStatus: Equatable, Sendable {
    public var scope: String
    public var members: [ClusterMember]

    public var leader: ClusterMember? { members.first { $0.role == "leader" } }

    /// Parses the body of GET /cluster.
    public init(clusterJSON text: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let members = object["members"] as? [[String: Any]] else {
            throw WorkflowError("pgha /cluster answered something that is not Patroni's cluster JSON: \(text.prefix(200))")
        }
        scope = object["scope"] as? String ?? ""
        self.members = members.map { m in
            ClusterMember(name: m["name"] as? String ?? "?", host: m["host"] as? String ?? "",
                          role: m["role"] as? String ?? "", state: m["state"] as? String ?? "",
                          timeline: (m["timeline"] as? NSNumber)?.intValue,
                          lagBytes: (m["lag"] as? NSNumber)?.int64Value)
        }.sorted { $0.name < $1.name }
    }

    public init(scope: String, members: [ClusterMember]) {
        self.scope = scope
        self.members = members
    }

    /// `pgha list`-style table: Cluster | Member | Host | Role | State | TL | Lag in MB.
    public var table: String {
        let header = ["Cluster", "Member", "Host", "Role", "State", "TL", "Lag in MB"]
        let rows = members.map { m -> [String] in
            let role = ["leader": "Leader", "standby_leader": "Standby Leader", "sync_standby": "Sync Standby"][m.role] ?? "Replica"
            let leads = m.role == "leader" || m.role == "standby_leader"  // a DR site's standby leader (docs/cluster.md)
            let lag = leads ? "" : (m.lagBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "unknown")
            return [scope, m.name, m.host, role, m.state, m.timeline.map(String.init) ?? "", lag]
        }
        return TextTable(header: header, rows: rows).rendered
    }

    /// Asks the database hosts of `inventory`, in order, for GET /cluster (through the
    /// `pgha-api` helper the playbooks install); the first answer wins.
    public static func fetch(inventory: Inventory, group: String = "postgres", excluding down: [String] = []) throws -> ClusterStatus {
        var reasons: [String] = []
        for host in inventory.hosts(inGroup: group) where !down.contains(host) {
            do {
                let transport = try Connector.transport(forHost: host, variables: inventory.variables(forHost: host))
                defer { transport.close() }
                let result = try transport.run("PGHA_API_TIMEOUT=5 pgha-api GET /cluster")
                guard result.exitStatus == 0 else {
                    reasons.append("\(host): pgha-api GET /cluster exit \(result.exitStatus) \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                    continue
                }
                return try ClusterStatus(clusterJSON: result.stdout)
            } catch {
                reasons.append("\(error)")
            }
        }
        throw WorkflowError("no database host answered for the cluster's state: " + reasons.joined(separator: "; "))
    }
}

/// A plain text table with a header rule, columns padded to their widest cell.
public struct TextTable: Sendable {
    public var header: [String]
    public var rows: [[String]]
    public init(header: [String], rows: [[String]]) { self.header = header; self.rows = rows }

    public var rendered: String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            header.indices.map { c in
                let cell = c < cells.count ? cells[c] : ""
                return cell + String(repeating: " ", count: widths[c] - cell.count)
            }.joined(separator: " | ").trimmingCharacters(in: .whitespaces)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
