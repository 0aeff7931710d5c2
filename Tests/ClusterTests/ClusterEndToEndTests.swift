// The whole job on a real lab (systemd-nspawn hosts, as root): `provision up` from nothing (two
// balancers sharing a floating address, PgBouncer on every database host), the workflows,
// `provision uri` strings before and after a switchover, drills (pulled plug on the primary ×3,
// a frozen agent, a partition of the primary, a pulled plug on the balancer holding the floating
// address, each checked for lost acknowledged rows and split-brain samples), backups with pgBackRest
// (ClusterBackupChecks.swift: a full backup before the drills, after them a point-in-time
// restore of the whole cluster and a replica rebuilt from the repository), then a changed=0 re-run.
// TLS on every link (ClusterTLSChecks.swift): plain text and a foreign CA refused, verify-full
// through the floating address, and no generated secret in output, logs or process lists.
// Prints the timings; asserts correctness (no acknowledged write lost, one primary, streaming).
import Foundation
import PQ
import Testing
import Drill
@testable import Provision

@Suite(.serialized) struct ClusterEndToEndTests {
    static var runnable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap")
            && ProcessInfo.processInfo.environment["PROVISION_SKIP_E2E"] == nil
    }

    /// inventories/lab copied under its own lab name and network (picked from the PID, so two
    /// test runs on one machine do not share a lab), so a lab a user keeps running is never touched.
    static func inventoryCopy() throws -> String {
        // From the PID; a number whose lab exists already (another test run's) is skipped, so a
        // run never takes, nor destroys, a lab it did not make.
        var n = 20 + Int(getpid()) % 200
        for _ in 0..<200 where FileManager.default.fileExists(atPath: "/var/lib/provision/labs/e2e\(n)")
            || FileManager.default.fileExists(atPath: "/var/lib/provision/labs/e2e\(n)dr") { n = 20 + (n - 19) % 200 }
        let name = "e2e\(n)", net = "10.83.\(n)."
        let dir = try makeTempDirectory("cluster-e2e")
        let source = TemplateHost.root + "/inventories/lab"
        try FileManager.default.copyItem(atPath: source, toPath: dir + "/lab")
        let hosts = dir + "/lab/hosts.yml", all = dir + "/lab/group_vars/all.yml"
        for file in [hosts, dir + "/lab/group_vars/all/cluster.yml"] {  // host addresses, cluster_vip
            try (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "10.77.0.", with: net)
                .write(toFile: file, atomically: true, encoding: .utf8)
        }
        try (try String(contentsOfFile: all, encoding: .utf8))
            .replacingOccurrences(of: "network: 10.77.0.0/24", with: "network: \(net)0/24\n  name: \(name)")
            .replacingOccurrences(of: "/labs/lab/", with: "/labs/\(name)/")
            .write(toFile: all, atomically: true, encoding: .utf8)
        return dir + "/lab"
    }

    static func makeTempDirectory(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func timed<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        defer { print(String(format: "[cluster e2e] %@: %.1f s", label, Date().timeIntervalSince(start))) }
        return try body()
    }

    @Test(.enabled(if: runnable), .timeLimit(.minutes(45)))
    func clusterLifecycle() throws {
        let inventory = try Self.inventoryCopy()
        var keepFailedLab = false, finished = false
        defer { if !keepFailedLab { try? FileManager.default.removeItem(atPath: (inventory as NSString).deletingLastPathComponent) } }
        let output = CapturingOutput()
        let workflow = try ClusterWorkflow(inventoryPath: inventory, layout: ProjectLayout(root: TemplateHost.root))
        workflow.output = output
        let logLines = LogLines()
        workflow.log = { print("[cluster e2e] \($0)"); logLines.append($0) }
        let lab = try Lab(inventory: workflow.inventory, path: inventory, log: { _ in })
        try? lab.destroy()
        defer {
            // A failed run: the playbooks' end and each agent's last decisions, read before the lab goes.
            if !finished {
                print(output.text.suffix(6000))
                Self.printAgentJournals(workflow)
                // PROVISION_E2E_KEEP_FAILED_LAB=1 leaves the failed lab up for a look (docs/testing.md).
                keepFailedLab = ProcessInfo.processInfo.environment["PROVISION_E2E_KEEP_FAILED_LAB"] == "1"
            }
            if keepFailedLab {
                print("[cluster e2e] the failed lab stays up: provision lab destroy \(inventory)")
            } else {
                do { try lab.destroy() } catch { print("[cluster e2e] lab destroy: \(error)") }
            }
        }
        // The release pgha build is the control machine's job, timed apart from `up`.
        _ = try Self.timed("pgha release build (when stale)") { try PghaBuild(layout: workflow.layout).ensureBuilt() }
        _ = try Self.timed("provision up from nothing (lab + site.yml)") { try workflow.up() }
        var status = try Self.timed("check") { try workflow.check() }
        print(status.table)
        #expect(status.members.filter { $0.role == "leader" }.count == 1)
        #expect(status.members.filter { $0.state == "streaming" }.count == 2)

        // The superuser password `up` generated (lookup('password') in the inventory's group_vars).
        let secrets = try #require(workflow.inventory.variables(forHost: "lb1")["lab_secrets_dir"] as? String)
        let password = try String(contentsOfFile: secrets + "/postgres_superuser_password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let balancers = BalancerStatus.fetch(inventory: workflow.inventory)
        print("[cluster e2e] \(balancers.summary)")
        #expect(balancers.holders.count == 1, "the floating address is held by \(balancers.holders)")
        try Self.checkURIs(workflow: workflow, inventory: inventory, password: password, primary: status.leader?.name)
        try Self.timed("TLS checks") { try Self.checkTLS(workflow, inventory: inventory, password: password) }
        try Self.checkPatronictl(workflow, inventory: inventory)
        try Self.timed("Patroni users' scenarios") { try Self.checkPatroniScenarios(workflow) }
        // Backups (ClusterBackupChecks.swift): a full one now; the restore after the drills replays
        // the archive across every failover they cause.
        let backupFacts = try Self.backupFacts(workflow, inventory: inventory, password: password)
        _ = try Self.firstBackup(workflow)
        var hostTexts = Self.hostTexts(workflow)

        try Self.timed("demo --scale 1") { try workflow.demo(scale: 1) }
        let target = try #require(status.members.first { $0.role != "leader" }?.name)
        let beforeSwitchover = try Self.hostClock(workflow, target)
        try Self.timed("switchover --to \(target)") { try workflow.switchover(to: target) }
        try Self.checkCallbacks(workflow, since: beforeSwitchover, oldPrimary: try #require(status.leader?.name), newPrimary: target)
        #expect(try ClusterStatus.fetch(inventory: workflow.inventory).leader?.name == target)
        try Self.checkURIs(workflow: workflow, inventory: inventory, password: password, primary: target)

        // A client writes numbered rows through the floating address :5000 during the rolling restart.
        let vip = try #require(balancers.vip)
        let ca = try CertificatePlan(inventory: workflow.inventory, inventoryPath: inventory).directory + "/ca.crt"
        let writer = HAProxyWriter(conninfo: "host=\(vip) port=5000 user=postgres password=\(password) dbname=postgres sslmode=verify-full sslrootcert=\(ca)")
        try writer.prepare()
        writer.start()
        try Self.timed("set max_connections=150 (rolling restart)") { try workflow.set(ParameterChange(arguments: ["max_connections=150"])) }
        let (acknowledged, gap) = writer.stop()
        print(String(format: "[cluster e2e] write gap through HAProxy during set: %.2f s (%d rows acknowledged)", gap, acknowledged.count))
        #expect(try writer.missing(acknowledged).isEmpty, "acknowledged rows lost")

        // provision certs --rotate under a writer: new keys and serials for every host and client,
        // rolled out with etcd and the agents restarted one at a time; no acknowledged row lost, and
        // every TLS port then serves the new certificate.
        let served = try Self.servedSerials(workflow, inventory: inventory)
        let rotationWriter = HAProxyWriter(conninfo: writer.conninfo, table: "e2e_rotation_writes")
        try rotationWriter.prepare()
        rotationWriter.start()
        let rotation = try Self.timed("certs --rotate (rolled out under a writer)") { try workflow.certificates(rotate: true, deploy: true) }
        let (rotationAcknowledged, rotationGap) = rotationWriter.stop()
        print(String(format: "[cluster e2e] write gap through HAProxy during certs --rotate: %.2f s (%d rows acknowledged); site.yml %.1f s, changed=%d",
                     rotationGap, rotationAcknowledged.count, rotation.rollout?.seconds ?? 0, rotation.rollout?.changedTotal ?? 0))
        #expect(rotation.statuses.filter { $0.action == .renewed }.count == rotation.statuses.count - 1, "every certificate but the CA reissued")
        #expect(rotation.rollout != nil, "the renewed certificates were rolled out")
        let rotationLost = try rotationWriter.missing(rotationAcknowledged)
        #expect(!rotationAcknowledged.isEmpty && rotationLost.isEmpty, "acknowledged rows lost during the rotation: \(rotationLost)")
        let servedAfter = try Self.servedSerials(workflow, inventory: inventory)
        let issued = try Self.issuedSerials(workflow, inventory: inventory)
        for (endpoint, serial) in servedAfter.sorted(by: { $0.key < $1.key }) {
            let host = String(endpoint.prefix { $0 != ":" })
            #expect(serial == issued[host] && serial != served[endpoint], "\(endpoint) serves serial \(serial), issued \(issued[host] ?? "?"), before \(served[endpoint] ?? "?")")
        }
        print("[cluster e2e] after the rotation \(servedAfter.count) TLS endpoints serve their host's new certificate")
        status = try workflow.check()
        #expect(status.members.filter { $0.role == "leader" }.count == 1 && status.members.filter { $0.state == "streaming" }.count == 2, "\(status.table)")

        status = try workflow.check()
        #expect(status.members.filter { $0.state == "streaming" }.count == 2)
        let replica = try #require(status.members.first { $0.role != "leader" }?.name)
        try Self.timed("rebuild \(replica)") { try workflow.rebuild(host: replica, forceFailover: false) }
        #expect(throws: WorkflowError.self) { try workflow.rebuild(host: status.leader!.name, forceFailover: false) }

        // Drills (provision drill): writers through HAProxy, a direct sampler on every node; each
        // trial fails on a lost acknowledged row or a split-brain sample. A pulled plug on the
        // primary three times, a frozen agent (the watchdog must fence it), a partition (the
        // former primary rewinds its diverged timeline and streams again before the rows are checked).
        // Synchronous mode for them: a commit is acknowledged only once a standby has it. With
        // asynchronous replication a pulled plug may lose the last acknowledged commits by design
        // (the drill says so), which no gate can allow or forbid reliably.
        let db = try #require(workflow.inventory.hosts(inGroup: "postgres").first)
        let api = try Connector.transport(forHost: db, variables: workflow.inventory.variables(forHost: db))
        let patched = try api.run(#"pgha-api PATCH /config '{"synchronous_mode": true}'"#)
        api.close()
        #expect(patched.exitStatus == 0, "PATCH /config: \(patched.stderr)")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? ClusterStatus.fetch(inventory: workflow.inventory))?.members.contains { $0.role == "sync_standby" && $0.state == "streaming" } ?? false) {
            Thread.sleep(forTimeInterval: 0.5)
        }
        print(try ClusterStatus.fetch(inventory: workflow.inventory).table)
        #expect(try ClusterStatus.fetch(inventory: workflow.inventory).members.contains { $0.role == "sync_standby" }, "no synchronous standby after PATCH /config")
        for (scenario, trials, window) in [(DrillScenario.killPrimaryHost, 3, 20.0), (.freezeAgent, 1, 25.0), (.partitionPrimary, 1, 20.0),
                                           (.killBalancer, 1, 15.0)] {
            let holderBefore = BalancerStatus.fetch(inventory: workflow.inventory).holders
            var options = DrillOptions(scenario: scenario)
            options.repeatCount = trials
            options.duration = window
            options.clients = 3
            options.reportDir = (inventory as NSString).deletingLastPathComponent + "/drills"
            let drill = try Drill(workflow: workflow, options: options)
            drill.progress = { print("[cluster e2e] \($0)") }
            let report = try Self.timed("drill \(scenario.rawValue) ×\(trials)") { try drill.run() }
            print(report.table)
            #expect(report.passed, "drill \(scenario.rawValue) failed:\n\(report.table)")
            for t in report.trials {
                #expect(t.acknowledged > 0 && t.lostByNode.count == 3, "trial \(t.index): \(t.acknowledged) rows, checked on \(t.lostByNode.keys.sorted())")
                if scenario != .freezeAgent && scenario != .killBalancer { #expect(t.newPrimary != t.oldPrimary, "trial \(t.index): the primary did not move") }
                if scenario == .killBalancer {
                    print(String(format: "[cluster e2e] writes through the floating address resumed %.2f s after its balancer lost power", t.longestGap))
                }
            }
            if scenario == .killBalancer {
                // The address moved to the other balancer, and the one that came back stays backup.
                let after = BalancerStatus.fetch(inventory: workflow.inventory)
                print("[cluster e2e] \(after.summary)")
                #expect(after.holders.count == 1 && after.holders != holderBefore, "floating address before \(holderBefore), after \(after.holders)")
                #expect(after.balancers.allSatisfy { $0.keepalived == "active" && $0.haproxy == "active" }, "\(after.summary)")
            }
        }
        status = try workflow.check()
        print(status.table)
        // Restored from the full backup taken before the drills: the recovery replays the archive
        // across every failover they caused, so a gap would stop it short of the target.
        try Self.pointInTimeRecovery(workflow, facts: backupFacts)
        try Self.rebuildFromBackup(workflow, facts: backupFacts)
        // Secrets: every password and private key `up` generated, looked for in the process lists
        // and logs of every host (after `up` and now), the playbook output, the workflow's log
        // lines and the drills' reports.
        for (host, text) in Self.hostTexts(workflow) { hostTexts[host + " (after the drills)"] = text }
        hostTexts["playbook output"] = output.text
        hostTexts["workflow log"] = logLines.text
        let reports = (inventory as NSString).deletingLastPathComponent + "/drills"
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: reports)) ?? [] {
            if let text = try? String(contentsOfFile: reports + "/" + name, encoding: .utf8) { hostTexts["drill report " + name] = text }
        }
        try Self.checkNoSecrets(in: hostTexts, secretsDir: secrets)

        let rerun = try Self.timed("second provision up") { try workflow.up() }
        print(String(format: "[cluster e2e] second up: site.yml %.2f s, changed=%d", rerun.seconds, rerun.changedTotal))
        #expect(rerun.changedTotal == 0)

        // The DR site on the same lab's bridge (inventories/lab-dr's copy): it follows this
        // cluster through a switchover and a failover, is refused promotion while this site still
        // streams to it, and after this site is fenced with `down` becomes a writable cluster.
        // PROVISION_E2E_DR=0 leaves it out (docs/testing.md).
        if ProcessInfo.processInfo.environment["PROVISION_E2E_DR"] != "0" {
            let drInventory = try Self.drInventoryCopy(joining: inventory)
            var drDone = false
            defer {
                if drDone || ProcessInfo.processInfo.environment["PROVISION_E2E_KEEP_FAILED_LAB"] != "1" {
                    try? FileManager.default.removeItem(atPath: (drInventory as NSString).deletingLastPathComponent)
                }
            }
            let dr = try ClusterWorkflow(inventoryPath: drInventory, layout: workflow.layout)
            dr.output = output
            dr.log = { print("[cluster e2e] dr: \($0)"); logLines.append($0) }
            let drLab = try Lab(inventory: dr.inventory, path: drInventory, log: { _ in })
            defer {  // before the main lab's (whose bridge it joined)
                let keep = !drDone && ProcessInfo.processInfo.environment["PROVISION_E2E_KEEP_FAILED_LAB"] == "1"
                if !drDone {
                    print(output.text.suffix(4000))
                    Self.printAgentJournals(dr)
                }
                if keep {
                    print("[cluster e2e] the failed DR lab stays up: provision lab destroy \(drInventory) (before the main lab)")
                } else {
                    do { try drLab.destroy() } catch { print("[cluster e2e] DR lab destroy: \(error)") }
                }
            }
            _ = try Self.timed("provision up: DR site") { try dr.up() }
            let ca = try CertificatePlan(inventory: workflow.inventory, inventoryPath: inventory).directory + "/ca.crt"
            try Self.timed("DR checks (the fence is this site's down)") {
                try Self.checkDRSite(main: workflow, dr: dr, password: password, ca: ca,
                                     kill: { try lab.kill(host: $0) }, start: { try lab.start(host: $0) },
                                     fence: { _ = try Self.timed("down") { try workflow.runPlaybook("down.yml") } })
            }
            drDone = true
        } else {
            // down stops the services (a second down changes nothing); the hosts stay up.
            _ = try Self.timed("down") { try workflow.runPlaybook("down.yml") }
        }
        let again = try workflow.runPlaybook("down.yml")
        #expect(again.changedTotal == 0)
        #expect(throws: WorkflowError.self) { try ClusterStatus.fetch(inventory: workflow.inventory) }
        finished = true
    }
}

