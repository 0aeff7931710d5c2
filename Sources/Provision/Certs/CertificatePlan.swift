// Which certificates a cluster needs, read from its inventory: one per host (server+client, every name
// a peer or client uses to reach it) and two client identities. Pure: no files, no clock.
import Foundation

public struct CertificatePlan: Equatable, Sendable {
    /// Where the CA and every certificate live (0700 directory, 0600 files).
    public var directory: String
    public var leaves: [CertificateSpec]
    public var policy: CertificatePolicy

    /// The client certificates (files `<name>-client.*`): pgha → etcd, and the operator's tools.
    public static let clientNames = ["pgha", "operator"]

    public init(directory: String, leaves: [CertificateSpec], policy: CertificatePolicy = CertificatePolicy()) {
        self.directory = directory; self.leaves = leaves; self.policy = policy
    }

    /// Every host of the inventory gets its names: inventory name, `ansible_host`, localhost and 127.0.0.1
    /// (local checks), `cluster_vip` for database and balancer hosts, and for database hosts every
    /// balancer's name and address too (HAProxy passes TLS through, so a client that dialled a
    /// balancer verifies the database host's certificate), then `tls_extra_names`.
    public init(inventory: Inventory, inventoryPath: String) throws {
        var leaves: [CertificateSpec] = []
        var firstVars: [String: Any]?
        let balancers = inventory.hosts(inGroup: "haproxy")
        func value(_ host: String, _ name: String) throws -> Any? {
            let vars = inventory.variables(forHost: host)
            guard let raw = vars[name] else { return nil }
            guard let text = raw as? String else { return raw }
            do { return try NestedVariables(vars).templater.render(text) } catch {
                throw CertificateError(.inventory, "\(inventoryPath): \(name) for host \(host): \(error)")
            }
        }
        func address(_ host: String) throws -> String { (try value(host, "ansible_host")).map { "\($0)" } ?? host }
        for host in inventory.hostNames {
            if firstVars == nil { firstVars = inventory.variables(forHost: host) }
            let groups = Set(inventory.groupNames(forHost: host))
            var names = [host, "localhost", try address(host), "127.0.0.1"]
            if groups.contains("postgres") || groups.contains("haproxy"), let vip = try value(host, "cluster_vip").map({ "\($0)" }), !vip.isEmpty {
                names.append(vip)
            }
            if groups.contains("postgres") { for b in balancers { names += [b, try address(b)] } }
            switch try value(host, "tls_extra_names") {
            case nil: break
            case let list as [Any]: names += list.map { "\($0)" }
            case let text as String: names += text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case let other?: throw CertificateError(.inventory, "\(inventoryPath): tls_extra_names for host \(host): expected a list of names, got \(other)")
            }
            leaves.append(Self.hostSpec(host, names: names))
        }
        guard let vars = firstVars else { throw CertificateError(.inventory, "\(inventoryPath): the inventory has no hosts") }
        leaves += Self.clientNames.map { CertificateSpec(name: "\($0)-client", commonName: "", usage: .client) }
        let templater = NestedVariables(vars).templater
        func text(_ name: String) throws -> String? {
            guard vars[name] != nil else { return nil }
            do { return "\(try templater.render("{{ \(name) }}"))" } catch {
                throw CertificateError(.inventory, "\(inventoryPath): \(name): \(error)")
            }
        }
        let directory: String
        if let dir = try text("tls_dir") { directory = dir }
        else if let secrets = try text("lab_secrets_dir") { directory = secrets + "/tls" }
        else { throw CertificateError(.inventory, "\(inventoryPath): set tls_dir (or lab_secrets_dir) to say where the cluster CA lives") }
        guard directory.hasPrefix("/") else { throw CertificateError(.inventory, "\(inventoryPath): tls_dir must be an absolute path, got '\(directory)'") }
        var policy = CertificatePolicy()
        for (name, keyPath) in [("tls_cert_days", \CertificatePolicy.leafDays), ("tls_renew_days", \.renewDays), ("tls_ca_days", \.caDays)] {
            guard let t = try text(name) else { continue }
            guard let n = Int(t), n > 0 else { throw CertificateError(.inventory, "\(inventoryPath): \(name) must be a positive number of days, got '\(t)'") }
            policy[keyPath: keyPath] = n
        }
        guard policy.renewDays < policy.leafDays else {
            throw CertificateError(.inventory, "\(inventoryPath): tls_renew_days (\(policy.renewDays)) must be below tls_cert_days (\(policy.leafDays)), or every run would renew")
        }
        self.init(directory: directory, leaves: leaves, policy: policy)
    }

    /// A host's spec: names sorted into DNS names and IP addresses, duplicates dropped, order kept.
    static func hostSpec(_ host: String, names: [String]) -> CertificateSpec {
        var seen = Set<String>(), dns: [String] = [], ips: [String] = []
        for name in names where !name.isEmpty && seen.insert(name).inserted {
            if CertificateAuthority.ipBytes(name) != nil { ips.append(name) } else { dns.append(name) }
        }
        return CertificateSpec(name: host, commonName: host, usage: .serverAndClient, dnsNames: dns, ipAddresses: ips)
    }
}

/// Lifetimes, each with its reason.
public struct CertificatePolicy: Equatable, Sendable {
    /// Host and client certificates: a year, renewed by any `provision certs` / `up` run in the last month.
    public var leafDays = 365
    /// Renew when fewer days than this remain: a monthly run always catches it in time.
    public var renewDays = 30
    /// The CA: ten years, because replacing it means re-trusting it on every host and client.
    public var caDays = 3650
    public init() {}
}
