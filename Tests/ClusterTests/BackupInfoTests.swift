// `pgbackrest info --output=json` parsed (the shape pgBackRest 2.45 prints), `--to` times checked,
// and the pgBackRest configuration rendered for the lab's repository and database hosts.
import AgentCore
import Foundation
import Testing
@testable import Provision

@Suite struct BackupInfoTests {
    static let info = """
    [{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000030000000000000009","min":"000000010000000000000001"}],
    "backup":[{"archive":{"start":"000000010000000000000004","stop":"000000010000000000000004"},"backrest":{"format":5,"version":"2.45"},
    "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":31000000,"repository":{"delta":4100000,"size":4100000},"size":31000000},
    "label":"20261207-012001F","lsn":{"start":"0/4000028","stop":"0/4000100"},"prior":null,"reference":null,
    "timestamp":{"start":1796606401,"stop":1796606409},"type":"full"},
    {"archive":{"start":"000000030000000000000008","stop":"000000030000000000000008"},"backrest":{"format":5,"version":"2.45"},
    "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":2000000,"repository":{"delta":300000,"size":300000},"size":31500000},
    "label":"20261207-012001F_20261207-013002D","lsn":{"start":"0/8000028","stop":"0/8000100"},"prior":"20261207-012001F",
    "reference":["20261207-012001F"],"timestamp":{"start":1796607002,"stop":1796607004},"type":"diff"}],
    "cipher":"aes-256-cbc","db":[{"id":1,"repo-key":1,"system-id":7580000000000000000,"version":"15"}],"name":"demo",
    "repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":0,"message":"ok"}}],
    "status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]
    """

    @Test func parsesBackupSetsAndArchive() throws {
        let i = try BackupInfo(json: Self.info, stanza: "demo")
        #expect(i.statusCode == 0 && i.statusMessage == "ok")
        #expect(i.archiveMin == "000000010000000000000001" && i.archiveMax == "000000030000000000000009")
        #expect(i.backups.map(\.label) == ["20261207-012001F", "20261207-012001F_20261207-013002D"])
        #expect(i.backups.map(\.type) == ["full", "diff"])
        let full = i.backups[0]
        #expect(full.start == Date(timeIntervalSince1970: 1796606401) && full.stop == Date(timeIntervalSince1970: 1796606409))
        #expect(full.databaseBytes == 31_000_000 && full.repositoryBytes == 4_100_000)
        #expect(full.walStart == "000000010000000000000004" && full.walStop == "000000010000000000000004")
        #expect(i.table.contains("20261207-012001F_20261207-013002D | diff"))
        #expect(i.table.contains("archive 000000010000000000000001 - 000000030000000000000009"))
    }

    @Test func aStanzaWithoutBackupsAndOtherStanzasAreRead() throws {
        let empty = #"[{"archive":[],"backup":[],"name":"demo","status":{"code":2,"message":"no valid backups"}}]"#
        let i = try BackupInfo(json: empty, stanza: "demo")
        #expect(i.backups.isEmpty && i.archiveMin == nil && i.statusCode == 2)
        #expect(throws: WorkflowError.self) { try BackupInfo(json: empty, stanza: "other") }
        #expect(throws: WorkflowError.self) { try BackupInfo(json: "ERROR: [055]: unable to load info file", stanza: "demo") }
    }

    @Test(arguments: [
        ("2026-12-07 01:23:45+00", "2026-12-07 01:23:45.000000+00"),
        ("2026-12-07T01:23:45Z", "2026-12-07 01:23:45.000000+00"),
        ("2026-12-07 01:23:45.5 UTC", "2026-12-07 01:23:45.500000+00"),
        ("2026-12-07 02:23:45.123456+01:00", "2026-12-07 01:23:45.123456+00"),
        ("2026-12-06 20:53:45-0430", "2026-12-07 01:23:45.000000+00"),
        ("2026-12-31 23:30:00-01", "2027-01-01 00:30:00.000000+00"),
    ])
    func parsesTargetsWithAZone(text: String, target: String) throws {
        #expect(try RestoreTarget(parsing: text).pgbackrestTarget == target)
    }

    @Test(arguments: ["2026-12-07 01:23:45", "yesterday", "2026-13-07 01:23:45Z", "2026-02-30 01:00:00Z", "2026-12-07 25:00:00Z",
                      "2026-12-07 01:23:45+15", "2026-12-07 01:23:45.1234567Z", "'2026-12-07 01:23:45+00'; rm -rf /"])
    func refusesTargetsWithoutAZoneOrMalformed(text: String) {
        #expect(throws: WorkflowError.self) { try RestoreTarget(parsing: text) }
    }