extension ClusterEndToEndTests {
    /// The last lines of every database host's pgha journal (what the agents decided and did)
    /// and of its Postgres log (`<data_dir>.log`: why a server did not start or stream).
    static func printAgentJournals(_ workflow: ClusterWorkflow, lines: Int = 80) {
        for host in workflow.inventory.hosts(inGroup: "postgres") {
            let vars = workflow.inventory.variables(forHost: host)
            guard let t = try? Connector.transport(forHost: host, variables: vars) else { continue }
            defer { t.close() }
            let r = try? t.run("journalctl -u pgha -n \(lines) -o short-precise --no-pager -q")
            print("[cluster e2e] \(host): journalctl -u pgha -n \(lines)\n\(r?.stdout ?? "(unreachable)")")
            if let dataDir = try? NestedVariables(vars).templater.render("{{ postgres_data_dir }}") {
                let log = try? t.run("tail -n 30 \(dataDir).log")
                print("[cluster e2e] \(host): tail -n 30 \(dataDir).log\n\(log?.stdout ?? "(unreachable)")")
            }
        }
    }

    /// Every line of `provision uri` for each role connects (password added the way libpq takes
    /// it in a URI) and lands where its role says: read-write on `primary`, a standby otherwise.
    static func checkURIs(workflow: ClusterWorkflow, inventory: String, password: String, primary: String?) throws {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let pw = password.addingPercentEncoding(withAllowedCharacters: allowed)!
        for role in ConnectionURIs.Role.allCases {
            let uris = try ConnectionURIs(inventory: workflow.inventory, inventoryPath: inventory, role: role, user: nil, dbname: nil)
            for line in uris.lines {
                let conn = try PGConnection(conninfo: line.uri + "&password=" + pw, connectTimeout: 5)
                let inRecovery = try conn.query("select pg_is_in_recovery()").rows.first?.first ?? nil
                print("[cluster e2e] uri \(role.rawValue) \(line.label): in recovery \(inRecovery ?? "?")")
                #expect(inRecovery == (role == .primary ? "f" : "t"), "\(role.rawValue) via \(line.label) (\(line.uri)) reached a server in recovery=\(inRecovery ?? "?"), primary \(primary ?? "?")")
            }
        }
    }
}

