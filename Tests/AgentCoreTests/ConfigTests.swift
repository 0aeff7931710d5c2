import AgentCore
import Testing

@Suite struct ConfigTests {
    let yaml = """
    scope: demo
    namespace: /service
    name: n1
    restapi:
      listen: 0.0.0.0:8008
      connect_address: 10.0.0.11:8008
    etcd3:
      hosts: 10.0.0.1:2379,10.0.0.2:2379
    bootstrap:
      dcs:
        ttl: 30
        loop_wait: 10
        retry_timeout: 10
        maximum_lag_on_failover: 1048576
        synchronous_mode: true
        synchronous_node_count: 2
        failsafe_mode: false
        postgresql:
          use_pg_rewind: true
          parameters:
            max_connections: 200
      initdb:
        - encoding: UTF8
        - data-checksums
    postgresql:
      listen: 0.0.0.0:5432
      connect_address: 10.0.0.11:5432
      data_dir: /var/lib/postgresql/15/main
      authentication:
        superuser: {username: postgres, password: secret}
        replication: {username: replicator, password: rep}
      pg_hba:
        - local all all trust
      callbacks: {on_start: /bin/true}
    tags:
      nofailover: false
      failover_priority: 2
    watchdog:
      mode: off
    """

    @Test func readsPatroniYAML() throws {
        let loaded = try ConfigLoader.parse(yaml, file: "p.yml")
        let c = loaded.config
        #expect(c.scope == "demo" && c.name == "n1")
        #expect(c.keyPrefix == "/service/demo/")
        #expect(c.etcdEndpoints == ["http://10.0.0.1:2379", "http://10.0.0.2:2379"])
        #expect(c.timing.ttl == 30 && c.timing.loopWait == 10)
        #expect(c.dcsParameters["max_connections"] == "200")
        #expect(c.initdbOptions == ["--encoding=UTF8", "--data-checksums"])
        #expect(c.postgres.replication.password == "rep")
        #expect(c.restConnect == HostPort(host: "10.0.0.11", port: 8008))
        #expect(c.tags.failoverPriority == 2)
        // The dynamic switches go into the `config` key written at bootstrap.
        let settings = DynamicSettings.parse(DynamicConfig.from(c).raw)
        #expect(settings.synchronousMode && settings.synchronousNodeCount == 2 && !settings.failsafeMode)
        #expect(loaded.warnings.count == 2)
        #expect(loaded.warnings.contains { $0.contains("postgresql.callbacks") && $0.hasPrefix("p.yml:34:") }, "\(loaded.warnings)")
        #expect(loaded.warnings.contains { $0.contains("unknown key watchdog") })
    }

    @Test func badValueNamesFileLineKey() {
        let bad = yaml.replacingOccurrences(of: "loop_wait: 10", with: "loop_wait: soon")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(bad, file: "p.yml") }
        do { _ = try ConfigLoader.parse(bad, file: "p.yml") } catch {
            #expect("\(error)".contains("p.yml:12:") && "\(error)".contains("bootstrap.dcs.loop_wait"), "\(error)")
        }
    }

    @Test func unsafeTimingIsRefused() {
        let bad = yaml.replacingOccurrences(of: "retry_timeout: 10", with: "retry_timeout: 15")
        do { _ = try ConfigLoader.parse(bad, file: "p.yml"); Issue.record("accepted unsafe timing") } catch {
            #expect("\(error)".contains("exceeds ttl"))
        }
    }

    @Test func missingNameIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("scope: x\npostgresql:\n  data_dir: /d\n", file: "p.yml") }
    }
}
