// Every cluster playbook passes the engine's full validation (modules, options, keywords,
// YAML), and the inventories the workflows use define every variable their plays need.
import Foundation
import Testing
@testable import Provision

@Suite struct ClusterPlaybooksTests {
    static let playbooks = ["site.yml", "etcd.yml", "pgbackrest.yml", "postgres.yml", "backup.yml", "pgbouncer.yml", "haproxy.yml",
                            "check.yml", "demo.yml", "switchover.yml", "set.yml", "rebuild.yml", "restore.yml", "dr-promote.yml", "down.yml"]

    @Test(arguments: playbooks)
    func playbookValidates(name: String) throws {
        let playbook = try PlaybookParser.parse(path: TemplateHost.root + "/playbooks/" + name)
        #expect(!playbook.plays.isEmpty)
    }

    /// pgBackRest is configured before Postgres starts (the first archive-push finds it); the
    /// stanza is made once Postgres runs.
    @Test func siteRunsEtcdThenPgBackRestThenPostgresThenBackupThenPgBouncerThenHaproxy() throws {
        let playbook = try PlaybookParser.parse(path: TemplateHost.root + "/playbooks/site.yml")
        #expect(playbook.plays.map(\.name) == ["etcd cluster", "etcd members restart one at a time for new certificates",
                                               "pgbackrest on the database hosts and the backup host", "postgres hosts",
                                               "pgha agents restart one at a time after an upgrade", "backup repository", "pgbouncer", "haproxy"])
        #expect(playbook.plays.map(\.hosts) == ["etcd", "etcd", "postgres:backup", "postgres", "postgres", "backup", "postgres", "haproxy"])
    }
}