/// Inserts numbered rows through HAProxy every 50 ms on its own thread, reconnecting after
/// errors; remembers which were acknowledged and the longest time without a successful write.
final class HAProxyWriter: @unchecked Sendable {
    let conninfo: String
    let table: String
    private let lock = NSLock()
    private var running = false
    private var acknowledged: [Int] = []
    private var lastSuccess = Date()
    private var longestGap = 0.0
    private var thread: Thread?
    private var next = 1_000_000

    init(conninfo: String, table: String = "e2e_writes") { self.conninfo = conninfo; self.table = table }

    func prepare() throws {
        try PGConnection(conninfo: conninfo).query("create table if not exists \(table) (id bigint primary key, at timestamptz default now())")
    }

    func start() {
        running = true
        lastSuccess = Date()
        let t = Thread { [self] in
            var conn: PGConnection?
            var id = 0
            while lock.withLock({ running }) {
                id += 1
                do {
                    if conn == nil || !(conn!.isOK) { conn = try PGConnection(conninfo: conninfo, connectTimeout: 2) }
                    try conn!.query("insert into \(table) (id) values ($1)", [String(id)])
                    lock.withLock {
                        acknowledged.append(id)
                        longestGap = max(longestGap, Date().timeIntervalSince(lastSuccess))
                        lastSuccess = Date()
                    }
                } catch { conn = nil }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        thread = t
        t.start()
    }

    func stop() -> ([Int], Double) {
        lock.withLock { running = false }
        Thread.sleep(forTimeInterval: 0.3)
        return lock.withLock { (acknowledged, longestGap) }
    }

    /// Acknowledged ids the current primary does not have.
    func missing(_ ids: [Int]) throws -> [Int] {
        let rows = try PGConnection(conninfo: conninfo).query("select id from \(table) where id < 1000000").rows
        let present = Set(rows.compactMap { $0.first.flatMap { $0.flatMap { Int($0) } } })
        return ids.filter { !present.contains($0) }
    }
}
