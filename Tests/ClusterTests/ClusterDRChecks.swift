// The DR site on real labs: inventories/lab-dr as a standby cluster of inventories/lab (docs/cluster.md,
// "A DR site"). `checkDRSite` takes two running clusters — a main site and a DR site made from
// `drInventoryCopy(joining:)` — and proves: `provision check` passes on the DR site (a standby
// leader, two cascading replicas); a row written on the main primary reaches every DR member;
// after a switchover, and after a failover (the primary's plug pulled), on the main site the
// standby leader follows the new primary and a new row arrives; `provision dr promote` is refused
// while the main site still streams, and after the main site is fenced gives a writable DR cluster
// (`provision check`, and a write through its floating address, verify-full) holding every row; a
// second promote changes nothing. `ClusterDRTests` runs it on two fresh labs
// (PROVISION_DR_E2E=1; docs/testing.md).
import Fixtures
import Foundation
import PQ
import Testing
@testable import Provision

extension ClusterEndToEndTests {
    /// inventories/lab-dr rewritten to be the DR site of the main inventory copy at `main`: its
    /// network, the main lab's name to join, its own lab name, the main site's addresses and secrets.
    static func drInventoryCopy(joining main: String) throws -> String {
        let mainAll = try String(contentsOfFile: main + "/group_vars/all.yml", encoding: .utf8)
        func value(_ key: String) throws -> String {
            let line = try #require(mainAll.split(separator: "\n").first { $0.hasPrefix("  \(key): ") }, "\(key) in \(main)")
            return String(line.dropFirst(key.count + 4).split(separator: " ")[0])
        }
        let network = try value("network"), mainName = try value("name")
        let prefix = String(network.dropLast("0/24".count))  // "10.83.42."
        let name = String("\(mainName)dr".prefix(15))
        let dir = try makeTempDirectory("cluster-dr")
        try FileManager.default.copyItem(atPath: TemplateHost.root + "/inventories/lab-dr", toPath: dir + "/lab-dr")
        let enumerator = FileManager.default.enumerator(atPath: dir + "/lab-dr")
        while let relative = enumerator?.nextObject() as? String {
            let file = dir + "/lab-dr/" + relative
            guard relative.hasSuffix(".yml") else { continue }
            var text = try String(contentsOfFile: file, encoding: .utf8)
            text = text.replacingOccurrences(of: "10.77.0.", with: prefix)
                .replacingOccurrences(of: "network: \(prefix)0/24\n", with: "network: \(network)\n  name: \(name)\n")
                .replacingOccurrences(of: "join: lab ", with: "join: \(mainName) ")
                .replacingOccurrences(of: "/labs/lab-dr/", with: "/labs/\(name)/")
                .replacingOccurrences(of: "/labs/lab/", with: "/labs/\(mainName)/")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return dir + "/lab-dr"
    }

    /// The addresses of a workflow's database hosts, by name.
    static func databaseAddresses(_ workflow: ClusterWorkflow) -> [(name: String, address: String)] {
        workflow.inventory.hosts(inGroup: "postgres").map { ($0, workflow.inventory.variables(forHost: $0)["ansible_host"] as? String ?? $0) }
    }

    /// `kill` pulls the plug of a main-site host and `start` boots it again (the lab's
    /// `kill(host:)` / `start(host:)`); `fence` cuts the main site off before the promotion
    /// (default: `provision down MAIN`).
    static func checkDRSite(main: ClusterWorkflow, dr: ClusterWorkflow, password: String, ca: String,
                            kill: (String) throws -> Void, start: (String) throws -> Void,
                            fence: (() throws -> Void)? = nil) throws {
        func conninfo(_ host: String, port: Int = 5432) -> String {
            "host=\(host) port=\(port) user=postgres password=\(password) dbname=postgres sslmode=verify-full sslrootcert=\(ca) connect_timeout=3"
        }
        func ids(on address: String) -> [Int]? {
            guard let c = try? PGConnection(conninfo: conninfo(address), connectTimeout: 3),
                  let r = try? c.query("select id from dr_check order by id") else { return nil }
            return r.rows.compactMap { $0[0].flatMap { Int($0) } }
        }
        let drMembers = databaseAddresses(dr), mainMembers = databaseAddresses(main)
        func addressOf(_ name: String, _ members: [(name: String, address: String)]) throws -> String {
            try #require(members.first { $0.name == name }?.address, "\(name) in the inventory")
        }
        /// Every DR member holds exactly `expected`; prints how long the last one took.
        func arrives(_ expected: [Int], _ what: String, within timeout: Double) throws {
            let t0 = Date()
            for m in drMembers {
                _ = try eventually(timeout, "rows \(expected) (\(what)) on DR member \(m.name)") { ids(on: m.address) == expected ? true : nil }
            }
            print(String(format: "[cluster dr] %@: rows %@ on all %d DR members %.1f s after the commit", what, "\(expected)", drMembers.count, Date().timeIntervalSince(t0)))
        }
        /// The DR standby leader streams from `address` (its WAL receiver's sender_host).
        func standbyLeaderStreams(from address: String, _ what: String) throws {
            let standbyLeader = try #require(try ClusterStatus.fetch(inventory: dr.inventory).members.first { $0.role == "standby_leader" }?.name)
            let leaderAddress = try addressOf(standbyLeader, drMembers)
            let sender = try eventually(30, "the standby leader \(standbyLeader) streaming from \(address) (\(what))") { () -> String? in
                guard let c = try? PGConnection(conninfo: conninfo(leaderAddress), connectTimeout: 3),
                      let r = try? c.query("select sender_host from pg_stat_wal_receiver where status = 'streaming'") else { return nil }
                return r.value("sender_host") == address ? address : nil
            }
            print("[cluster dr] \(what): the standby leader \(standbyLeader) streams from \(sender)")
        }
        func mainLeader(excluding down: [String] = []) throws -> String {
            try eventually(60, "a primary on the main site other than \(down)") { () -> String? in
                guard let leader = (try? ClusterStatus.fetch(inventory: main.inventory, excluding: down))?.leader?.name,
                      !down.contains(leader) else { return nil }
                return leader
            }
        }

        // The DR site: one standby leader, the other members streaming (cascading from it), and
        // `provision check` passing on it (no primary: a standby leader, read-only).
        var status = try dr.check()
        print(status.table)
        #expect(status.members.filter { $0.role == "standby_leader" }.count == 1, "\(status.table)")
        #expect(status.members.filter { $0.state == "streaming" }.count == drMembers.count - 1, "\(status.table)")

        // A row on the main primary reaches every DR member.
        let first = try mainLeader()
        let writer = try PGConnection(conninfo: conninfo(try addressOf(first, mainMembers)))
        _ = try writer.query("create table if not exists dr_check (id int primary key, site text not null, at timestamptz default now())")
        _ = try writer.query("insert into dr_check (id, site) values (1, 'main before the switchover')")
        try arrives([1], "main primary \(first)", within: 60)

        // A switchover on the main site: the standby leader follows the new primary.
        let target = try #require(mainMembers.first { $0.name != first })
        try main.switchover(to: target.name)
        _ = try PGConnection(conninfo: conninfo(target.address)).query("insert into dr_check (id, site) values (2, 'main after the switchover')")
        try arrives([1, 2], "after the switchover to \(target.name)", within: 90)
        try standbyLeaderStreams(from: target.address, "after the switchover")

        // A failover on the main site (its primary's plug pulled): the standby leader follows the
        // primary the main site elects, on its new timeline; the host comes back as a replica.
        try kill(target.name)
        let t0 = Date()
        let third = try mainLeader(excluding: [target.name])
        print(String(format: "[cluster dr] main failover: %@ killed, %@ leads %.1f s later", target.name, third, Date().timeIntervalSince(t0)))
        let thirdAddress = try addressOf(third, mainMembers)
        _ = try eventually(30, "a write on the main site's new primary \(third)") { () -> Bool? in
            guard let c = try? PGConnection(conninfo: conninfo(thirdAddress), connectTimeout: 3) else { return nil }
            return (try? c.query("insert into dr_check (id, site) values (3, 'main after the failover')")) != nil ? true : nil
        }
        try arrives([1, 2, 3], "after the failover to \(third)", within: 90)
        print(String(format: "[cluster dr] main failover: row 3 on every DR member %.1f s after %@ was killed", Date().timeIntervalSince(t0), target.name))
        try standbyLeaderStreams(from: thirdAddress, "after the failover")
        try start(target.name)
        _ = try eventually(180, "\(target.name) back on the main site as a streaming replica") { () -> Bool? in
            (try? ClusterStatus.fetch(inventory: main.inventory))?.members.filter { $0.state == "streaming" }.count == mainMembers.count - 1 ? true : nil
        }
        status = try main.check()  // the killed host streams again; the DR standby leader does not count as a main replica
        print(status.table)
        status = try dr.check()
        #expect(status.members.filter { $0.role == "standby_leader" }.count == 1, "after the main failover: \(status.table)")

        // Not while the main site still streams: refused, nothing changed.
        #expect(throws: WorkflowError.self) { try dr.drPromote(force: false) }
        status = try ClusterStatus.fetch(inventory: dr.inventory)
        #expect(status.members.filter { $0.role == "standby_leader" }.count == 1, "a refused promote changed the DR site: \(status.table)")

        // Fenced main site: the DR site becomes a writable cluster with every row.
        try (fence ?? { try main.down() })()
        let t1 = Date()
        let promote = try dr.drPromote(force: false)
        print(String(format: "[cluster dr] dr promote: %.1f s (playbook %.1f s, changed=%d)", Date().timeIntervalSince(t1), promote.seconds, promote.changedTotal))
        status = try dr.check()  // a primary now: the check writes its marker through every path
        print(status.table)
        #expect(status.members.filter { $0.role == "leader" }.count == 1, "\(status.table)")
        #expect(status.members.filter { $0.state == "streaming" }.count == drMembers.count - 1, "\(status.table)")
        let vip = try #require(BalancerStatus.fetch(inventory: dr.inventory).vip)
        let drWriter = try PGConnection(conninfo: conninfo(vip, port: 5000))
        _ = try drWriter.query("insert into dr_check (id, site) values (4, 'DR site after the promotion')")
        try arrives([1, 2, 3, 4], "DR site through its floating address \(vip)", within: 30)
        let again = try dr.drPromote(force: false)
        print(String(format: "[cluster dr] second dr promote: changed=%d", again.changedTotal))
        #expect(again.changedTotal == 0)
    }
}

/// Two fresh labs — the main site (inventories/lab's copy, as the end-to-end test makes it) and its
/// DR site (inventories/lab-dr's copy, joining it) — and `checkDRSite` on them. Opt-in
/// (PROVISION_DR_E2E=1): it stands up nine hosts.
@Suite(.serialized) struct ClusterDRTests {
    @Test(.enabled(if: ClusterEndToEndTests.runnable && ProcessInfo.processInfo.environment["PROVISION_DR_E2E"] != nil),
          .timeLimit(.minutes(45)))
    func drSiteFollowsAndPromotes() throws {
        let mainInventory = try ClusterEndToEndTests.inventoryCopy()
        let drInventory = try ClusterEndToEndTests.drInventoryCopy(joining: mainInventory)
        defer {
            for dir in [mainInventory, drInventory] { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        }
        let layout = ProjectLayout(root: TemplateHost.root)
        let main = try ClusterWorkflow(inventoryPath: mainInventory, layout: layout)
        let dr = try ClusterWorkflow(inventoryPath: drInventory, layout: layout)
        let output = CapturingOutput()
        main.output = output; dr.output = output
        main.log = { print("[cluster dr] main: \($0)") }
        dr.log = { print("[cluster dr] dr: \($0)") }
        let mainLab = try Lab(inventory: main.inventory, path: mainInventory, log: { _ in })
        let drLab = try Lab(inventory: dr.inventory, path: drInventory, log: { _ in })
        defer {  // the DR lab first: the bridge is the main lab's
            do { try drLab.destroy() } catch { print("[cluster dr] DR lab destroy: \(error)") }
            do { try mainLab.destroy() } catch { print("[cluster dr] main lab destroy: \(error)") }
            if output.text.contains("failed:") { print(output.text.suffix(6000)) }
        }
        _ = try ClusterEndToEndTests.timed("pgha release build (when stale)") { try PghaBuild(layout: layout).ensureBuilt() }
        _ = try ClusterEndToEndTests.timed("provision up: main site") { try main.up() }
        _ = try ClusterEndToEndTests.timed("provision up: DR site") { try dr.up() }
        let secrets = try #require(main.inventory.variables(forHost: "lb1")["lab_secrets_dir"] as? String)
        let password = try String(contentsOfFile: secrets + "/postgres_superuser_password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = try CertificatePlan(inventory: main.inventory, inventoryPath: mainInventory).directory + "/ca.crt"
        try ClusterEndToEndTests.timed("DR checks") {
            try ClusterEndToEndTests.checkDRSite(main: main, dr: dr, password: password, ca: ca,
                                                 kill: { try mainLab.kill(host: $0) }, start: { try mainLab.start(host: $0) })
        }
    }
}