    @Test func refusesTargetsTheRepositoryCannotReach() throws {
        let i = try BackupInfo(json: Self.info, stanza: "demo")
        let now = Date(timeIntervalSince1970: 1796608000)
        // Before the first backup finished, in the future: refused. In between: fine; latest: fine.
        #expect(throws: WorkflowError.self) { try RestoreTarget.time(Date(timeIntervalSince1970: 1796606405), microseconds: 0).check(against: i, now: now) }
        #expect(throws: WorkflowError.self) { try RestoreTarget.time(Date(timeIntervalSince1970: 1796608100), microseconds: 0).check(against: i, now: now) }
        try RestoreTarget.time(Date(timeIntervalSince1970: 1796606500), microseconds: 0).check(against: i, now: now)
        try RestoreTarget.latest.check(against: i, now: now)
        let empty = try BackupInfo(json: #"[{"archive":[],"backup":[],"name":"demo","status":{"code":2,"message":"no valid backups"}}]"#, stanza: "demo")
        #expect(throws: WorkflowError.self) { try RestoreTarget.latest.check(against: empty, now: now) }
    }

    /// The repository host serves the database hosts and reaches each of them over TLS; each
    /// database host reaches the repository over TLS and serves it alone; the passphrase stays on the repository host.
    @Test func pgbackrestConfigurationIsTLSBothWays() throws {
        let repo = try TemplateHost(inventory: "inventories/lab", host: "bk1")
        defer { repo.cleanup() }
        let r = try repo.render("pgbackrest.conf.j2", extra: ["pgbackrest_user": "pgbackrest"])
        let databases = repo.inventory.hosts(inGroup: "postgres")
        for (i, h) in databases.enumerated() {
            #expect(r.contains("tls-server-auth=\(h)=demo\n"))
            for line in ["pg\(i + 1)-host=\(h)", "pg\(i + 1)-host-type=tls", "pg\(i + 1)-path=/var/lib/postgresql/15/clusters/demo",
                         "pg\(i + 1)-host-cert-file=/etc/pgbackrest/tls/host.crt"] {
                #expect(r.contains(line + "\n"), "\(line) in\n\(r)")
            }
        }
        #expect(r.contains("repo1-path=/var/lib/pgbackrest\n") && r.contains("repo1-retention-full=2\n") && r.contains("repo1-retention-diff=7\n"))
        #expect(r.contains("repo1-cipher-type=aes-256-cbc\n") && !r.contains("repo1-host="))
        let passphrase = try String(contentsOfFile: repo.secretsDir + "/backup_cipher_pass", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(r.contains("repo1-cipher-pass=\(passphrase)\n"))

        let db = try TemplateHost(inventory: "inventories/lab", host: "pg2")
        defer { db.cleanup() }
        let d = try db.render("pgbackrest.conf.j2", extra: ["pgbackrest_user": "postgres"])
        for line in ["repo1-host=bk1", "repo1-host-type=tls", "repo1-host-ca-file=/etc/pgbackrest/tls/ca.crt", "tls-server-auth=bk1=demo",
                     "archive-async=y", "pg1-path=/var/lib/postgresql/15/clusters/demo", "[demo]"] {
            #expect(d.contains(line + "\n"), "\(line) in\n\(d)")
        }
        #expect(!d.contains("cipher") && !d.contains("repo1-path") && !d.contains("tls-server-auth=pg"))
    }

    /// With a backup group: pgha archives through pgBackRest from whichever member is primary, and
    /// makes replicas from the repository first, pg_basebackup second.
    @Test func pghaArchivesAndClonesFromTheRepository() throws {
        let host = try TemplateHost(inventory: "inventories/lab", host: "pg3")
        defer { host.cleanup() }
        let loaded = try ConfigLoader.parse(try host.render("pgha.yml.j2"), file: "pgha.yml")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let pg = loaded.config.postgres
        #expect(pg.parameters["archive_mode"] == "on")
        #expect(pg.parameters["archive_command"] == "/usr/bin/pgbackrest --stanza=demo archive-push %p")
        #expect(pg.parameters["restore_command"] == #"/usr/bin/pgbackrest --stanza=demo archive-get %f "%p""#)
        #expect(pg.createReplicaMethods.map(\.name) == ["pgbackrest", "basebackup"])
        #expect(pg.createReplicaMethods[0].command == "/usr/local/bin/pgha-restore-replica" && pg.createReplicaMethods[0].keepData)
    }
}
