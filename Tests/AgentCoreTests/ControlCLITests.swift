// The control CLI and REST actions end to end, over one 3-member loopback cluster (etcd + three
// `pgha serve` + their Postgres), in order: REST refusals, list, switchover, failover, edit-config
// with pending restart, reinit, history, pause.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct ControlCLITests {
    @Test func operationsOverTheCLI() throws {
        let cluster = try AgentCluster(scope: "ops")
        defer { cluster.shutdown() }
        try cluster.requireRESTAuth()
        try cluster.startAll()
        let names = cluster.members.map(\.name)
        var leader = try cluster.healthy()

        // REST: auth, malformed JSON, lagging candidate.
        #expect(cluster.http(leader, "POST", "/switchover", body: #"{"leader":"\#(leader)"}"#, auth: false)?.status == 401)
        let bad = cluster.http(leader, "POST", "/switchover", body: #"{"leader": "#)
        #expect(bad?.status == 400 && bad?.body.contains("malformed JSON") == true, "\(String(describing: bad))")
        let lagging = names.first { $0 != leader }!
        try withStalledReceiver(cluster, replica: lagging, primary: leader) {
            let r = cluster.http(leader, "POST", "/switchover", body: #"{"leader":"\#(leader)","candidate":"\#(lagging)"}"#)
            #expect(r?.status == 412 && r?.body.contains("lagging") == true, "\(String(describing: r))")
            let cli = try cluster.cli(["switchover", "--candidate", lagging, "--force"])
            #expect(cli.status != 0 && cli.err.contains("lagging"), "\(cli.err)")
        }
        // Resumed, the replica catches up in well under a second, while etcd keeps its old
        // position until its next loop: the leader measures the lag itself, so a switchover asked
        // for the moment pg_stat_replication shows it caught up is accepted (no stale 412).
        _ = try cluster.eventually(20, "\(lagging) caught up on \(leader)") { () -> Bool? in
            let r = try? cluster.connect(leader).query(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint AS lag FROM pg_stat_replication WHERE application_name = $1", [lagging])
            return r?.value("lag") == "0" ? true : nil
        }
        let fresh = cluster.http(leader, "POST", "/switchover", body: #"{"leader":"\#(leader)","candidate":"\#(lagging)"}"#)
        #expect(fresh?.status == 200, "\(String(describing: fresh))")
        leader = try cluster.healthy()
        #expect(leader == lagging)
        try caughtUp(cluster)

        // PATCH /config: a bad value refused whole (unsafe timing is adjusted, PatroniCompatTests);
        // a reload-only parameter reaches every member within a loop; null removes it again.
        let unsafe = cluster.http(leader, "PATCH", "/config", body: #"{"loop_wait": "soon", "postgresql": {"parameters": {"work_mem": "7MB"}}}"#)
        #expect(unsafe?.status == 400 && unsafe?.body.contains("loop_wait") == true, "\(String(describing: unsafe))")
        let patched = cluster.http(leader, "PATCH", "/config", body: #"{"postgresql": {"parameters": {"work_mem": "8MB"}}}"#)
        #expect(patched?.status == 200 && patched?.body.contains("\"work_mem\":\"8MB\"") == true, "\(String(describing: patched))")
        for n in names {
            _ = try cluster.eventually(20, "work_mem reloaded on \(n)") { (try? cluster.connect(n).query("SHOW work_mem"))?.value("work_mem") == "8MB" ? true : nil }
        }
        let removed = cluster.http(leader, "PATCH", "/config", body: #"{"postgresql": {"parameters": {"work_mem": null}}}"#)
        #expect(removed?.status == 200 && removed?.body.contains("work_mem") == false, "\(String(describing: removed))")

        // edit-config in $EDITOR (any command, given the file): the diff, then the change; an
        // editor that fails or leaves no YAML mapping changes nothing.
        let edited = try cluster.cli(["edit-config", "--force"],
                                     environment: ["EDITOR": "sed -i -e 's/^maximum_lag_on_failover: 1048576$/maximum_lag_on_failover: 2097152/'"])
        #expect(edited.status == 0 && edited.out.contains("+ maximum_lag_on_failover: 2097152") && edited.out.contains("Configuration changed"),
                "\(edited.out)\(edited.err)")
        #expect(try cluster.cli(["show-config"], quiet: true).out.contains("maximum_lag_on_failover: 2097152"))
        let failing = try cluster.cli(["edit-config", "--force"], environment: ["EDITOR": "false"])
        #expect(failing.status != 0 && failing.err.contains("nothing changed"), "\(failing.err)")
        let garbage = try cluster.cli(["edit-config", "--force"], environment: ["EDITOR": "sh -c 'echo just-a-string > \"$0\"'"])
        #expect(garbage.status != 0 && garbage.err.contains("not a YAML mapping"), "\(garbage.err)")
        #expect(try cluster.cli(["show-config"], quiet: true).out.contains("maximum_lag_on_failover: 2097152"))
        let back = try cluster.cli(["edit-config", "-s", "maximum_lag_on_failover=1048576", "--force"])
        #expect(back.status == 0 && back.out.contains("Configuration changed"), "\(back.out)\(back.err)")

        // Actionable errors.
        let unknown = try cluster.cli(["switchover", "--candidate", "nope", "--force"])
        #expect(unknown.status == 2 && unknown.err.hasPrefix("pgha: error: unknown member nope"), "\(unknown.err)")

        // list
        let list = try cluster.cli(["list"])
        #expect(list.status == 0 && list.out.contains("| Leader ") && names.allSatisfy { list.out.contains("| \($0) ") }, "\(list.out)")

        let topology = try cluster.cli(["topology"])
        #expect(names.filter { $0 != leader }.allSatisfy { topology.out.contains("| + \($0) ") }, "\(topology.out)")
        #expect(try cluster.cli(["list", "--format", "yaml"]).out.contains("Role: Leader"))
        let reload = try cluster.cli(["reload", "--force"])
        #expect(reload.status == 0 && names.allSatisfy { reload.out.contains("Success: reload on member \($0)") }, "\(reload.out)\(reload.err)")

        // Switchover to a named candidate: lossless, the old primary rejoins without a clone.
        let marker = cluster.member(leader).dataDir + "/pgha-test-marker"
        FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
        let conn = try cluster.connect(leader)
        try conn.query("CREATE TABLE ops (id int PRIMARY KEY)")
        try conn.query("INSERT INTO ops SELECT generate_series(1, 1000)")
        let target = names.first { $0 != leader }!
        let sw = try cluster.cli(["switchover", "--candidate", target, "--force"])
        #expect(sw.status == 0 && sw.out.contains("Successfully switched over to \(target)"), "\(sw.out)\(sw.err)")
        #expect(try cluster.healthy() == target)
        #expect(FileManager.default.fileExists(atPath: marker), "the old primary was re-cloned")
        #expect(try cluster.connect(target).query("SELECT count(*) AS n FROM ops").value("n") == "1000")
        leader = target

        // Switchover without a candidate.
        let sw2 = try cluster.cli(["switchover", "--force"])
        #expect(sw2.status == 0 && sw2.out.contains("Successfully switched over to"), "\(sw2.out)\(sw2.err)")
        let afterSw2 = try cluster.healthy()
        #expect(afterSw2 != leader)
        leader = afterSw2

        // Manual failover to a named member.
        let failTo = names.first { $0 != leader }!
        let fo = try cluster.cli(["failover", "--candidate", failTo, "--force"])
        #expect(fo.status == 0 && fo.out.contains("Successfully failed over to \(failTo)"), "\(fo.out)\(fo.err)")
        leader = try cluster.healthy()
        #expect(leader == failTo)

        // edit-config of a restart-only parameter → pending restart in list → restart --pending clears it.
        let edit = try cluster.cli(["edit-config", "-p", "max_connections=55", "--force"])
        #expect(edit.status == 0 && edit.out.contains("Configuration changed") && edit.out.contains("max_connections: 55"), "\(edit.out)")
        _ = try cluster.eventually(30, "pending restart on every member") { () -> Bool? in
            guard let r = try? cluster.cli(["list", "--format", "json"], quiet: true),
                  let rows = try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]] else { return nil }
            return rows.count == 3 && rows.allSatisfy { $0["Pending restart"] as? String == "*" } ? true : nil
        }
        let shown = try cluster.cli(["list"])
        #expect(shown.out.contains("| *   "), "\(shown.out)")
        let restart = try cluster.cli(["restart", "--pending", "--force"])
        #expect(restart.status == 0 && names.allSatisfy { restart.out.contains("Success: restart on member \($0)") }, "\(restart.out)\(restart.err)")
        #expect(try cluster.healthy() == leader, "restart moved the primary")
        #expect(try cluster.connect(leader).query("SHOW max_connections").value("max_connections") == "55")
        _ = try cluster.eventually(20, "pending restart cleared") { () -> Bool? in
            (try? cluster.cli(["list", "--format", "json"], quiet: true))?.out.contains("\"Pending restart\":\"*\"") == false ? true : nil
        }

        // reinit of a replica: wiped (marker gone) and streaming again. The marker's name is its
        // own: pg_basebackup copies every file of the source, and the switchover marker above
        // still lies in the directory of a member that may be the leader now.
        let victim = names.first { $0 != leader }!
        let vmarker = cluster.member(victim).dataDir + "/pgha-reinit-marker-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: vmarker, contents: Data("x".utf8))
        #expect(try cluster.cli(["reinit", leader, "--force"]).err.contains("refused on the leader"))
        let re = try cluster.cli(["reinit", victim, "--force"])
        #expect(re.status == 0 && re.out.contains("\(victim) is streaming again"), "\(re.out)\(re.err)")
        #expect(!FileManager.default.fileExists(atPath: vmarker), "reinit kept the old data directory\n\(cluster.logs(40))")
        _ = try cluster.healthy()

        // history lists each change (two switchovers and a failover).
        let history = try cluster.cli(["history", "--format", "json"])
        let entries = (try? JSONSerialization.jsonObject(with: Data(history.out.utf8)) as? [[String: Any]]) ?? []
        #expect(entries.count >= 3, "\(history.out)")
        #expect(entries.suffix(3).compactMap { $0["New Leader"] as? String }.last == leader)

        // Scheduled switchover: shown by list, cancellable; one due in a few seconds runs by itself.
        let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300))
        let sched = try cluster.cli(["switchover", "--scheduled", later, "--force"])
        #expect(sched.status == 0 && sched.out.contains("Switchover scheduled"), "\(sched.out)\(sched.err)")
        #expect(try cluster.cli(["list"]).out.contains("Switchover scheduled at: \(later)"))
        let cancel = try cluster.cli(["switchover", "--cancel", "--force"])
        #expect(cancel.status == 0 && cancel.out.contains("cancelled"), "\(cancel.err)")
        #expect(try cluster.cli(["list"]).out.contains("Switchover scheduled") == false)
        try caughtUp(cluster)
        let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3))
        #expect(try cluster.cli(["switchover", "--scheduled", soon, "--force"]).status == 0)
        _ = try cluster.eventually(30, "the scheduled switchover") { () -> String? in
            guard let p = cluster.primary(), p != leader else { return nil }
            return p
        }
        leader = try cluster.healthy()

        // Scheduled restart through REST: runs at its time; DELETE /restart cancels a pending one.
        let restarted = names.first { $0 != leader }!
        let startedAt = try cluster.connect(restarted).query("SELECT pg_postmaster_start_time()::text AS t").value("t")
        let inTwo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2))
        #expect(cluster.http(restarted, "POST", "/restart", body: #"{"schedule":"\#(inTwo)"}"#)?.status == 202)
        _ = try cluster.eventually(30, "the scheduled restart of \(restarted)") { () -> Bool? in
            let t = (try? cluster.connect(restarted).query("SELECT pg_postmaster_start_time()::text AS t"))?.value("t")
            return t != nil && t != startedAt ? true : nil
        }
        let inFive = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300))
        #expect(cluster.http(restarted, "POST", "/restart", body: #"{"schedule":"\#(inFive)"}"#)?.status == 202)
        #expect(cluster.http(restarted, "DELETE", "/restart")?.status == 200)
        #expect(cluster.http(restarted, "DELETE", "/restart")?.status == 404)
        _ = try cluster.healthy()

        // pause, then host loss of the primary: no promotion until resume.
        let pause = try cluster.cli(["pause", "--wait"])
        #expect(pause.status == 0 && pause.out.contains("paused"), "\(pause.out)\(pause.err)")
        #expect(try cluster.cli(["list"]).out.contains("Maintenance mode: on"))
        #expect(try cluster.cli(["pause"]).err.contains("already paused"))
        cluster.killHost(leader)
        let survivors = names.filter { $0 != leader }
        Thread.sleep(forTimeInterval: 12)  // two lease TTLs: the key is long gone
        #expect(survivors.allSatisfy { cluster.status($0, "/primary") == 503 }, "promoted while paused\n\(cluster.logs())")
        let resume = try cluster.cli(["resume", "--wait"])
        #expect(resume.status == 0, "\(resume.err)")
        let promoted = try cluster.eventually(30, "a new primary after resume") { survivors.first { cluster.status($0, "/primary") == 200 } }
        #expect(survivors.contains(promoted))
    }

    /// Waits until etcd shows every replica without lag (members publish once per loop).
    func caughtUp(_ cluster: AgentCluster) throws {
        _ = try cluster.eventually(20, "every replica caught up in etcd") { () -> Bool? in
            let out = (try? cluster.cli(["list", "--format", "json"], quiet: true))?.out ?? ""
            let rows = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
            return rows.count == 3 && rows.allSatisfy { $0["Role"] as? String == "Leader" || $0["Lag in MB"] as? Int == 0 } ? true : nil
        }
    }

    /// SIGSTOPs the replica's WAL receiver and writes 2 MB on the primary, so the replica really lags
    /// beyond maximum_lag_on_failover (1 MiB) in etcd; resumes it afterwards.
    func withStalledReceiver(_ cluster: AgentCluster, replica: String, primary: String, _ body: () throws -> Void) throws {
        let r = try cluster.connect(replica)
        guard let pidText = try r.query("SELECT pid FROM pg_stat_wal_receiver").value("pid"), let pid = Int32(pidText) else {
            throw FixtureError("\(replica) has no WAL receiver")
        }
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let p = try cluster.connect(primary)
        try p.query("CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 12000) g")
        _ = try cluster.eventually(30, "\(replica) lagging in etcd") { () -> Bool? in
            let out = (try? cluster.cli(["list", "--format", "json"], quiet: true))?.out ?? ""
            let rows = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
            return rows.contains { $0["Member"] as? String == replica && ($0["Lag in MB"] as? Int ?? 0) >= 2 } ? true : nil
        }
        try body()
    }
} }
