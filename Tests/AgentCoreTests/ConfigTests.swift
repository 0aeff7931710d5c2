import Fixtures
import Foundation
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
      callbacks: {on_start: /bin/true, on_failover: /bin/true}
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
        #expect(loaded.warnings.count == 1)
        #expect(c.postgres.callbacks == ["on_start": "/bin/true"])
        #expect(loaded.warnings.contains { $0.contains("postgresql.callbacks.on_failover") && $0.hasPrefix("p.yml:34:") }, "\(loaded.warnings)")
        #expect(c.watchdog.mode == .off)
    }

    @Test func watchdogSection() throws {
        // Patroni's default is automatic, /dev/watchdog, safety_margin 5.
        let plain = try ConfigLoader.parse(yaml.replacingOccurrences(of: "watchdog:\n  mode: off", with: ""), file: "p.yml").config
        #expect(plain.watchdog == WatchdogConfig())
        #expect(plain.watchdog.mode == .automatic && plain.watchdog.device == "/dev/watchdog" && plain.watchdog.safetyMargin == 5)
        let set = try ConfigLoader.parse(yaml.replacingOccurrences(of: "  mode: off", with: "  mode: required\n  device: /run/wd\n  safety_margin: 2"),
                                         file: "p.yml").config
        #expect(set.watchdog.mode == .required && set.watchdog.device == "/run/wd" && set.watchdog.safetyMargin == 2)
        #expect(set.watchdog.timeout(ttl: 30) == 28)
        // Timing: ttl − safety_margin must exceed loop_wait; −1 means ttl/2.
        var t = Timing(); t.ttl = 6; t.loopWait = 1
        var w = WatchdogConfig(); w.safetyMargin = 2
        #expect(w.timeout(ttl: t.ttl) == 4 && w.timingProblem(t) == nil)
        w.safetyMargin = 5
        #expect(w.timingProblem(t)?.contains("not above loop_wait") == true)
        w.safetyMargin = -1
        #expect(w.timeout(ttl: 6) == 3)
    }

    @Test(arguments: [("  mode: sometimes", "p.yml:39:", "watchdog.mode: expected off, automatic or required, got sometimes"),
                      ("  mode: auto\n  safety_margin: -3", "p.yml:40:", "watchdog.safety_margin: must be ≥ 0"),
                      ("  mode: auto\n  device: watchdog", "p.yml:40:", "watchdog.device: expected an absolute path"),
                      ("  mode: auto\n  safety_margin: soon", "p.yml:40:", "watchdog.safety_margin: expected a number")])
    func badWatchdogValues(_ c: (String, String, String)) {
        do {
            _ = try ConfigLoader.parse(yaml.replacingOccurrences(of: "  mode: off", with: c.0), file: "p.yml")
            Issue.record("accepted \(c.0)")
        } catch {
            #expect("\(error)".contains(c.1) && "\(error)".contains(c.2), "\(error)")
        }
    }

    @Test func badValueNamesFileLineKey() {
        let bad = yaml.replacingOccurrences(of: "loop_wait: 10", with: "loop_wait: soon")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(bad, file: "p.yml") }
        do { _ = try ConfigLoader.parse(bad, file: "p.yml") } catch {
            #expect("\(error)".contains("p.yml:12:") && "\(error)".contains("bootstrap.dcs.loop_wait"), "\(error)")
        }
    }

    /// Patroni's way: timing that breaks loop_wait + 2 × retry_timeout ≤ ttl is adjusted with a
    /// warning naming file:line (loop_wait shortened to 1 s first, then retry_timeout).
    @Test func unsafeTimingIsAdjustedWithAWarning() throws {
        let unsafe = yaml.replacingOccurrences(of: "retry_timeout: 10", with: "retry_timeout: 15")
        let loaded = try ConfigLoader.parse(unsafe, file: "p.yml")
        #expect(loaded.config.timing.loopWait == 1 && loaded.config.timing.retryTimeout == 14.5, "\(loaded.config.timing)")
        #expect(loaded.warnings.contains { $0.hasPrefix("p.yml:") && $0.contains("bootstrap.dcs") && $0.contains("retry_timeout 15.0 → 14.5") }, "\(loaded.warnings)")
        let invalid = yaml.replacingOccurrences(of: "retry_timeout: 10", with: "retry_timeout: 0")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(invalid, file: "p.yml") }
    }

    /// bootstrap.dcs.standby_cluster: Patroni's keys read and seeded into `config`; problems name file:line:col and the key.
    @Test func standbyClusterSection() throws {
        let section = "    failsafe_mode: false\n    standby_cluster:\n      host: 10.1.0.1,10.1.0.2\n      port: \"5432,5433\"\n      primary_slot_name: dr\n      recovery_min_apply_delay: 5min\n      create_replica_methods: [basebackup]\n"
        let c = try ConfigLoader.parse(yaml.replacingOccurrences(of: "    failsafe_mode: false\n", with: section), file: "p.yml").config
        let s = try #require(c.dcsStandbyCluster)
        #expect(s.host == "10.1.0.1,10.1.0.2" && s.port == "5432,5433" && s.primarySlotName == "dr" && s.recoveryMinApplyDelay == "5min")
        #expect(s.createReplicaMethods == ["basebackup"])
        let seeded = DynamicConfig.from(c)
        #expect(DynamicConfig.parse(seeded.raw, base: c).standbyCluster == s)
        // The key's own section, never bootstrap.dcs's: a config key without it is a primary cluster.
        #expect(DynamicConfig.parse(#"{"ttl": 30}"#, base: c).standbyCluster == nil)
        #expect(UpstreamServer(remote: s).conninfo == "host=10.1.0.1,10.1.0.2 port=5432,5433 target_session_attrs=read-write tcp_user_timeout=5000")
        for (bad, at, says) in [("      port: lots\n", "p.yml:20:", "bootstrap.dcs.standby_cluster.port: expected a port"),
                                ("      primary_slot_name: dr\n", "p.yml:", "bootstrap.dcs.standby_cluster: needs host or restore_command")] {
            let text = yaml.replacingOccurrences(of: "    failsafe_mode: false\n", with: "    failsafe_mode: false\n    standby_cluster:\n" + (bad.contains("port") ? "      host: h\n" : "") + bad)
            do { _ = try ConfigLoader.parse(text, file: "p.yml"); Issue.record("accepted \(bad)") } catch {
                #expect("\(error)".contains(says), "\(error)")
                #expect("\(error)".hasPrefix(at), "\(error)")
            }
        }
        #expect(ConfigEdit.problem(["standby_cluster": ["port": 5432]]) == "standby_cluster: needs host or restore_command")
        #expect(ConfigEdit.problem(["standby_cluster": JSONNull()]) == nil)
    }

    /// postgresql.auto.conf loses the recovery settings a copy brought (they would override
    /// pgha.conf's); every other line, comments and ALTER SYSTEM's other parameters stay.
    @Test func autoConfLosesACopysRecoverySettings() throws {
        let dir = try makeTempDir("pgha-autoconf")
        defer { removeTree(dir) }
        let c = try ConfigLoader.parse(yaml.replacingOccurrences(of: "data_dir: /var/lib/postgresql/15/main", with: "data_dir: \(dir)"), file: "p.yml").config
        let files = PostgresFiles(config: c)
        let text = """
            # Do not edit this file manually!
            # It will be overwritten by the ALTER SYSTEM command.
            work_mem = '8MB'
            restore_command = 'pgbackrest --stanza=demo archive-get %f "%p"'
              Recovery_Target_Time='2026-12-07 05:00:00+00'
            primary_conninfo 'host=elsewhere'
            restore_command_x = 'kept: another name'
            # restore_command = 'a comment stays'

            """
        try text.write(toFile: dir + "/postgresql.auto.conf", atomically: true, encoding: .utf8)
        #expect(try files.sanitizeAutoConf() == ["restore_command", "recovery_target_time", "primary_conninfo"])
        #expect(try String(contentsOfFile: dir + "/postgresql.auto.conf", encoding: .utf8) == """
            # Do not edit this file manually!
            # It will be overwritten by the ALTER SYSTEM command.
            work_mem = '8MB'
            restore_command_x = 'kept: another name'
            # restore_command = 'a comment stays'

            """)
        #expect(try files.sanitizeAutoConf() == [], "a second pass finds nothing")
        removeTree(dir + "/postgresql.auto.conf")
        #expect(try files.sanitizeAutoConf() == [], "no file: nothing to do")

        // Why a server stopped while starting: the last FATAL (or PANIC) line of its log.
        #expect(files.lastLogProblem() == nil, "no log yet")
        let log = (0..<2000).map { "2026-12-07 15:11:23.\($0) UTC [2047] LOG:  line \($0)" }.joined(separator: "\n") + """

            2026-12-07 15:11:23.131 UTC [2047] FATAL:  could not restore file "0000000A.history" from archive: command not found
            2026-12-07 15:11:23.135 UTC [2042] LOG:  startup process (PID 2047) exited with exit code 1
            """
        try log.write(toFile: files.logPath, atomically: true, encoding: .utf8)
        defer { removeTree(files.logPath) }
        #expect(files.lastLogProblem() == #"2026-12-07 15:11:23.131 UTC [2047] FATAL:  could not restore file "0000000A.history" from archive: command not found"#)
    }

    /// Patroni's custom bootstrap: bootstrap.method names a bootstrap.NAME section with its command.
    @Test func bootstrapMethodSection() throws {
        func with(_ section: String) -> String {
            yaml.replacingOccurrences(of: "    - data-checksums\n", with: "    - data-checksums\n" + section)
        }
        let ok = "  method: pgbackrest\n  pgbackrest:\n    command: /usr/local/bin/restore --type=time\n    keep_existing_recovery_conf: true\n    target: '2026-12-07 05:00'\n    recovery_conf:\n      restore_command: pgbackrest archive-get %f %p\n      recovery_target_action: promote\n"
        let c = try ConfigLoader.parse(with(ok), file: "p.yml")
        let m = try #require(c.config.bootstrapMethod)
        #expect(m.name == "pgbackrest" && m.command == "/usr/local/bin/restore --type=time" && m.keepExistingRecoveryConf && !m.noParams)
        #expect(m.recoveryConf == ["restore_command": "pgbackrest archive-get %f %p", "recovery_target_action": "promote"])
        #expect(m.arguments(scope: "demo", dataDir: "/d") == ["--scope=demo", "--datadir=/d", "--target=2026-12-07 05:00"])
        #expect(!c.warnings.contains { $0.contains("bootstrap.pgbackrest") }, "\(c.warnings)")
        var quiet = m
        quiet.noParams = true
        #expect(quiet.arguments(scope: "demo", dataDir: "/d") == ["--target=2026-12-07 05:00"])
        // method: initdb (or none) is initdb; a section no method names is an unknown key.
        let plain = try ConfigLoader.parse(with("  method: initdb\n  spare:\n    command: /bin/true\n"), file: "p.yml")
        #expect(plain.config.bootstrapMethod == nil)
        #expect(plain.warnings.contains { $0.hasPrefix("p.yml:26:") && $0.contains("unknown key bootstrap.spare") }, "\(plain.warnings)")
        for (bad, says) in [("  method: pitr\n", "p.yml:25:11: bootstrap.method: pitr has no bootstrap.pitr section"),
                            ("  method: pitr\n  pitr:\n    command: restore.sh --fast\n", "p.yml:27:14: bootstrap.pitr.command: expected an absolute path to the program, got restore.sh --fast"),
                            ("  method: pitr\n  pitr:\n    no_params: true\n", "p.yml:27:5: bootstrap.pitr.command: required"),
                            ("  method: pitr\n  pitr:\n    command: /r\n    no_params: maybe\n", "p.yml:28:16: bootstrap.pitr.no_params: expected")] {
            do { _ = try ConfigLoader.parse(with(bad), file: "p.yml"); Issue.record("accepted \(bad)") } catch {
                #expect("\(error)".hasPrefix(says), "\(error)")
            }
        }
    }

    @Test func missingNameIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("scope: x\npostgresql:\n  data_dir: /d\n", file: "p.yml") }
    }

    /// Keys from Patroni's sample configurations, and their bad values named by file:line and key.
    @Test func patroniSampleKeys() throws {
        let text = """
        scope: demo
        name: n1
        bootstrap:
          post_init: /usr/local/bin/setup-db --quiet
          dcs:
            postgresql:
              pg_hba:
                - host all all 10.0.0.0/8 scram-sha-256
        postgresql:
          data_dir: /d
          authentication:
            rewind: {username: rewinder, password: rw}
          basebackup:
            max-rate: 100M
            checkpoint: spread
          create_replica_methods: [pgbackrest, basebackup]
          pgbackrest:
            command: /usr/bin/pgbackrest --stanza=demo --delta restore
            keep_data: true
            no_params: true
            type: standby
          use_unix_socket_repl: true
          callbacks:
            on_role_change: /usr/local/bin/vip 10.0.0.100
        """
        let loaded = try ConfigLoader.parse(text, file: "p.yml")
        let c = loaded.config
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(c.postBootstrap == "/usr/local/bin/setup-db --quiet")
        #expect(c.dcsPgHBA == ["host all all 10.0.0.0/8 scram-sha-256"])
        #expect(DynamicConfig.from(c).pgHBA == c.dcsPgHBA && DynamicConfig.from(c).raw.contains("pg_hba"))
        #expect(c.postgres.rewind == Credentials(username: "rewinder", password: "rw"))
        #expect(c.postgres.basebackupOptions.sorted() == ["--checkpoint=spread", "--max-rate=100M"])
        #expect(c.postgres.createReplicaMethods.map(\.name) == ["pgbackrest", "basebackup"])
        let m = c.postgres.createReplicaMethods[0]
        #expect(m.command == "/usr/bin/pgbackrest --stanza=demo --delta restore" && m.keepData && m.noParams && m.parameters == ["type": "standby"])
        #expect(m.arguments(scope: "demo", dataDir: "/d", connstring: "host=h") == [])
        var plain = m
        plain.noParams = false
        #expect(plain.arguments(scope: "demo", dataDir: "/d", connstring: "host=h port=5432")
                == ["--scope=demo", "--datadir=/d", "--role=replica", "--connstring=host=h port=5432", "--type=standby"])
        #expect(c.postgres.useUnixSocketRepl && c.postgres.callbacks["on_role_change"] == "/usr/local/bin/vip 10.0.0.100")

        for (bad, at, says) in [
            ("    checkpoint: spread\n", "    pgdata: /elsewhere\n", "postgresql.basebackup: --pgdata=/elsewhere is set by pgha itself"),
            ("  create_replica_methods: [pgbackrest, basebackup]\n", "  create_replica_methods: [wal_e, basebackup]\n",
             "postgresql.create_replica_methods: wal_e has no postgresql.wal_e section"),
            ("    no_params: true\n", "    no_leader: true\n", "postgresql.pgbackrest.no_leader: not supported"),
            ("    on_role_change: /usr/local/bin/vip 10.0.0.100", "    on_role_change: vip.sh",
             "postgresql.callbacks.on_role_change: expected an absolute path"),
            ("  post_init: /usr/local/bin/setup-db --quiet\n", "  post_init: setup-db\n", "bootstrap.post_init: expected an absolute path"),
        ] {
            let broken = text.replacingOccurrences(of: bad, with: at)
            #expect(broken != text)
            do { _ = try ConfigLoader.parse(broken, file: "p.yml"); Issue.record("accepted \(at)") } catch {
                #expect("\(error)".hasPrefix("p.yml:") && "\(error)".contains(says), "\(error)")
            }
        }
    }
}
