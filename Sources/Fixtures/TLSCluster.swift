// The lab's TLS setup on loopback, for the TLS tests and `pgha-bench --tls`: certificates from
// provision's cluster CA code, etcd over https with client certificates and RBAC, the agents' REST
// API over HTTPS with verify_client, Postgres with ssl on and every agent conninfo verify-full.
import Foundation
import Provision
import Spawn

/// A cluster CA and a second, unrelated CA whose certificates must be refused, each with a node
/// certificate for 127.0.0.1/localhost and the client certificates the cluster uses.
public struct TestPKI {
    public let root: String
    public var ca: String { root + "/cluster/ca.crt" }

    public init() throws {
        root = try makeTempDir("pgha-pki")
        let leaves = [
            CertificateSpec(name: "node", commonName: "node", usage: .serverAndClient, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"]),
            CertificateSpec(name: "pgha-client", commonName: "", usage: .client),
            CertificateSpec(name: "root-client", commonName: "root", usage: .client),
            CertificateSpec(name: "operator-client", commonName: "", usage: .client),
        ]
        for name in ["cluster", "other"] {
            _ = try ClusterCertificates.ensure(CertificatePlan(directory: "\(root)/\(name)", leaves: leaves))
        }
    }

    public func crt(_ name: String, ca: String = "cluster") -> String { "\(root)/\(ca)/\(name).crt" }
    public func key(_ name: String, ca: String = "cluster") -> String { "\(root)/\(ca)/\(name).key" }

    /// Lets the postgres OS user (the agents') read every file.
    public func share(uid: uid_t, gid: gid_t) {
        for dir in [root, root + "/cluster", root + "/other"] {
            chown(dir, uid, gid)
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] { chown(dir + "/" + f, uid, gid) }
        }
    }

    public func remove() { removeTree(root) }
}

extension EtcdServer {
    /// An https etcd with client-certificate auth, its certificate the PKI's node one.
    public static func tls(_ pki: TestPKI, authTokenTTL: Int? = nil) throws -> EtcdServer {
        try EtcdServer(tls: .init(certFile: pki.crt("node"), keyFile: pki.key("node"), trustedCAFile: pki.ca), authTokenTTL: authTokenTTL)
    }

    /// RBAC as `etcd-admin rbac` sets it in the lab: user root, a role and user `pgha` that may
    /// read and write `prefix` only, auth on. Through etcdctl with the root client certificate
    /// (CN root); passwords on stdin, never in argv.
    public func enableRBAC(_ pki: TestPKI, prefix: String, rootPassword: String, pghaPassword: String) throws {
        let base = ["--endpoints=\(endpoint)", "--cacert=\(pki.ca)", "--cert=\(pki.crt("root-client"))", "--key=\(pki.key("root-client"))",
                    "--command-timeout=5s"]
        let steps: [([String], String?)] = [
            (["user", "add", "root", "--interactive=false"], rootPassword),
            (["user", "grant-role", "root", "root"], nil),
            (["role", "add", "pgha"], nil),
            (["role", "grant-permission", "pgha", "readwrite", prefix, "--prefix=true"], nil),
            (["user", "add", "pgha", "--interactive=false"], pghaPassword),
            (["user", "grant-role", "pgha", "pgha"], nil),
            (["auth", "enable"], nil),
        ]
        for (args, password) in steps {
            let r = try Spawn.run("/usr/bin/etcdctl", base + args, environment: ["PATH": "/usr/bin:/bin", "ETCDCTL_API": "3"],
                                  input: password.map { Data(($0 + "\n").utf8) }, timeout: 30)
            guard r.status == 0 else { throw FixtureError("etcdctl \(args.prefix(2).joined(separator: " ")): \(r.stderr)") }
        }
    }
}

extension AgentCluster {
    /// Rewrites every member's config (before its agent starts) for TLS on every link, as the lab's
    /// pgha.yml has it: etcd3 over https with the agents' client certificate and RBAC login, the
    /// REST API over HTTPS with verify_client required and basic auth, and, with `postgres`, ssl on
    /// in Postgres with replication, pg_rewind and pg_basebackup verifying it (verify-full).
    public func useTLS(_ pki: TestPKI, etcdPassword: String, restPassword: String, postgres: Bool = true) throws {
        restTLS = (pki.ca, pki.crt("operator-client"), pki.key("operator-client"))
        for m in members {
            try rewriteConfig(of: m.name, "etcd3:\n  hosts: 127.0.0.1:\(etcd.clientPort)\n", """
            etcd3:
              hosts: 127.0.0.1:\(etcd.clientPort)
              protocol: https
              cacert: \(pki.ca)
              cert: \(pki.crt("pgha-client"))
              key: \(pki.key("pgha-client"))
              username: pgha
              password: \(etcdPassword)

            """)
            try rewriteConfig(of: m.name, "restapi:\n", """
            restapi:
              certfile: \(pki.crt("node"))
              keyfile: \(pki.key("node"))
              cafile: \(pki.ca)
              verify_client: required
              authentication: {username: admin, password: \(restPassword)}

            """)
            guard postgres else { continue }
            let verify = "sslmode: verify-full, sslrootcert: \(pki.ca)"
            try rewriteConfig(of: m.name, """
              authentication:
                superuser: {username: postgres, password: pw-super-test}
                replication: {username: replicator, password: pw-repl-test}

            """, """
              authentication:
                superuser: {username: postgres, password: pw-super-test, \(verify)}
                replication: {username: replicator, password: pw-repl-test, \(verify)}
              parameters:
                ssl: "on"
                ssl_cert_file: \(pki.crt("node"))
                ssl_key_file: \(pki.key("node"))
                ssl_min_protocol_version: TLSv1.2

            """)
        }
    }
}
