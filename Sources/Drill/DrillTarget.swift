// What a drill needs to know about the cluster, read from the inventory: the database hosts and
// their addresses, the balancers, ports, scope and the superuser's credentials (rendered, so a
// generated lookup('password') is read from where `provision up` keeps it).
import Foundation
import Provision

public struct DrillError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public struct DrillTarget: Sendable {
    public struct Node: Sendable, Hashable {
        public var name: String
        public var address: String
    }
    public var databases: [Node]
    public var etcdMembers: [Node]
    public var balancers: [Node]
    public var primaryPort: Int
    public var replicaPort: Int
    public var postgresPort: Int
    public var restPort: Int
    public var etcdPort: Int
    public var leaderKey: String
    public var dataDir: String
    /// The floating address (cluster_vip) when the inventory sets one: clients write through it.
    public var vip: String?
    var user: String
    var password: String
    /// REST and etcd calls: HTTPS against the cluster CA, logged in to etcd (docs/security.md).
    let http: ClusterHTTP
    /// The cluster CA on this machine, when there is one: every libpq connection verifies the server.
    var caFile: String?

    public init(inventory: Inventory, inventoryPath: String) throws {
        func hostsOf(_ group: String) throws -> [Node] {
            try inventory.hosts(inGroup: group).map { h in
                guard let a = inventory.variables(forHost: h)["ansible_host"] as? String ?? Optional(h) else { throw DrillError("\(h): no address") }
                return Node(name: h, address: a)
            }
        }
        databases = try hostsOf("postgres")
        etcdMembers = try hostsOf("etcd")
        balancers = try hostsOf("haproxy")
        guard let first = databases.first else { throw DrillError("\(inventoryPath): group 'postgres' has no hosts") }
        guard !balancers.isEmpty else { throw DrillError("\(inventoryPath): group 'haproxy' has no hosts: the drill writes through the cluster's entry") }
        let vars = inventory.variables(forHost: first.name)
        let t = NestedVariables(vars).templater
        func value(_ name: String) throws -> String {
            guard vars[name] != nil else { throw DrillError("\(inventoryPath): variable '\(name)' is not defined for \(first.name)") }
            do { return "\(try t.render("{{ \(name) }}"))" } catch { throw DrillError("\(inventoryPath): \(name): \(error)") }
        }
        func port(_ name: String) throws -> Int {
            guard let p = Int(try value(name)) else { throw DrillError("\(inventoryPath): \(name) is not a port number") }
            return p
        }
        primaryPort = try port("haproxy_primary_port")
        replicaPort = try port("haproxy_replica_port")
        postgresPort = try port("postgres_port")
        restPort = try port("pgha_rest_port")
        etcdPort = try port("etcd_client_port")
        let namespace = try value("pgha_namespace")
        leaderKey = (namespace.hasSuffix("/") ? namespace : namespace + "/") + (try value("cluster_name")) + "/leader"
        dataDir = try value("postgres_data_dir")
        vip = vars["cluster_vip"] == nil ? nil : try value("cluster_vip")
        if vip?.isEmpty == true { vip = nil }
        user = try value("postgres_superuser")
        password = try value("postgres_superuser_password")
        // The CA `provision up` made on this machine: without it, a cluster without TLS (plain HTTP).
        let tlsDir = (try? CertificatePlan(inventory: inventory, inventoryPath: inventoryPath))?.directory
        let ca = tlsDir.map { $0 + "/ca.crt" }.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let login = vars["etcd_pgha_password"] == nil ? nil
            : ClusterHTTP.EtcdLogin(user: (try? value("etcd_pgha_user")) ?? "pgha", password: try value("etcd_pgha_password"))
        caFile = ca
        do {
            http = try ClusterHTTP(caFile: ca, certFile: tlsDir.map { $0 + "/operator-client.crt" },
                                   keyFile: tlsDir.map { $0 + "/operator-client.key" }, etcdLogin: ca == nil ? nil : login)
        } catch { throw DrillError("\(inventoryPath): the cluster's TLS files in \(tlsDir ?? "?"): \(error)") }
    }

