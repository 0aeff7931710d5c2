// Patroni's TLS keys in patroni.yml: restapi.certfile/keyfile/cafile/verify_client, ctl.*, etcd3 https.
import AgentCore
import Testing

@Suite struct TLSConfigTests {
    static func yaml(restapi: String = "", etcd: String = "  protocol: https\n  cacert: /tls/ca.crt\n  cert: /tls/pgha-client.crt\n  key: /tls/pgha-client.key\n",
                     extra: String = "") -> String {
        """
        scope: demo
        name: n1
        restapi:
          listen: 0.0.0.0:8008
          connect_address: 10.0.0.11:8008
        \(restapi)etcd3:
          hosts: 10.0.0.1:2379,10.0.0.2:2379
        \(etcd)postgresql:
          data_dir: /var/lib/postgresql/15/main
        \(extra)
        """
    }

    @Test func patroniKeysLand() throws {
        let text = Self.yaml(restapi: "  certfile: /tls/n1.crt\n  keyfile: /tls/n1.key\n  cafile: /tls/ca.crt\n  verify_client: required\n",
                             etcd: "  protocol: https\n  cacert: /tls/ca.crt\n  cert: /tls/pgha-client.crt\n  key: /tls/pgha-client.key\n  username: pgha\n  password: etcd-pw\n",
                             extra: "ctl:\n  authentication: {username: op, password: op-pw}\n  cacert: /tls/ca.crt\n  certfile: /tls/operator-client.crt\n  keyfile: /tls/operator-client.key\n  insecure: false\n")
        let loaded = try ConfigLoader.parse(text, file: "p.yml")
        let c = loaded.config
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(c.restTLS == ServerTLS(certfile: "/tls/n1.crt", keyfile: "/tls/n1.key", cafile: "/tls/ca.crt", verifyClient: .required))
        #expect(c.apiURL == "https://10.0.0.11:8008/patroni")
        #expect(c.etcdEndpoints == ["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
        #expect(c.etcdTLS.cacert == "/tls/ca.crt" && c.etcdTLS.certfile == "/tls/pgha-client.crt" && c.etcdTLS.keyfile == "/tls/pgha-client.key")
        #expect(c.etcdAuth == Credentials(username: "pgha", password: "etcd-pw"))
        #expect(c.ctl.cacert == "/tls/ca.crt" && c.ctl.certfile == "/tls/operator-client.crt" && !c.ctl.insecure)
        #expect(c.restClientTLS.certfile == "/tls/operator-client.crt")
        #expect(c.ctlAuth == Credentials(username: "op", password: "op-pw"))
    }

    /// Patroni's libpq keys under postgresql.authentication.* reach every conninfo the agent builds:
    /// primary_conninfo (replication user), and the superuser's (pg_rewind, the local session).
    @Test func libpqTLSKeysReachTheConninfo() throws {
        let auth = """
            postgresql:
              data_dir: /var/lib/postgresql/15/main
              pgpass: /etc/pgha/pgpass
              authentication:
                superuser: {username: postgres, password: su-pw, sslmode: verify-full, sslrootcert: /tls/ca.crt}
                replication: {username: replicator, password: r-pw, sslmode: verify-full, sslrootcert: "/tls/it's ca.crt", sslpassword: x}

            """
        let text = Self.yaml().replacingOccurrences(of: "postgresql:\n  data_dir: /var/lib/postgresql/15/main\n", with: auth)
        let c = try ConfigLoader.parse(text, file: "p.yml").config
        #expect(c.postgres.superuser.libpqOptions == [LibpqOption(key: "sslmode", value: "verify-full"), LibpqOption(key: "sslrootcert", value: "/tls/ca.crt")])
        #expect(c.postgres.replication.conninfoSuffix == #" sslmode='verify-full' sslrootcert='/tls/it\'s ca.crt'"#)
        let conf = PostgresFiles(config: c).confText(dynamic: [:], upstream: UpstreamServer(name: "n2", host: "10.0.0.12", port: 5432))
        #expect(conf.contains(#"primary_conninfo = 'host=10.0.0.12 port=5432 user=replicator passfile=/etc/pgha/pgpass application_name=n1 connect_timeout=2 sslmode=''verify-full'' sslrootcert=''/tls/it\''s ca.crt'''"#), "\(conf)")
        #expect(PostgresFiles(config: c).localConninfo.hasSuffix(" sslmode='verify-full' sslrootcert='/tls/ca.crt'"))
    }

    @Test func ctlFallsBackToRestapiFiles() throws {
        let c = try ConfigLoader.parse(Self.yaml(restapi: "  certfile: /tls/n1.pem\n  cafile: /tls/ca.crt\n  verify_client: optional\n"), file: "p.yml").config
        #expect(c.restTLS?.keyfile == "/tls/n1.pem")  // one PEM with certificate and key, as Patroni allows
        #expect(c.restClientTLS.cacert == "/tls/ca.crt" && c.restClientTLS.certfile == "/tls/n1.pem")
        let plain = try ConfigLoader.parse(Self.yaml(etcd: ""), file: "p.yml").config
        #expect(plain.restTLS == nil && plain.apiURL.hasPrefix("http://") && plain.etcdEndpoints.allSatisfy { $0.hasPrefix("http://") })
    }

    @Test(arguments: [
        ("  certfile: /tls/n1.crt\n  verify_client: sometimes\n", "", "restapi.verify_client: expected none, optional or required"),
        ("  certfile: tls/n1.crt\n", "", "restapi.certfile: expected an absolute path"),
        ("  keyfile: /tls/n1.key\n", "", "restapi.certfile: required"),
        ("  certfile: /tls/n1.crt\n  verify_client: required\n", "", "restapi.cafile: required with verify_client required"),
        ("", "  protocol: https\n  cert: /tls/c.crt\n", "etcd3.key: required with etcd3.cert"),
        ("", "  cacert: /tls/ca.crt\n", "etcd3.protocol: cacert/cert/key need protocol: https"),
        ("", "  protocol: spdy\n", "etcd3.protocol: expected http or https"),
        ("", "  username: pgha\n", "etcd3.password: needed together with etcd3.username"),
    ])
    func badValuesAreNamed(restapi: String, etcd: String, expected: String) {
        #expect { try ConfigLoader.parse(Self.yaml(restapi: restapi, etcd: etcd), file: "p.yml") } throws: { error in
            "\(error)".hasPrefix("p.yml:") && "\(error)".contains(expected)
        }
    }

    @Test func encryptedCtlKeysAreRefused() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.yaml(extra: "ctl:\n  keyfile_password: x\n"), file: "p.yml") }
    }
}
