// `provision uri`: libpq connection URIs for the cluster, read from the inventory. Three ways in:
// a multi-host URI over the database hosts (libpq tries each and keeps the one whose role
// matches target_session_attrs: no balancer on the path), the floating address (cluster_vip,
// keepalived → HAProxy), and each HAProxy balancer. Passwords are never part of a URI: libpq
// reads them from ~/.pgpass or PGPASSWORD.
import Foundation

public struct ConnectionURIs: Sendable, Equatable {
    public enum Role: String, CaseIterable, Sendable {
        case primary, replica, any
        /// libpq's target_session_attrs: `any` prefers a standby and falls back to the primary.
        var sessionAttrs: String {
            switch self {
            case .primary: return "read-write"
            case .replica: return "standby"
            case .any: return "prefer-standby"
            }
        }
    }

    public struct Line: Sendable, Equatable {
        public var label: String
        public var uri: String
        public var note: String
    }

    public var lines: [Line]

    /// The inputs, already rendered from the inventory (see `init(inventory:…)`).
    public struct Cluster: Sendable, Equatable {
        public var databases: [(name: String, address: String)]
        public var balancers: [(name: String, address: String)]
        public var directPort: Int
        public var primaryPort: Int
        public var replicaPort: Int
        public var vip: String?
        /// The cluster CA on this machine: every URI then verifies the server (sslmode=verify-full).
        public var caFile: String? = nil
        public static func == (a: Cluster, b: Cluster) -> Bool {
            a.databases.map(\.name) == b.databases.map(\.name) && a.databases.map(\.address) == b.databases.map(\.address)
                && a.balancers.map(\.name) == b.balancers.map(\.name) && a.directPort == b.directPort
                && a.primaryPort == b.primaryPort && a.replicaPort == b.replicaPort && a.vip == b.vip && a.caFile == b.caFile
        }
    }

    public init(cluster c: Cluster, role: Role, user: String, dbname: String) {
        func uri(_ hosts: [String], port: Int, query: [String]) -> String {
            let auth = Self.escape(user) + "@"
            let hostList = hosts.map { "\($0):\(port)" }.joined(separator: ",")
            let tls = c.caFile.map { ["sslmode=verify-full", "sslrootcert=" + Self.escape($0)] } ?? []
            let q = (["connect_timeout=2"] + query + tls).joined(separator: "&")
            return "postgresql://\(auth)\(hostList)/\(Self.escape(dbname))?\(q)"
        }
        let balancerPort = role == .primary ? c.primaryPort : c.replicaPort
        let through = role == .primary ? "the primary" : "a replica"
        var lines = [Line(label: "hosts", uri: uri(c.databases.map(\.address), port: c.directPort, query: ["target_session_attrs=\(role.sessionAttrs)"]),
                          note: "libpq tries \(c.databases.map(\.name).joined(separator: ", ")) in turn and keeps one that is \(role == .primary ? "writable" : role == .replica ? "a standby" : "a standby, else the primary")")]
        if let vip = c.vip {
            lines.append(Line(label: "vip", uri: uri([vip], port: balancerPort, query: []),
                              note: "floating address (keepalived) → HAProxy :\(balancerPort) → \(through)"))
        }
        for b in c.balancers {
            lines.append(Line(label: b.name, uri: uri([b.address], port: balancerPort, query: []),
                              note: "HAProxy on \(b.name) :\(balancerPort) → \(through)"))
        }
        self.lines = lines
    }

    /// Reads hosts, ports and cluster_vip from the inventory (as the first database host sees them).
    public init(inventory: Inventory, inventoryPath: String, role: Role, user: String?, dbname: String?) throws {
        func hosts(_ group: String) -> [(name: String, address: String)] {
            inventory.hosts(inGroup: group).map { ($0, inventory.variables(forHost: $0)["ansible_host"] as? String ?? $0) }
        }
        let databases = hosts("postgres")
        guard let first = databases.first else { throw WorkflowError("\(inventoryPath): group 'postgres' has no hosts") }
        let vars = inventory.variables(forHost: first.name)
        let templater = NestedVariables(vars).templater
        func value(_ name: String) throws -> String? {
            guard vars[name] != nil else { return nil }
            do { return "\(try templater.render("{{ \(name) }}"))" } catch { throw WorkflowError("\(inventoryPath): \(name): \(error)") }
        }
        func port(_ name: String, default d: Int? = nil) throws -> Int {
            guard let text = try value(name) else {
                if let d { return d }
                throw WorkflowError("\(inventoryPath): variable '\(name)' is not defined for \(first.name)")
            }
            guard let p = Int(text), (1...65535).contains(p) else { throw WorkflowError("\(inventoryPath): \(name) is not a port number: \(text)") }
            return p
        }
        // Straight to Postgres even with PgBouncer on: PgBouncer replays the startup parameters
        // it cached when its pool first logged in (in_hot_standby, default_transaction_read_only),
        // so after a switchover libpq's target_session_attrs would judge a host by its old role.
        let cluster = Cluster(databases: databases, balancers: hosts("haproxy"),
                              directPort: try port("postgres_port"),
                              primaryPort: try port("haproxy_primary_port"), replicaPort: try port("haproxy_replica_port"),
                              vip: try value("cluster_vip").flatMap { $0.isEmpty ? nil : $0 },
                              caFile: (try? CertificatePlan(inventory: inventory, inventoryPath: inventoryPath)).map { $0.directory + "/ca.crt" })
        self.init(cluster: cluster, role: role, user: try user ?? value("postgres_superuser") ?? "postgres", dbname: dbname ?? "postgres")
    }

    /// Percent-encoding for the user and database parts of a URI (RFC 3986 unreserved kept).
    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
