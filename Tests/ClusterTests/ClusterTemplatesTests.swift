// The cluster's templates rendered for the lab inventory with the engine's template language,
// then judged by the programs that read them: pgha's own config loader, `haproxy -c`.
import AgentCore
import Fixtures
import Spawn
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
        // As the engine's hostvars: templated values rendered in that host's own scope.
        for h in inventory.hostNames {
            var own = inventory.variables(forHost: h).merging(["lab_secrets_dir": secretsDir]) { $1 }
            let scope = NestedVariables(own)
            for (k, v) in own where (v as? String)?.contains("{{") == true { own[k] = scope.lookup(k) ?? v }
            hostvars[h] = own
        }
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

    /// `extra`: task vars the play passes (they win over inventory variables, as in a play).
    func render(_ template: String, extra: [String: Any] = [:]) throws -> String {
        let base = lookup
        return try StencilTemplate(path: Self.root + "/templates/" + template).render(lookup: { extra[$0] ?? base($0) })
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
        #expect(c.postgres.dataDir == "/var/lib/postgresql/15/clusters/demo")
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

    /// TLS on every link pgha has: REST over https (a client certificate, if shown, from the CA),
    /// etcd over https with the agents' client certificate and RBAC user, Postgres ssl=on with
    /// hostssl + scram-sha-256 only, and verify-full on every connection the agent makes.
    @Test func pghaConfigSpeaksTLSEverywhere() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        let c = try ConfigLoader.parse(try host.render("pgha.yml.j2"), file: "pgha.yml").config
        let tls = try #require(c.restTLS)
        #expect(tls.certfile == "/etc/pgha/tls/server.crt" && tls.keyfile == "/etc/pgha/tls/server.key" && tls.cafile == "/etc/pgha/tls/ca.crt")
        #expect(tls.verifyClient == .optional && c.apiURL.hasPrefix("https://"))
        #expect(c.restClientTLS.cacert == "/etc/pgha/tls/ca.crt")
        #expect(c.etcdEndpoints.allSatisfy { $0.hasPrefix("https://") }, "\(c.etcdEndpoints)")
        #expect(c.etcdTLS.cacert == "/etc/pgha/tls/ca.crt" && c.etcdTLS.certfile == "/etc/pgha/tls/pgha-client.crt" && c.etcdTLS.keyfile == "/etc/pgha/tls/pgha-client.key")
        let etcdPassword = try #require(host.lookup("etcd_pgha_password") as? String)
        #expect(c.etcdAuth?.username == "pgha" && c.etcdAuth?.password == etcdPassword)
        #expect(c.postgres.parameters["ssl"] == "on" && c.postgres.parameters["ssl_cert_file"] == "/etc/pgha/tls/server.crt"
                && c.postgres.parameters["ssl_key_file"] == "/etc/pgha/tls/server.key")
        let network = c.postgres.pgHBA.filter { !$0.hasPrefix("local ") }
        #expect(!network.isEmpty && network.allSatisfy { $0.hasPrefix("hostssl ") && $0.hasSuffix(" scram-sha-256") }, "\(network)")
        #expect(!c.postgres.pgHBA.contains { $0.contains("md5") || $0.contains(" trust") })
        let verify = [LibpqOption(key: "sslmode", value: "verify-full"), LibpqOption(key: "sslrootcert", value: "/etc/pgha/tls/ca.crt")]
        #expect(c.postgres.superuser.libpqOptions == verify && c.postgres.replication.libpqOptions == verify)
        #expect(c.postgres.replication.conninfoSuffix == " sslmode='verify-full' sslrootcert='/etc/pgha/tls/ca.crt'")
    }

    @Test func etcdEnvironmentNamesEveryMember() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        var vars = host.lookup
        let base = vars
        vars = { $0 == "etcd_cluster_state" ? "new" : base($0) }
        let text = try StencilTemplate(path: TemplateHost.root + "/templates/etcd.env.j2").render(lookup: vars)
        let members = host.inventory.hosts(inGroup: "etcd").map { h in
            "\(h)=https://\(host.inventory.variables(forHost: h)["ansible_host"] as? String ?? "?"):2380"
        }
        #expect(text.contains("ETCD_INITIAL_CLUSTER=" + members.joined(separator: ",") + "\n"))
        // TLS with client-certificate auth on both ports; nothing listens in plain text.
        #expect(!text.contains("http://"))
        for line in ["ETCD_CLIENT_CERT_AUTH=true", "ETCD_PEER_CLIENT_CERT_AUTH=true", "ETCD_TRUSTED_CA_FILE=/etc/etcd/tls/ca.crt",
                     "ETCD_PEER_TRUSTED_CA_FILE=/etc/etcd/tls/ca.crt", "ETCD_CERT_FILE=/etc/etcd/tls/server.crt", "ETCD_PEER_KEY_FILE=/etc/etcd/tls/server.key"] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
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
        #expect(text.contains("option httpchk OPTIONS /primary") && text.contains("option httpchk OPTIONS /replica?lag=16MB&replication_state=streaming"))
        // The lab runs PgBouncer: HAProxy sends clients to it, and checks pgha as before.
        #expect(text.contains(":6432 maxconn 100 check port 8008") && !text.contains(":5432 "))
        // The checks speak HTTPS and verify each member's certificate and name against the CA.
        for db in host.inventory.hosts(inGroup: "postgres") {
            #expect(text.contains("check port 8008 check-ssl check-sni \(db) verify required verifyhost \(db) ca-file /etc/haproxy/tls/ca.crt\n"))
        }
        #expect(!text.contains("default_backend primary"), "falls back to the primary although haproxy_replica_fallback_primary is false")
        let dir = try makeTempDir("haproxy-cfg")
        defer { removeTree(dir) }
        // The stats socket's directory exists on a host with the package; not necessarily here.
        let path = dir + "/haproxy.cfg"
        try withTestCA(text, dir).replacingOccurrences(of: "/run/haproxy/admin.sock", with: dir + "/admin.sock")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runCommand(["/usr/sbin/haproxy", "-c", "-q", "-f", path])
        #expect(r.status == 0, "haproxy -c: \(r.output)")
    }

    /// The REST helper renders to a script bash accepts (`{#` in shell would start a comment); it
    /// speaks HTTPS and verifies the agent's certificate and name against the cluster CA.
    @Test func pghaAPIHelperIsValidBash() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        let text = try host.render("pgha-api.sh.j2")
        #expect(text.contains("openssl s_client -quiet -connect 127.0.0.1:8008") && !text.contains("/dev/tcp"))
        #expect(text.contains("-CAfile /etc/pgha/tls/ca.crt -verify_hostname localhost -verify_return_error"))
        let dir = try makeTempDir("pgha-api")
        defer { removeTree(dir) }
        try text.write(toFile: dir + "/pgha-api", atomically: true, encoding: .utf8)
        let r = try runCommand(["/bin/bash", "-n", dir + "/pgha-api"])
        #expect(r.status == 0, "bash -n: \(r.output)")
    }

    /// etcd-admin is valid bash, and its passwords reach etcdctl only through the environment
    /// (ETCDCTL_USER) and stdin (`--interactive=false`), never as an argument.
    @Test func etcdAdminHelperKeepsPasswordsOutOfArgv() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        let text = try host.render("etcd-admin.sh.j2")
        let root = try #require(host.lookup("etcd_root_password") as? String)
        let pgha = try #require(host.lookup("etcd_pgha_password") as? String)
        #expect(root != pgha && root.count == 20)
        #expect(text.components(separatedBy: root).count == 2 && text.components(separatedBy: pgha).count == 2, "each password once, in an assignment")
        #expect(text.contains("root_password='\(root)'") && text.contains("pgha_password='\(pgha)'"))
        #expect(!text.contains("--password") && !text.contains("--new-user-password") && !text.contains("user add root:"))
        #expect(text.contains("prefix='/service/demo/'") && text.contains("--endpoints=https://127.0.0.1:2379"))
        let dir = try makeTempDir("etcd-admin")
        defer { removeTree(dir) }
        try text.write(toFile: dir + "/etcd-admin", atomically: true, encoding: .utf8)
        let r = try runCommand(["/bin/bash", "-n", dir + "/etcd-admin"])
        #expect(r.status == 0, "bash -n: \(r.output)")
    }

    /// Without PgBouncer (inventories/lab-large) HAProxy sends clients straight to Postgres, and
    /// haproxy_replica_fallback_primary: true sends reads to the primary when no replica qualifies.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")))
    func haproxyWithoutPgBouncerAndWithFallback() throws {
        let host = try TemplateHost(inventory: "inventories/lab-large", host: "lb1")
        defer { host.cleanup() }
        let plain = try host.render("haproxy.cfg.j2")
        #expect(plain.contains(":5432 maxconn 100 check port 8008") && !plain.contains(":6432"))
        let fallback = try host.render("haproxy.cfg.j2", extra: ["haproxy_replica_fallback_primary": true])
        #expect(fallback.contains("use_backend replicas if { nbsrv(replicas) gt 0 }") && fallback.contains("default_backend primary"))
        let dir = try makeTempDir("haproxy-fallback")
        defer { removeTree(dir) }
        try withTestCA(fallback, dir).replacingOccurrences(of: "/run/haproxy/admin.sock", with: dir + "/admin.sock")
            .write(toFile: dir + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let r = try runCommand(["/usr/sbin/haproxy", "-c", "-q", "-f", dir + "/haproxy.cfg"])
        #expect(r.status == 0, "haproxy -c: \(r.output)")
    }

    /// keepalived's own parser accepts the config of each balancer; priorities differ, and each
    /// balancer names the others as unicast peers.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived")))
    func keepalivedConfigPassesConfigTest() throws {
        var priorities: [String] = []
        // keepalived checks the interface exists and is not loopback: any of this machine's will do.
        let nic = try #require(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted().first { $0 != "lo" })
        for lb in ["lb1", "lb2"] {
            let host = try TemplateHost(inventory: "inventories/lab", host: lb)
            defer { host.cleanup() }
            let text = try host.render("keepalived.conf.j2", extra: ["vrrp_interface": nic])
            let me = try #require(host.inventory.variables(forHost: lb)["ansible_host"] as? String)
            let peer = try #require(host.inventory.variables(forHost: lb == "lb1" ? "lb2" : "lb1")["ansible_host"] as? String)
            #expect(text.contains("unicast_src_ip \(me)") && text.contains("        \(peer)\n"))
            #expect(text.contains("10.77.0.100/24 dev \(nic)") && text.contains("nopreempt") && text.contains("advert_int 0.5"))
            priorities += text.split(separator: "\n").filter { $0.contains("priority") }.map(String.init)
            let dir = try makeTempDir("keepalived")
            defer { removeTree(dir) }
            try text.write(toFile: dir + "/keepalived.conf", atomically: true, encoding: .utf8)
            let r = try runCommand(["/usr/sbin/keepalived", "--config-test", "-f", dir + "/keepalived.conf"])
            #expect(r.status == 0, "keepalived --config-test (\(lb)): \(r.output)")
        }
        #expect(priorities.count == 2 && priorities[0] != priorities[1], "\(priorities)")
    }

    /// A single balancer (the DR site's drlb1) has no peer: no unicast block (keepalived refuses
    /// unicast with no peer), so it holds the address alone; keepalived accepts the config.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived")))
    func keepalivedSingleBalancerHasNoUnicastPeers() throws {
        let nic = try #require(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted().first { $0 != "lo" })
        let host = try TemplateHost(inventory: "inventories/lab-dr", host: "drlb1")
        defer { host.cleanup() }
        let text = try host.render("keepalived.conf.j2", extra: ["vrrp_interface": nic])
        #expect(!text.contains("unicast_src_ip") && !text.contains("unicast_peer"), "\(text)")
        #expect(text.contains("10.77.0.101/24 dev \(nic)") && text.contains("virtual_router_id 52"))
        let dir = try makeTempDir("keepalived")
        defer { removeTree(dir) }
        try text.write(toFile: dir + "/keepalived.conf", atomically: true, encoding: .utf8)
        let r = try runCommand(["/usr/sbin/keepalived", "--config-test", "-f", dir + "/keepalived.conf"])
        #expect(r.status == 0, "keepalived --config-test (drlb1): \(r.output)")
    }

    /// With PgBouncer on, pgha gets the pg_ident map and the peer line its auth_user needs, and
    /// pgbouncer.ini holds no secret: authentication goes through auth_query.
    @Test func pgbouncerAuthenticationNeedsNoPasswordFile() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg1")
        defer { host.cleanup() }
        let config = try ConfigLoader.parse(try host.render("pgha.yml.j2"), file: "pgha.yml").config
        #expect(config.postgres.pgIdent == ["pgbouncer postgres pgbouncer"])
        #expect(config.postgres.pgHBA.first == "local all pgbouncer peer map=pgbouncer")
        #expect(!config.postgres.pgHBA.contains { $0.hasPrefix("local all all peer") })
        let ini = try host.render("pgbouncer.ini.j2")
        #expect(ini.contains("auth_type = scram-sha-256") && ini.contains("auth_query = SELECT username, password FROM pgbouncer.get_auth($1)"))
        #expect(ini.contains("* = host=/var/run/postgresql port=5432"))
        // Clients must use TLS and see this host's certificate; PgBouncer -> Postgres stays on the socket.
        #expect(ini.contains("client_tls_sslmode = require\n") && ini.contains("client_tls_cert_file = /etc/pgha/tls/server.crt\n")
                && ini.contains("client_tls_key_file = /etc/pgha/tls/server.key\n"))
        let password = try #require(host.lookup("postgres_superuser_password") as? String)
        #expect(!ini.contains(password))
    }
}

/// The haproxy config with its ca-file pointed at a real CA in `dir` (`haproxy -c` loads it).
private func withTestCA(_ config: String, _ dir: String) throws -> String {
    let ca = try CertificateAuthority.makeCA(commonName: "test CA", days: 1)
    try ca.certificatePEM.write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
    return config.replacingOccurrences(of: "/etc/haproxy/tls/ca.crt", with: dir + "/ca.crt")
}

/// Runs a program to completion (through Spawn, output to a file): exit status and output.
private func runCommand(_ argv: [String]) throws -> (status: Int32, output: String) {
    let dir = try makeTempDir("run")
    defer { removeTree(dir) }
    let pid = try Spawn.start(argv[0], Array(argv.dropFirst()), environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], output: .file(dir + "/out"))
    let status = Spawn.wait(pid)
    return (status, (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "")
}
