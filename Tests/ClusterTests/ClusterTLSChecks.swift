// The TLS and secrets assertions of ClusterEndToEndTests (issue 11), run on its one lab: every
// link refuses plain text and certificates from another CA, the cluster CA opens each of them,
// and no generated secret shows in output, logs or process lists.
import Foundation
import PQ
import Spawn
import Testing
@testable import Drill
@testable import Provision

extension ClusterEndToEndTests {
    struct TLSFacts {
        let dir: String
        var ca: String { dir + "/ca.crt" }
        let databases: [(name: String, address: String)]
        let vip: String
        let restPort: Int, etcdPort: Int, postgresPort: Int, primaryPort: Int
        let leaderKey: String
        let etcdLogin: ClusterHTTP.EtcdLogin
    }

    static func tlsFacts(_ workflow: ClusterWorkflow, inventory: String) throws -> TLSFacts {
        let inv = workflow.inventory
        let first = try #require(inv.hosts(inGroup: "postgres").first)
        let vars = inv.variables(forHost: first)
        let t = NestedVariables(vars).templater
        func value(_ name: String) throws -> String { "\(try t.render("{{ \(name) }}"))" }
        func port(_ name: String) throws -> Int { try #require(Int(try value(name)), "\(name)") }
        return TLSFacts(
            dir: try CertificatePlan(inventory: inv, inventoryPath: inventory).directory,
            databases: inv.hosts(inGroup: "postgres").map { ($0, inv.variables(forHost: $0)["ansible_host"] as? String ?? $0) },
            vip: try value("cluster_vip"), restPort: try port("pgha_rest_port"), etcdPort: try port("etcd_client_port"),
            postgresPort: try port("postgres_port"), primaryPort: try port("haproxy_primary_port"),
            leaderKey: try value("pgha_namespace") + "/" + (try value("cluster_name")) + "/leader",
            etcdLogin: .init(user: try value("etcd_pgha_user"), password: try value("etcd_pgha_password")))
    }

    static func rangeBody(_ key: String) -> String { #"{"key":"\#(Data(key.utf8).base64EncodedString())"}"# }

    /// Plain text refused on etcd, the REST API and Postgres; a certificate from another CA refused;
    /// the cluster CA (and, for etcd, a client certificate and the RBAC login) let a client in.
    static func checkTLS(_ workflow: ClusterWorkflow, inventory: String, password: String) throws {
        let f = try tlsFacts(workflow, inventory: inventory)
        let scratch = try makeTempDirectory("tls-other-ca")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Another CA and a client certificate it signed (no CN, like ours).
        let otherCA = try CertificateAuthority.makeCA(commonName: "another CA", days: 1)
        let intruder = try CertificateAuthority.issue(CertificateSpec(name: "intruder", commonName: "", usage: .client), ca: otherCA, days: 1)
        try otherCA.certificatePEM.write(toFile: scratch + "/other-ca.crt", atomically: true, encoding: .utf8)
        try intruder.certificatePEM.write(toFile: scratch + "/intruder.crt", atomically: true, encoding: .utf8)
        try intruder.keyPEM.write(toFile: scratch + "/intruder.key", atomically: true, encoding: .utf8)

        let cluster = try ClusterHTTP(caFile: f.ca, certFile: f.dir + "/operator-client.crt", keyFile: f.dir + "/operator-client.key", etcdLogin: f.etcdLogin)
        let anonymous = try ClusterHTTP(caFile: f.ca, certFile: f.dir + "/operator-client.crt", keyFile: f.dir + "/operator-client.key", etcdLogin: nil)
        let noCertificate = try ClusterHTTP(caFile: f.ca, certFile: nil, keyFile: nil, etcdLogin: f.etcdLogin)
        let foreign = try ClusterHTTP(caFile: f.ca, certFile: scratch + "/intruder.crt", keyFile: scratch + "/intruder.key", etcdLogin: f.etcdLogin)
        let wrongTrust = try ClusterHTTP(caFile: scratch + "/other-ca.crt", certFile: nil, keyFile: nil, etcdLogin: nil)
        for db in f.databases {
            // etcd: Go answers plain HTTP on a TLS port with a 400 at most; the REST API closes.
            let plainEtcd = PlainHTTP.call(db.address, f.etcdPort, "POST", "/v3/kv/range", body: rangeBody(f.leaderKey), timeout: 3)
            #expect(plainEtcd == nil || plainEtcd!.status != 200, "plain http to etcd on \(db.name) answered \(plainEtcd?.status ?? 0)")
            let plainREST = PlainHTTP.call(db.address, f.restPort, "GET", "/patroni", timeout: 3)
            #expect(plainREST == nil || plainREST!.status != 200, "plain HTTP to the REST API on \(db.name) answered \(plainREST?.status ?? 0)")
            // With the CA: the REST API answers; etcd answers the agents' user inside its prefix only.
            #expect(cluster.json(db.address, f.restPort, "GET", "/patroni", timeout: 3) != nil, "https REST on \(db.name) with the cluster CA")
            let leader = cluster.etcdJSON(db.address, f.etcdPort, "/v3/kv/range", body: rangeBody(f.leaderKey), timeout: 3)
            #expect((leader?["kvs"] as? [[String: Any]])?.isEmpty == false, "etcd on \(db.name): the agents' user reads the leader key")
            #expect(cluster.etcdJSON(db.address, f.etcdPort, "/v3/kv/range", body: rangeBody("/elsewhere/key"), timeout: 3) == nil,
                    "etcd on \(db.name): RBAC lets the agents' user read outside the cluster's prefix")
            #expect(anonymous.json(db.address, f.etcdPort, "POST", "/v3/kv/range", body: rangeBody(f.leaderKey), timeout: 3) == nil,
                    "etcd on \(db.name) answered a request without a login")
            #expect(noCertificate.etcdJSON(db.address, f.etcdPort, "/v3/kv/range", body: rangeBody(f.leaderKey), timeout: 3) == nil,
                    "etcd on \(db.name) answered a client without a certificate")
            // A client certificate from another CA: refused by etcd and by the REST API.
            #expect(foreign.etcdJSON(db.address, f.etcdPort, "/v3/kv/range", body: rangeBody(f.leaderKey), timeout: 3) == nil,
                    "etcd on \(db.name) accepted a client certificate from another CA")
            #expect(foreign.json(db.address, f.restPort, "GET", "/patroni", timeout: 3) == nil,
                    "the REST API on \(db.name) accepted a client certificate from another CA")
            // A client that trusts another CA does not take the cluster's servers for real.
            #expect(wrongTrust.json(db.address, f.restPort, "GET", "/patroni", timeout: 3) == nil)
            // Postgres: no plain-text login, directly or otherwise; verify-full against the CA logs in.
            let base = "host=\(db.address) port=\(f.postgresPort) user=postgres password=\(password) dbname=postgres"
            #expect(throws: (any Error).self, "sslmode=disable to Postgres on \(db.name)") { try PGConnection(conninfo: base + " sslmode=disable", connectTimeout: 3) }
            #expect(throws: (any Error).self, "verify-full against another CA on \(db.name)") {
                try PGConnection(conninfo: base + " sslmode=verify-full sslrootcert=\(scratch)/other-ca.crt", connectTimeout: 3)
            }
            let direct = try PGConnection(conninfo: base + " sslmode=verify-full sslrootcert=\(f.ca)", connectTimeout: 3)
            #expect(try direct.query("select ssl from pg_stat_ssl where pid = pg_backend_pid()").rows.first?.first ?? nil == "t")
        }
        // Through the floating address and HAProxy (PgBouncer behind it): TLS required, verify-full writes.
        let entry = "host=\(f.vip) port=\(f.primaryPort) user=postgres password=\(password) dbname=postgres"
        #expect(throws: (any Error).self, "sslmode=disable through the floating address") { try PGConnection(conninfo: entry + " sslmode=disable", connectTimeout: 3) }
        let viaVIP = try PGConnection(conninfo: entry + " sslmode=verify-full sslrootcert=\(f.ca)", connectTimeout: 3)
        try viaVIP.query("create table if not exists e2e_tls (id serial primary key, at timestamptz default now())")
        #expect(try viaVIP.query("insert into e2e_tls default values returning id").rows.count == 1)
        // Replication streams over TLS: the primary's walsenders are all ssl.
        let primary = try #require(try ClusterStatus.fetch(inventory: workflow.inventory).leader)
        let onPrimary = try PGConnection(conninfo: "host=\(primary.host) port=\(f.postgresPort) user=postgres password=\(password) dbname=postgres sslmode=verify-full sslrootcert=\(f.ca)", connectTimeout: 3)
        let walsenders = try onPrimary.query("select coalesce(bool_and(s.ssl), false)::text, count(*) from pg_stat_replication r join pg_stat_ssl s using (pid)").rows.first
        #expect(walsenders?[0] == "true" && walsenders?[1] == "2", "replication connections over TLS: \(String(describing: walsenders))")
        print("[cluster e2e] TLS: plain text and a foreign CA refused on etcd, REST and Postgres; verify-full through \(f.vip):\(f.primaryPort) writes; replication over TLS")
    }

    /// What each host shows now: its process list (argv of everything running), journal and logs.
    static func hostTexts(_ workflow: ClusterWorkflow) -> [String: String] {
        var texts: [String: String] = [:]
        for host in workflow.inventory.hostNames {
            guard let t = try? Connector.transport(forHost: host, variables: workflow.inventory.variables(forHost: host)) else { continue }
            defer { t.close() }
            let r = try? t.run("ps -eo args; journalctl -o cat --no-pager -q; cat /var/log/postgresql/* /var/log/haproxy.log /var/log/pgbackrest/* 2>/dev/null; true")
            texts[host] = r?.stdout ?? ""
        }
        return texts
    }

    /// No generated secret (every password file, every private key's body) in `texts`.
    static func checkNoSecrets(in texts: [String: String], secretsDir: String) throws {
        var secrets: [(String, String)] = []
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: secretsDir).sorted() where !name.hasPrefix(".") {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: secretsDir + "/" + name, isDirectory: &isDir), !isDir.boolValue else { continue }
            let value = try String(contentsOfFile: secretsDir + "/" + name, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            if value.count >= 8 { secrets.append((name, value)) }
        }
        let tls = secretsDir + "/tls"
        for name in (try? fm.contentsOfDirectory(atPath: tls))?.sorted() ?? [] where name.hasSuffix(".key") {
            let pem = try String(contentsOfFile: tls + "/" + name, encoding: .utf8)
            for line in pem.split(separator: "\n") where !line.hasPrefix("-----") && line.count >= 40 { secrets.append(("tls/" + name, String(line))) }
        }
        #expect(secrets.count >= 6, "secrets collected: \(secrets.map(\.0))")
        var looked = 0
        for (place, text) in texts.sorted(by: { $0.key < $1.key }) {
            looked += text.utf8.count
            for (name, value) in secrets {
                #expect(!text.contains(value), "the secret \(name) appears in \(place)")  // the name only, never the value
            }
        }
        print("[cluster e2e] secrets: \(secrets.count) values (passwords, key material) looked for in \(texts.count) texts, \(looked / 1024) KiB: none found")
    }
}

