// The backup and point-in-time-recovery part of ClusterEndToEndTests (issue 12), on its one lab:
// a full backup before the drills, then after them (every failover in between must have left the
// archive whole, or the recovery stops short) rows acknowledged, the time noted, later rows, the
// table dropped, `provision restore --to` the noted time; then a replica rebuilt from the backup.
import Foundation
import PQ
import Testing
@testable import Provision

extension ClusterEndToEndTests {
    struct BackupFacts {
        let conninfo: (String) -> String   // host → verify-full conninfo as postgres
        let entry: String                   // through the floating address
    }

    static func backupFacts(_ workflow: ClusterWorkflow, inventory: String, password: String) throws -> BackupFacts {
        let f = try tlsFacts(workflow, inventory: inventory)
        let conninfo = { (host: String) in "host=\(host) port=\(f.postgresPort) user=postgres password=\(password) dbname=postgres sslmode=verify-full sslrootcert=\(f.ca)" }
        return BackupFacts(conninfo: conninfo, entry: "host=\(f.vip) port=\(f.primaryPort) user=postgres password=\(password) dbname=postgres sslmode=verify-full sslrootcert=\(f.ca)")
    }

    /// `provision backup --type full`, `provision backups`, and what must be refused: a restore of a
    /// healthy cluster without --force, a target before the backup, a rebuild of an unknown host.
    static func firstBackup(_ workflow: ClusterWorkflow) throws -> BackupSet {
        let made = try timed("provision backup --type full") { try workflow.backup(type: .full) }
        let info = try workflow.backups()
        print(info.table, terminator: "")
        #expect(info.backups.map(\.label) == [made.label] && made.type == "full" && made.databaseBytes > 0 && !made.walStart.isEmpty)
        #expect(info.statusCode == 0, "stanza status \(info.statusMessage)")
        let before = try ClusterStatus.fetch(inventory: workflow.inventory)
        #expect(throws: WorkflowError.self) { try workflow.restore(to: .latest, force: false) }  // healthy: refused
        #expect(throws: WorkflowError.self) { try workflow.restore(to: .time(made.start.addingTimeInterval(-60), microseconds: 0), force: true) }
        #expect(throws: WorkflowError.self) { try workflow.rebuild(host: "nosuchhost", forceFailover: false, from: .backup) }
        let after = try ClusterStatus.fetch(inventory: workflow.inventory)
        #expect(after.leader?.name == before.leader?.name && after.leader?.timeline == before.leader?.timeline, "a refused restore changed the cluster")
        // pgBackRest's TLS keys and the repository's configuration (the passphrase) are 0600.
        for host in workflow.inventory.hosts(inGroup: "postgres") + workflow.inventory.hosts(inGroup: "backup") {
            let t = try Connector.transport(forHost: host, variables: workflow.inventory.variables(forHost: host))
            defer { t.close() }
            let modes = try t.run("stat -c '%a' /etc/pgbackrest/tls/host.key /etc/pgbackrest/pgbackrest.conf").stdout
            #expect(modes.split(separator: "\n") == ["600", "600"], "\(host): pgBackRest key and config modes \(modes)")
        }
        return made
    }

