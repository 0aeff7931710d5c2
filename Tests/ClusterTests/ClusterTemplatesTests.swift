// The cluster's templates rendered for the lab inventory with the engine's template language,
// then judged by the programs that read them: pgha's own config loader, `haproxy -c`.
import AgentCore
import Fixtures
import Foundation
import Testing
@testable import Provision

/// Renders templates/ for one host of an inventory the way a play does: inventory variables,
/// Ansible's magic variables and hostvars, nested `{{ }}` in variables resolved on use.
struct TemplateHost {
    let inventory: Inventory
    let host: String
    /// Where lookup('password') keeps the generated secrets for this rendering (never the
    /// inventory's own lab_secrets_dir, which may belong to a lab a user runs); `cleanup()` removes it.
    let secretsDir = NSTemporaryDirectory() + "template-secrets-" + UUID().uuidString.prefix(8)

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    init(inventory: String, host: String) throws {
        self.inventory = try Inventory.load(path: Self.root + "/" + inventory)
        self.host = host
    }

    func variables(for name: String) -> [String: Any] {
        var vars = inventory.variables(forHost: name).merging(inventory.magicVariables(forHost: name)) { $1 }
        var hostvars: [String: Any] = [:]
        for h in inventory.hostNames { hostvars[h] = inventory.variables(forHost: h).merging(["lab_secrets_dir": secretsDir]) { $1 } }
        vars["hostvars"] = hostvars
        vars["lab_secrets_dir"] = secretsDir
        return vars
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: secretsDir) }

    var lookup: (String) -> Any? {
        let vars = variables(for: host)
        func resolve(_ name: String) -> Any? {
            guard let value = vars[name] else { return nil }
            if let s = value as? String, s.contains("{{") { return try? Templater(lookup: resolve).render(s) }
            return value
        }
        return resolve
    }

    func render(_ template: String) throws -> String {
        try StencilTemplate(path: Self.root + "/templates/" + template).render(lookup: lookup)
    }
}

@Suite struct ClusterTemplatesTests {
    @Test func pghaConfigIsAcceptedByPgha() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg2")
        defer { host.cleanup() }
        let text = try host.render("pgha.yml.j2")
        let loaded = try ConfigLoader.parse(text, file: "pgha.yml")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let c = loaded.config
        let address = try #require(host.inventory.variables(forHost: "pg2")["ansible_host"] as? String)
        #expect(c.scope == "demo" && c.name == "pg2")
        #expect(c.restConnect.description == "\(address):8008")
        #expect(c.postgres.connectAddress.description == "\(address):5432")
        #expect(c.postgres.dataDir == "/var/lib/postgresql/15/demo")
        #expect(c.etcdEndpoints.count == host.inventory.hosts(inGroup: "etcd").count)
        #expect(c.dcsParameters["max_connections"] == "100")
        #expect(c.postgres.parameters["unix_socket_directories"] == "/var/run/postgresql")
        #expect(c.restAuth?.username == "pgha" && c.postgres.replication.username == "replicator")
        // group_vars/postgres.yml: Patroni's automatic mode on the lab's emulated device, fired 4 s after a renewal.
        #expect(c.watchdog.mode == .automatic && c.watchdog.device == "/dev/watchdog" && c.watchdog.safetyMargin == 2)
        #expect(c.watchdog.timingProblem(c.timing) == nil)
        // The passwords are generated (lookup('password')), stored 0600 and read back the same.
        let stored = try String(contentsOfFile: host.secretsDir + "/postgres_superuser_password", encoding: .utf8)
        #expect(c.postgres.superuser.password.map { $0 + "\n" } == stored && stored.count == 21)
        #expect(c.postgres.replication.password != c.postgres.superuser.password)
        #expect(try host.render("pgha.yml.j2") == text)
    }

    @Test func etcdEnvironmentNamesEveryMember() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        var vars = host.lookup
        let base = vars
        vars = { $0 == "etcd_cluster_state" ? "new" : base($0) }
        let text = try StencilTemplate(path: TemplateHost.root + "/templates/etcd.env.j2").render(lookup: vars)
        let members = host.inventory.hosts(inGroup: "etcd").map { h in
            "\(h)=http://\(host.inventory.variables(forHost: h)["ansible_host"] as? String ?? "?"):2380"
        }
        #expect(text.contains("ETCD_INITIAL_CLUSTER=" + members.joined(separator: ",") + "\n"))
        #expect(text.contains("ETCD_DATA_DIR=/var/lib/etcd/demo\n"))
        #expect(text.contains("ETCD_INITIAL_CLUSTER_STATE=new\n"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")))
    func haproxyConfigPassesHaproxyCheck() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "lb1")
        defer { host.cleanup() }
        let text = try host.render("haproxy.cfg.j2")
        for db in host.inventory.hosts(inGroup: "postgres") {
            #expect(text.contains("server \(db) "))
        }
        #expect(text.contains("option httpchk OPTIONS /primary") && text.contains("option httpchk OPTIONS /replica"))
        let dir = try makeTempDir("haproxy-cfg")
        defer { removeTree(dir) }
        // The stats socket's directory exists on a host with the package; not necessarily here.
        let path = dir + "/haproxy.cfg"
        try text.replacingOccurrences(of: "/run/haproxy/admin.sock", with: dir + "/admin.sock")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
        check.arguments = ["-c", "-q", "-f", path]
        let err = Pipe()
        check.standardError = err
        check.standardOutput = err
        try check.run()
        let output = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "haproxy -c: \(output)")
    }

    /// The REST helper renders to a script bash accepts (`{#` in shell would start a comment).
    @Test func pghaAPIHelperIsValidBash() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        let text = try host.render("pgha-api.sh.j2")
        #expect(text.contains("/dev/tcp/127.0.0.1/8008"))
        let dir = try makeTempDir("pgha-api")
        defer { removeTree(dir) }
        try text.write(toFile: dir + "/pgha-api", atomically: true, encoding: .utf8)
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-n", dir + "/pgha-api"]
        try bash.run()
        bash.waitUntilExit()
        #expect(bash.terminationStatus == 0)
    }
}