/// Workflow progress lines, printed and kept for the secrets check.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}

extension ClusterEndToEndTests {
    /// Real Patroni's `patronictl -c FILE list` against the cluster: etcd over https with the
    /// operator's client certificate and the RBAC login, `ctl.cacert` the cluster CA. patronictl
    /// comes from PyPI into a virtual environment kept under /var/lib/provision (made on first use);
    /// when PyPI cannot be reached the check is skipped, and says so.
    static func checkPatronictl(_ workflow: ClusterWorkflow, inventory: String) throws {
        let venv = "/var/lib/provision/peers/patroni-4.1.5"
        let patronictl = venv + "/bin/patronictl"
        let env = ProcessInfo.processInfo.environment
        if !FileManager.default.isExecutableFile(atPath: patronictl) {
            try? FileManager.default.removeItem(atPath: venv)
            try FileManager.default.createDirectory(atPath: "/var/lib/provision/peers", withIntermediateDirectories: true)
            let made = try Spawn.run("/usr/bin/python3", ["-m", "venv", venv], environment: env, timeout: 120)
            let pip = made.status == 0
                ? try Spawn.run(venv + "/bin/pip", ["install", "-q", "patroni[etcd3]==4.1.5", "psycopg2-binary"], environment: env, timeout: 300) : made
            guard pip.status == 0, FileManager.default.isExecutableFile(atPath: patronictl) else {
                try? FileManager.default.removeItem(atPath: venv)
                print("[cluster e2e] patronictl: skipped, could not install patroni[etcd3] from PyPI: \(pip.stderr.suffix(300))")
                return
            }
        }
        let f = try tlsFacts(workflow, inventory: inventory)
        let dir = try makeTempDirectory("patronictl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let namespace = (f.leaderKey as NSString).deletingLastPathComponent  // /service/demo
        let config = """
            scope: \((namespace as NSString).lastPathComponent)
            namespace: \((namespace as NSString).deletingLastPathComponent)
            etcd3:
              protocol: https
              hosts: \(f.databases.map { "\($0.address):\(f.etcdPort)" }.joined(separator: ","))
              cacert: \(f.ca)
              cert: \(f.dir)/operator-client.crt
              key: \(f.dir)/operator-client.key
              username: \(f.etcdLogin.user)
              password: "\(f.etcdLogin.password)"
            ctl:
              cacert: \(f.ca)

            """
        // The password lives in this 0600 file only, never in patronictl's argv.
        #expect(FileManager.default.createFile(atPath: dir + "/patronictl.yml", contents: Data(config.utf8), attributes: [.posixPermissions: 0o600]))
        let r = try Spawn.run(patronictl, ["-c", dir + "/patronictl.yml", "list"], environment: env, timeout: 60)
        print("[cluster e2e] patronictl -c … list (Patroni 4.1.5, etcd over https with RBAC):\n\(r.stdout)")
        #expect(r.status == 0, "patronictl list: \(r.stderr.suffix(500))")
        for db in f.databases { #expect(r.stdout.contains(db.name), "patronictl list shows \(db.name)") }
        #expect(r.stdout.contains("Leader") && r.stdout.contains("streaming"), "patronictl list: \(r.stdout)")
        #expect(!r.stdout.contains(f.etcdLogin.password) && !r.stderr.contains(f.etcdLogin.password))
    }
}

extension ClusterEndToEndTests {
    /// The serial of the certificate each TLS port of each database host serves, by "host:port"
    /// (etcd client and peer ports, the REST API, Postgres and PgBouncer), read by a handshake
    /// from this machine with `openssl s_client` (the operator's client pair where one is asked for).
    static func servedSerials(_ workflow: ClusterWorkflow, inventory: String) throws -> [String: String] {
        let f = try tlsFacts(workflow, inventory: inventory)
        let vars = workflow.inventory.variables(forHost: f.databases[0].name)
        let peer = Int("\(vars["etcd_peer_port"] ?? "")") ?? 2380
        let bouncer = (vars["pgbouncer_enabled"] as? Bool) == true ? Int("\(vars["pgbouncer_port"] ?? "")") : nil
        var serials: [String: String] = [:]
        for db in f.databases {
            var ports: [(Int, Bool)] = [(f.etcdPort, false), (peer, false), (f.restPort, false), (f.postgresPort, true)]
            if let bouncer { ports.append((bouncer, true)) }
            for (port, postgres) in ports {
                let handshake = "openssl s_client -connect \(db.address):\(port) -CAfile \(f.ca) -cert \(f.dir)/operator-client.crt -key \(f.dir)/operator-client.key"
                    + (postgres ? " -starttls postgres" : "") + " </dev/null 2>/dev/null | openssl x509 -noout -serial"
                let r = try Spawn.run("/bin/sh", ["-c", handshake], environment: ProcessInfo.processInfo.environment, timeout: 20)
                let serial = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(r.status == 0 && serial.hasPrefix("serial="), "no certificate from \(db.name):\(port): \(r.stderr.suffix(300))")
                serials["\(db.name):\(port)"] = serial
            }
        }
        return serials
    }

    /// The serial of each database host's certificate in the CA directory on this machine.
    static func issuedSerials(_ workflow: ClusterWorkflow, inventory: String) throws -> [String: String] {
        let f = try tlsFacts(workflow, inventory: inventory)
        var serials: [String: String] = [:]
        for db in f.databases {
            let r = try Spawn.run("/usr/bin/openssl", ["x509", "-noout", "-serial", "-in", "\(f.dir)/\(db.name).crt"], environment: ProcessInfo.processInfo.environment, timeout: 20)
            serials[db.name] = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return serials
    }
}