    /// libpq conninfo with bounded connect, keepalives and a TCP user timeout, so a call to a host
    /// that vanished fails within seconds instead of hanging on a dead connection.
    func conninfo(host: String, port: Int, extra: String = "") -> String {
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
        return "host=\(host) port=\(port) user=\(q(user)) password=\(q(password)) dbname=postgres application_name=provision-drill "
            + "connect_timeout=2 keepalives=1 keepalives_idle=1 keepalives_interval=1 keepalives_count=2 tcp_user_timeout=2000 "
            + (caFile.map { "sslmode=verify-full sslrootcert=\(q($0)) " } ?? "") + extra
    }

    /// Where clients come in: the floating address, else the first balancer.
    var entryHost: String { vip ?? balancers[0].address }
    var entry: String { conninfo(host: entryHost, port: primaryPort) }
    var readEntry: String { conninfo(host: entryHost, port: replicaPort) }
    func direct(_ node: Node) -> String { conninfo(host: node.address, port: postgresPort, extra: "options='-c statement_timeout=1500'") }

    // MARK: the cluster as etcd and the agents tell it, straight from the control machine

    /// The member named by the leader key (any etcd member that answers).
    func leaderKeyHolder() -> String?? {
        let body = #"{"key":"\#(Data(leaderKey.utf8).base64EncodedString())"}"#
        for m in etcdMembers {
            guard let r = http.etcdJSON(m.address, etcdPort, "/v3/kv/range", body: body, timeout: 0.4) else { continue }
            guard let kvs = r["kvs"] as? [[String: Any]], let v = kvs.first?["value"] as? String,
                  let d = Data(base64Encoded: v) else { return .some(nil) }
            return .some(String(decoding: d, as: UTF8.self))
        }
        return nil
    }

    /// The etcd member that leads the etcd cluster now.
    func etcdLeader() -> Node? {
        var ids: [String: Node] = [:]
        var leader: String?
        for m in etcdMembers {
            guard let r = http.etcdJSON(m.address, etcdPort, "/v3/maintenance/status", body: "{}", timeout: 1),
                  let header = r["header"] as? [String: Any], let id = header["member_id"] as? String else { continue }
            ids[id] = m
            leader = r["leader"] as? String ?? leader
        }
        return leader.flatMap { ids[$0] }
    }

    /// The agents' time-to-live (dynamic config `ttl`), from any agent's GET /config.
    func ttl() -> Double {
        for n in databases {
            if let c = http.json(n.address, restPort, "GET", "/config", timeout: 1), let t = c["ttl"] as? NSNumber { return t.doubleValue }
        }
        return 30
    }

    /// The cluster's dynamic `synchronous_mode` (any agent's GET /config), nil when none answers.
    func synchronousMode() -> Bool? {
        for n in databases {
            if let c = http.json(n.address, restPort, "GET", "/config", timeout: 1) {
                return (c["synchronous_mode"] as? Bool) ?? ((c["synchronous_mode"] as? String).map { $0 == "true" || $0 == "on" } ?? false)
            }
        }
        return nil
    }

    /// Whether /cluster (any agent) shows a synchronous standby that streams.
    func syncStandbyStreams() -> Bool {
        for n in databases {
            guard let c = http.json(n.address, restPort, "GET", "/cluster", timeout: 1),
                  let members = c["members"] as? [[String: Any]] else { continue }
            return members.contains { $0["role"] as? String == "sync_standby" && $0["state"] as? String == "streaming" }
        }
        return false
    }

    /// Whether the primary's watchdog is armed (GET /patroni `watchdog.armed`), for the report; nil
    /// when no primary answered or its agent does not say.
    func watchdogInUse() -> Bool? {
        for n in databases {
            guard let p = http.json(n.address, restPort, "GET", "/patroni", timeout: 1), p["role"] as? String == "primary" else { continue }
            if let w = p["watchdog"] as? [String: Any], let armed = w["armed"] as? Bool { return armed }
            if p["watchdog_failed"] as? Bool == true { return false }
        }
        return nil
    }
}
