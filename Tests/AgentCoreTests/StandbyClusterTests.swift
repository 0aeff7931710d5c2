// A standby cluster (Patroni's standby_cluster) on loopback: scope "main" (2 members) and scope
// "dr" (2 members) on one etcd; dr's standby leader streams from main through a libpq host list,
// its other member cascades from it; a switchover on main does not break dr; removing
// standby_cluster from dr's config promotes it (the DR promote).
import AgentCore
import Fixtures
import Foundation
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct StandbyClusterTests {
    @Test func standbyClusterFollowsSwitchoverAndPromotes() throws {
        let etcd = try EtcdServer()
        let main = try AgentCluster(size: 2, scope: "main", etcd: etcd)
        defer { main.shutdown() }
        try main.startAll()
        let mainPrimary = try main.healthy()
        _ = try main.connect(mainPrimary).query("CREATE TABLE dr_rows (id int PRIMARY KEY, at text)")
        _ = try main.connect(mainPrimary).query("INSERT INTO dr_rows VALUES (1, 'before the standby cluster')")

        // Both main members as one libpq host list, main's replica first: the standby leader's
        // copy and its stream come from the read-write one. The replica's postgresql.auto.conf
        // carries a marker (a copy of it would too); the primary's a restore_command that cannot
        // run, as a replica restored by pgBackRest has one: pgha removes it from the copies, or
        // the standby leader would stop at its first archive fetch ("command not found").
        let mainReplica = try #require(main.members.first { $0.name != mainPrimary })
        let ordered = [mainReplica] + main.members.filter { $0.name == mainPrimary }
        let marker = "# the main replica's own line (\(mainReplica.name))"
        let autoConf = { (m: AgentCluster.Member) in m.dataDir + "/postgresql.auto.conf" }
        for (m, line) in [(mainReplica, marker), (ordered[1], "restore_command = '/nonexistent/pgha-test-restore %f \"%p\"'")] {
            let h = try #require(FileHandle(forWritingAtPath: autoConf(m)))
            h.seekToEndOfFile(); h.write(Data((line + "\n").utf8)); h.closeFile()
        }
        let dr = try AgentCluster(size: 2, scope: "dr", dcsYAML: """
                standby_cluster:
                  host: \(ordered.map { _ in "127.0.0.1" }.joined(separator: ","))
                  port: "\(ordered.map { "\($0.pgPort)" }.joined(separator: ","))"
            """, etcd: etcd, memberPrefix: "d")
        defer { dr.shutdown() }
        let t0 = Date()
        try dr.startAll()
        let standbyLeader = try dr.eventually(120, "a standby leader in dr") { () -> String? in
            let s = dr.members.filter { dr.status($0.name, "/standby-leader") == 200 }
            return s.count == 1 ? s[0].name : nil
        }
        let follower = dr.members.map(\.name).first { $0 != standbyLeader }!
        _ = try dr.eventually(120, "\(follower) cascading from \(standbyLeader)") { dr.streaming(on: standbyLeader).contains(follower) ? true : nil }
        print("standby cluster: standby leader \(standbyLeader) and \(follower) cascading \(String(format: "%.1f", Date().timeIntervalSince(t0))) s after the agents started")
        #expect(main.streaming(on: mainPrimary).contains(standbyLeader), "the standby leader streams from main's primary")
        for m in dr.members {
            let copied = try String(contentsOfFile: autoConf(m), encoding: .utf8)
            #expect(!copied.contains(marker), "\(m.name) is a copy of main's replica, not of its primary:\n\(copied)")
            #expect(!copied.contains("restore_command"), "\(m.name) kept the primary's restore_command:\n\(copied)")
        }
        for m in dr.members {
            #expect(dr.status(m.name, "/primary") == 503, "\(m.name) is no primary")
            #expect(try rows(dr, m.name).contains(1), "\(m.name) has main's row")
        }
        #expect(dr.status(follower, "/standby-leader") == 503)
        #expect(dr.status(follower, "/replica") == 200)
        #expect(dr.status(standbyLeader, "/replica") == 503)
        let patroni = try #require(dr.body(standbyLeader, "/patroni"))
        #expect(patroni.contains(#""role":"standby_leader""#), "\(patroni)")
        let clusterJSON = try #require(dr.body(follower, "/cluster"))
        #expect(clusterJSON.contains(#""role":"standby_leader""#), "\(clusterJSON)")
        #expect(try dr.cli(["list"]).out.contains("Standby Leader"))
        #expect(try rows(main, mainPrimary) == [1])
        let drSysid = try dr.connect(standbyLeader).query("SELECT system_identifier::text AS s FROM pg_control_system()").value("s")
        #expect(drSysid == main.etcdValue("initialize"), "a standby cluster is a copy of main")
        #expect(dr.etcdValue("initialize") == drSysid)

        // A switchover on main: the standby leader's host list finds the new primary.
        let candidate = main.members.map(\.name).first { $0 != mainPrimary }!
        let switched = try main.cli(["switchover", "--candidate", candidate, "--force"])
        #expect(switched.status == 0, "\(switched)")
        // main's primary also streams to dr's standby leader: healthy() (exactly main's members) does not fit.
        let newPrimary = try main.eventually(60, "\(candidate) primary with \(mainPrimary) streaming") { () -> String? in
            main.primary() == candidate && main.streaming(on: candidate).contains(mainPrimary) ? candidate : nil
        }
        _ = try main.connect(newPrimary).query("INSERT INTO dr_rows VALUES (2, 'after the switchover on main')")
        let t1 = Date()
        for m in dr.members {
            _ = try dr.eventually(60, "row 2 on \(m.name)") { (try? rows(dr, m.name))?.contains(2) == true ? true : nil }
        }
        print("standby cluster: the row written after main's switchover on both dr members after \(String(format: "%.2f", Date().timeIntervalSince(t1))) s")
        #expect(dr.streaming(on: standbyLeader).contains(follower))

        // DR promote: standby_cluster removed from dr's dynamic configuration.
        let t2 = Date()
        let patch = dr.http(standbyLeader, "PATCH", "/config", body: #"{"standby_cluster": null}"#)
        #expect(patch?.status == 200, "\(String(describing: patch))")
        let drPrimary = try dr.healthy(timeout: 60)
        print("standby cluster: dr promoted, \(drPrimary) primary with \(follower == drPrimary ? standbyLeader : follower) streaming \(String(format: "%.1f", Date().timeIntervalSince(t2))) s after the PATCH")
        #expect(drPrimary == standbyLeader)
        _ = try dr.connect(drPrimary).query("INSERT INTO dr_rows VALUES (3, 'written on dr after the promote')")
        _ = try dr.eventually(30, "row 3 on \(follower)") { (try? rows(dr, follower))?.contains(3) == true ? true : nil }
        #expect(try rows(main, newPrimary) == [1, 2], "main does not get dr's writes")
        #expect(dr.status(standbyLeader, "/standby-leader") == 503)
        #expect(try dr.cli(["list"]).out.contains("Leader"))
    }

    func rows(_ c: AgentCluster, _ name: String) throws -> [Int] {
        try c.connect(name).query("SELECT id FROM dr_rows ORDER BY id").rows.compactMap { $0[0].flatMap { Int($0) } }
    }
} }