    /// Rows acknowledged, the time noted, later rows, DROP TABLE, more writes elsewhere; then
    /// `provision restore --to` the noted time: the table holds exactly the rows before it, on a
    /// new timeline, with one leader, two streaming replicas, and `provision check` passing.
    static func pointInTimeRecovery(_ workflow: ClusterWorkflow, facts: BackupFacts) throws {
        let entry = try PGConnection(conninfo: facts.entry, connectTimeout: 5)
        try entry.query("create table e2e_pitr (id integer primary key, at timestamptz not null default clock_timestamp())")
        for id in 1...20 { try entry.query("insert into e2e_pitr (id) values ($1)", [String(id)]) }  // each acknowledged
        let noted = try #require(try entry.query("select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'").rows.first?.first ?? nil)
        Thread.sleep(forTimeInterval: 1)
        for id in 21...30 { try entry.query("insert into e2e_pitr (id) values ($1)", [String(id)]) }
        try entry.query("drop table e2e_pitr")
        try entry.query("create table if not exists e2e_after_drop (id integer)")
        try entry.query("insert into e2e_after_drop select generate_series(1, 100)")
        let before = try ClusterStatus.fetch(inventory: workflow.inventory)
        print("[cluster e2e] PITR: 20 rows, then the time \(noted), 10 rows, DROP TABLE, 100 rows elsewhere; timeline \(before.leader?.timeline ?? 0)")

        let target = try RestoreTarget(parsing: noted)
        #expect(throws: WorkflowError.self) { try workflow.restore(to: target, force: false) }  // healthy: refused
        let status = try timed("provision restore --to \(noted)") { try workflow.restore(to: target, force: true) }
        print(status.table)
        #expect(status.members.filter { $0.role == "leader" }.count == 1)
        #expect(status.members.filter { $0.state == "streaming" }.count == 2)
        #expect((status.leader?.timeline ?? 0) > (before.leader?.timeline ?? 0), "timeline \(before.leader?.timeline ?? 0) → \(status.leader?.timeline ?? 0)")
        for member in status.members {
            let conn = try PGConnection(conninfo: facts.conninfo(member.host), connectTimeout: 5)
            var ids: [String] = []
            let deadline = Date().addingTimeInterval(15)  // a replica replays the last commits a moment later
            repeat {
                ids = try conn.query("select id from e2e_pitr order by id").rows.compactMap { $0.first ?? nil }
                if ids.count == 20 { break }
                Thread.sleep(forTimeInterval: 0.5)
            } while Date() < deadline
            #expect(ids == (1...20).map(String.init), "\(member.name) (\(member.role)) holds e2e_pitr rows \(ids)")
            let later = try conn.query("select to_regclass('e2e_after_drop') is null").rows.first?.first ?? nil
            #expect(later == "t", "\(member.name) has a table made after the target")
        }
        _ = try timed("check after restore") { try workflow.check() }
    }

    /// A second backup on the new timeline, then a replica rebuilt from it (`--from backup`):
    /// its data directory came from the repository (the playbook checks pgha.data_id), it streams
    /// and holds every row the primary has.
    static func rebuildFromBackup(_ workflow: ClusterWorkflow, facts: BackupFacts) throws {
        let second = try timed("provision backup --type diff") { try workflow.backup(type: .diff) }
        print("[cluster e2e] second backup \(second.label) (\(second.type)), WAL \(second.walStart)")
        let status = try ClusterStatus.fetch(inventory: workflow.inventory)
        let replica = try #require(status.members.first { $0.role != "leader" }?.name)
        let primary = try #require(status.leader)
        let entry = try PGConnection(conninfo: facts.conninfo(primary.host), connectTimeout: 5)
        try entry.query("create table if not exists e2e_after_backup (id integer primary key)")
        try entry.query("insert into e2e_after_backup select generate_series(1, 500) on conflict do nothing")
        try timed("rebuild \(replica) --from backup") { try workflow.rebuild(host: replica, forceFailover: false, from: .backup) }
        let after = try workflow.check()
        #expect(after.members.first { $0.name == replica }?.state == "streaming")
        let counts = "select (select count(*) from e2e_writes) || ' ' || (select count(*) from e2e_after_backup) || ' ' || (select count(*) from provision_check)"
        let want = try entry.query(counts).rows.first?.first ?? nil
        let member = try #require(after.members.first { $0.name == replica })
        let got = try PGConnection(conninfo: facts.conninfo(member.host), connectTimeout: 5).query(counts).rows.first?.first ?? nil
        #expect(got == want, "\(replica) rebuilt from the backup holds \(got ?? "?") rows, the primary \(want ?? "?")")
    }
}
