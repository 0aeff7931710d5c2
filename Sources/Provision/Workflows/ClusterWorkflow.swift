// The named cluster workflows behind `provision up/check/demo/switchover/set/rebuild/dr/down`
// (backup, backups, restore and rebuild --from in BackupWorkflow.swift):
// each runs one playbook of playbooks/ through the engine with the inputs it computed, and turns
// a failed run into one readable reason (host, task, message).
import Foundation

public final class ClusterWorkflow {
    public let layout: ProjectLayout
    public let inventoryPath: String
    public let inventory: Inventory
    /// Output for the playbook runs (human text on stdout by default).
    public var output: OutputSink?
    public var verbosity = 0
    /// Progress lines of the workflow itself (stderr by default).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(inventoryPath: String, layout: ProjectLayout? = nil) throws {
        self.layout = try layout ?? ProjectLayout.locate()
        self.inventoryPath = inventoryPath
        inventory = try Inventory.load(path: inventoryPath)
        for group in ["postgres", "etcd", "haproxy"] where inventory.hosts(inGroup: group).isEmpty {
            throw WorkflowError("\(inventoryPath): group '\(group)' has no hosts (the cluster playbooks need postgres, etcd and haproxy)")
        }
    }

    /// Runs playbooks/NAME with `vars` as extra vars; throws the run's failures as one error.
    @discardableResult
    public func runPlaybook(_ name: String, vars: [String: Any] = [:], limit: String? = nil) throws -> RunSummary {
        let failures = FailureRecorder(forwardingTo: output ?? HumanOutput(verbosity: verbosity))
        let options = RunOptions(limit: limit, extraVars: vars, verbosity: verbosity)
        let runner = PlaybookRunner(inventory: inventory, options: options, output: failures)
        defer { runner.close() }
        let summary = runner.run(playbookPath: layout.playbook(name))
        if summary.exitCode != 0 {
            if let error = summary.error { throw WorkflowError("\(name): \(error)") }
            let reasons = failures.reasons.isEmpty ? ["exit code \(summary.exitCode)"] : failures.reasons
            throw WorkflowError("\(name) failed:\n  " + reasons.joined(separator: "\n  "))
        }
        return summary
    }

    /// Whether the inventory declares a lab (`lab:` in group all's variables).
    public var declaresLab: Bool { inventory.groups["all"]?.vars["lab"] != nil }

    /// The lab the inventory declares, brought up (hosts already running are left alone).
    public func labUp() throws -> LabUpReport {
        let lab = try Lab(inventory: inventory, path: inventoryPath, log: log)
        return try lab.up()
    }

    /// `provision up`: the lab when the inventory declares one, the pgha binary built if
    /// missing or stale, the cluster CA and certificates made or renewed (as `provision certs`),
    /// then site.yml, which copies them to the hosts.
    @discardableResult
    public func up() throws -> RunSummary {
        if declaresLab { log("\(try labUp())") }
        try ensureCertificates()
        return try siteRun()
    }

    /// site.yml with the pgha binary built when missing or stale.
    func siteRun() throws -> RunSummary {
        let build = PghaBuild(layout: layout)
        let binary = try build.ensureBuilt(log: log)
        return try runPlaybook("site.yml", vars: ["pgha_binary": binary, "pgha_binary_sha256": try build.hostBinarySHA256()])
    }

    /// `provision certs`: the CA and certificates made, renewed or (`rotate`) reissued on this
    /// machine; when one that hosts already have was renewed and `deploy` is set, rolled out to a
    /// running cluster by site.yml without downtime: etcd members restart one at a time (quorum
    /// kept), the agents one at a time (the primary's hands its leader key over: one switchover),
    /// Postgres and PgBouncer reload. Certificates made for the first time wait for `provision up`.
    public func certificates(rotate: Bool, deploy: Bool) throws -> (statuses: [CertificateStatus], rollout: RunSummary?) {
        let statuses = try ClusterCertificates.ensure(try CertificatePlan(inventory: inventory, inventoryPath: inventoryPath), rotate: rotate)
        let renewed = statuses.filter { $0.action == .renewed }
        guard deploy, !renewed.isEmpty else { return (statuses, nil) }
        log("certificates renewed: \(renewed.map(\.name).joined(separator: ", ")); rolling them out (site.yml)")
        return (statuses, try siteRun())
    }

    /// The cluster CA and certificates on this machine (`provision certs` without --rotate): made
    /// on the first run, reused after; one line of counts, never a key.
    func ensureCertificates() throws {
        let statuses: [CertificateStatus]
        do {
            statuses = try ClusterCertificates.ensure(try CertificatePlan(inventory: inventory, inventoryPath: inventoryPath))
        } catch { throw WorkflowError("certificates: \(error)") }
        let changed = statuses.filter { $0.action != .unchanged }
        log("certificates in \((statuses.first?.certificatePath as NSString?)?.deletingLastPathComponent ?? "?"): \(statuses.count), changed=\(changed.count)"
            + (changed.isEmpty ? "" : " (" + changed.map { "\($0.name) \($0.action.rawValue)" }.joined(separator: ", ") + ")"))
    }

    /// `provision check`: check.yml, then the cluster table. `excluding`: members known to be
    /// down (a killed host); the survivors are checked.
    public func check(excluding down: [String] = []) throws -> ClusterStatus {
        for host in down where !inventory.hosts(inGroup: "postgres").contains(host) {
            throw WorkflowError("check: --exclude \(host) is not in group postgres of \(inventoryPath)")
        }
        try runPlaybook("check.yml", vars: ["cluster_down_hosts": down],
                        limit: down.isEmpty ? nil : (["all"] + down.map { "!" + $0 }).joined(separator: ":"))
        // check.yml saw every replica streaming from the primary; the agents publish their own
        // state once per loop, so the table is read again (up to 5 s) until it shows that too.
        let replicas = inventory.hosts(inGroup: "postgres").filter { !down.contains($0) }.count - 1
        var status = try ClusterStatus.fetch(inventory: inventory, excluding: down)
        let deadline = Date().addingTimeInterval(5)
        while status.members.filter({ $0.state == "streaming" }).count < replicas, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
            status = try ClusterStatus.fetch(inventory: inventory, excluding: down)
        }
        return status
    }

    /// `provision demo`: the demo script generated (cached by scale; byte-identical each time, so
    /// the upload is skipped on re-runs), then demo.yml.
    public func demo(scale: Int, pgbenchScale: Int = 1) throws {
        let db = try DemoDatabase(scale: scale)
        let dir = layout.root + "/.build/demo"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/demo-scale-\(scale).sql"
        if !FileManager.default.fileExists(atPath: path) {
            let counts = try db.write(to: path)
            log("generated \(path): \(counts)")
        }
        try runPlaybook("demo.yml", vars: ["demo_sql_path": path, "demo_scale": scale, "pgbench_scale": pgbenchScale])
    }

    /// `provision switchover`: to `host`, or to the healthiest replica when nil.
    public func switchover(to host: String?) throws {
        if let host, !inventory.hosts(inGroup: "postgres").contains(host) {
            throw WorkflowError("switchover: \(host) is not in group postgres of \(inventoryPath)")
        }
        try runPlaybook("switchover.yml", vars: ["switchover_to": host ?? ""])
    }

    /// `provision set`: dynamic config, rolling restart when a parameter needs one.
    public func set(_ change: ParameterChange) throws {
        try runPlaybook("set.yml", vars: ["pg_config_patch": change.configPatchJSON,
                                          "pg_parameters_live_sql": change.liveSQL])
    }

    /// `provision rebuild`: wipe and re-clone one replica from the primary (BackupWorkflow.swift
    /// has `--from backup`).
    public func rebuild(host: String, forceFailover: Bool) throws {
        try rebuild(host: host, forceFailover: forceFailover, from: .primary)
    }

    /// `provision dr promote`: the DR site (a standby cluster) becomes a primary cluster; refused
    /// while its standby leader still streams from the main site unless `force`.
    @discardableResult
    public func drPromote(force: Bool) throws -> RunSummary {
        try runPlaybook("dr-promote.yml", vars: ["dr_force": force])
    }

    /// `provision down`: services stopped, hosts left running.
    public func down() throws { try runPlaybook("down.yml") }
}

/// Passes every event on and keeps "host: task: message" for each failure that was not ignored.
final class FailureRecorder: OutputSink {
    let forward: OutputSink
    private(set) var reasons: [String] = []
    private var task = ""
    private let lock = NSLock()

    init(forwardingTo forward: OutputSink) { self.forward = forward }

    func emit(_ event: RunEvent) {
        lock.lock()
        switch event {
        case let .taskStart(name, _): task = name
        case let .hostResult(host, status, message, item, ignored, _, _) where (status == .failed && !ignored) || status == .unreachable:
            reasons.append("\(host): \(task)\(item.map { " (item \($0))" } ?? ""): \(message ?? status.rawValue)")
        default: break
        }
        lock.unlock()
        forward.emit(event)
    }
}
