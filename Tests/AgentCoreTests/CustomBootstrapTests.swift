// Patroni's custom bootstrap (bootstrap.method) on loopback: a new cluster made from a base backup
// and a WAL archive by a restore script, recovered to a named restore point (point-in-time
// recovery), then promoted; the second member clones it.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct CustomBootstrapTests {
    @Test func restoreScriptBootstrapsToARestorePoint() throws {
        let cluster = try AgentCluster(size: 2, scope: "pitr")
        defer { cluster.shutdown() }
        let (uid, gid) = (getpwnam("postgres").pointee.pw_uid, getpwnam("postgres").pointee.pw_gid)
        let source = cluster.root + "/source", archive = cluster.root + "/archive", backup = cluster.root + "/backup"
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: false)
        _ = chown(archive, uid, gid)

        // The old cluster: archiving WAL, a base backup, rows before and after a restore point. Its
        // parameters are bootstrap.dcs's: a recovery refuses settings below the old primary's.
        _ = try cluster.asPostgres("initdb", ["-D", source, "-U", "postgres", "--auth=trust"])
        let port = try freePort()
        let options = "-c port=\(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(cluster.root) -c max_connections=40 -c shared_buffers=16MB -c archive_mode=on -c archive_command='cp %p \(archive)/%f'"
        _ = try cluster.asPostgres("pg_ctl", ["start", "-D", source, "-l", cluster.root + "/source.log", "-w", "-o", options])
        defer { _ = try? cluster.asPostgres("pg_ctl", ["stop", "-D", source, "-m", "immediate", "-w"]) }
        let db = try sourceConnection(port: port)
        _ = try db.query("CREATE TABLE orders (id int PRIMARY KEY)")
        _ = try db.query("INSERT INTO orders SELECT generate_series(1, 100)")
        _ = try cluster.asPostgres("pg_basebackup", ["-D", backup, "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-X", "none", "-c", "fast"])
        _ = try db.query("INSERT INTO orders SELECT generate_series(101, 200)")
        _ = try db.query("SELECT pg_create_restore_point('before_delete')")
        _ = try db.query("DELETE FROM orders WHERE id > 50")  // the mistake the restore undoes
        let sysid = try #require(try db.query("SELECT system_identifier::text AS s FROM pg_control_system()").value("s"))
        let last = try #require(try db.query("SELECT pg_walfile_name(pg_switch_wal()) AS f").value("f"))
        let archived = waitUntil(timeout: 30, interval: 0.2) { FileManager.default.fileExists(atPath: archive + "/" + last) }
        #expect(archived, "WAL \(last) archived")

        // The restore script (what pgBackRest's restore does for a real cluster) and the method.
        let script = cluster.root + "/restore.sh", calls = cluster.root + "/restore.calls"
        try """
        #!/bin/sh
        echo "$@" >> \(calls)
        for a; do case $a in --datadir=*) d=${a#--datadir=};; esac; done
        mkdir -p "$d" && cp -a \(backup)/. "$d"/
        """.write(toFile: script, atomically: true, encoding: .utf8)
        _ = chmod(script, 0o755)
        let method = """
        bootstrap:
          method: pitr
          pitr:
            command: \(script)
            recovery_conf:
              restore_command: cp \(archive)/%f %p
              recovery_target_name: before_delete
              recovery_target_action: promote
          dcs:

        """
        for m in cluster.members { try cluster.rewriteConfig(of: m.name, "bootstrap:\n  dcs:\n", method) }

        let t0 = Date()
        try cluster.startAll()
        let primary = try cluster.healthy(timeout: 120)
        print("custom bootstrap: \(primary) restored, promoted, and the other member streaming \(String(format: "%.1f", Date().timeIntervalSince(t0))) s after the agents started")
        for m in cluster.members {
            let c = try cluster.connect(m.name)
            #expect(try c.query("SELECT system_identifier::text AS s FROM pg_control_system()").value("s") == sysid, "\(m.name)")
            let ids = try cluster.eventually(30, "the restored rows on \(m.name)") { () -> [Int]? in
                let r = (try? c.query("SELECT id FROM orders ORDER BY id"))?.rows.compactMap { $0[0].flatMap { Int($0) } }
                return r?.count == 200 ? r : nil
            }
            #expect(ids == Array(1...200), "exactly the rows before the restore point on \(m.name)")
        }
        let called = try String(contentsOfFile: calls, encoding: .utf8)
        #expect(called.split(separator: "\n").count == 1 && called.contains("--scope=pitr --datadir=\(cluster.member(primary).dataDir)"), "\(called)")
        let history = try #require(cluster.etcdValue("history"))
        #expect(history.contains("before_delete"), "the recovery's timeline switch in history: \(history)")
        #expect(cluster.etcdValue("initialize") == sysid)
    }

    func sourceConnection(port: Int) throws -> PGConnection {
        try PGConnection(conninfo: "host=127.0.0.1 port=\(port) user=postgres dbname=postgres", connectTimeout: 3)
    }
} }
