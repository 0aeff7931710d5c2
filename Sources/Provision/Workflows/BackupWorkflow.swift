// `provision backup / backups / restore` and `rebuild --from`: pgBackRest on the inventory's
// `backup` host (docs/backups.md). Commands run on the repository host over the engine's
// transport; the whole-cluster restore is playbooks/restore.yml with inputs checked here first.
import Foundation

public enum BackupType: String, CaseIterable, Sendable { case full, diff, incr }

/// Where `provision rebuild` makes the replica's new data directory from.
public enum RebuildSource: String, CaseIterable, Sendable { case primary, backup }

extension ClusterWorkflow {
    /// The repository host, or an error saying backups are not configured.
    public func backupHost() throws -> String {
        guard let host = inventory.hosts(inGroup: "backup").first else {
            throw WorkflowError("\(inventoryPath): group 'backup' has no hosts, so backups are not configured (docs/backups.md)")
        }
        return host
    }

    /// A variable of `host` rendered (group_vars values may be templates).
    func rendered(_ name: String, host: String) throws -> String {
        let value = "\(try NestedVariables(inventory.variables(forHost: host)).templater.render("{{ \(name) }}"))"
        guard !value.isEmpty else { throw WorkflowError("\(inventoryPath): variable '\(name)' is not set for \(host)") }
        return value
    }

    /// Runs pgBackRest as the repository's owner on the backup host; throws with its own message on failure.
    func pgbackrest(_ arguments: String) throws -> String {
        let host = try backupHost()
        let user = try rendered("backup_user", host: host), stanza = try rendered("backup_stanza", host: host)
        let transport = try Connector.transport(forHost: host, variables: inventory.variables(forHost: host))
        defer { transport.close() }
        let result = try transport.run("runuser -u \(user) -- pgbackrest --stanza=\(stanza) \(arguments)")
        guard result.exitStatus == 0 else {
            let why = (result.stderr + result.stdout).split(separator: "\n").filter { $0.contains("ERROR") || $0.contains("HINT") }
            throw WorkflowError("\(host): pgbackrest \(arguments.split(separator: " ").last ?? "") exit \(result.exitStatus): "
                                + (why.isEmpty ? String(result.stderr.suffix(500)) : why.joined(separator: " ")))
        }
        return result.stdout
    }

    /// `provision backups`: the stanza's backups and archive, from `pgbackrest info --output=json`.
    public func backups() throws -> BackupInfo {
        let stanza = try rendered("backup_stanza", host: try backupHost())
        return try BackupInfo(json: try pgbackrest("--output=json info"), stanza: stanza)
    }

    /// `provision backup`: one backup on the repository host (from the current primary, which
    /// pgBackRest finds itself); returns the new set only once `info` lists it.
    public func backup(type: BackupType) throws -> BackupSet {
        let before = Set(try backups().backups.map(\.label))
        log("backup: \(type.rawValue) backup of stanza \(try rendered("backup_stanza", host: try backupHost())) on \(try backupHost())")
        _ = try pgbackrest("--type=\(type.rawValue) backup")
        let after = try backups()
        guard let made = after.backups.last(where: { !before.contains($0.label) }), !made.error else {
            throw WorkflowError("backup: pgbackrest ended without error but info lists no new valid backup (newest: \(after.backups.last?.label ?? "none"))")
        }
        if made.type != type.rawValue { log("backup: pgBackRest made a \(made.type) backup (a \(type.rawValue) needs a prior full one)") }
        return made
    }

    /// Whether every member runs: one leader, the others streaming.
    func healthy(_ status: ClusterStatus?) -> Bool {
        guard let status else { return false }
        let members = inventory.hosts(inGroup: "postgres").count
        return status.members.filter { $0.role == "leader" && $0.state == "running" }.count == 1
            && status.members.filter { $0.state == "streaming" }.count == members - 1
    }

    /// `provision restore`: point-in-time recovery of the whole cluster. Refused without `force`
    /// while the cluster is healthy; checks the target against the repository before touching
    /// anything. Returns the cluster once it has one leader on a new timeline and every other
    /// member streams.
    @discardableResult
    public func restore(to target: RestoreTarget, force: Bool) throws -> ClusterStatus {
        let backupHost = try backupHost()
        let before = try? ClusterStatus.fetch(inventory: inventory)
        if healthy(before), !force {
            throw WorkflowError("restore: the cluster is healthy (leader \(before?.leader?.name ?? "?"), every replica streaming): "
                                + "a restore replaces every member's data with the backup's; pass --force to restore anyway")
        }
        let info = try backups()
        try target.check(against: info)
        let members = inventory.hosts(inGroup: "postgres")
        // The leader's host has the newest WAL locally, should the archive lack a segment.
        let host = before?.leader.map(\.name).flatMap { members.contains($0) ? $0 : nil } ?? members[0]
        let timeline = before?.members.compactMap(\.timeline).max() ?? 0
        let options = target.pgbackrestTarget.map { "--type=time '--target=\($0)' --target-action=promote" } ?? "--type=default"
        log("restore: \(target.pgbackrestTarget.map { "to \($0)" } ?? "to the end of the archive") on \(host) from the repository on \(backupHost); every agent stops")
        try runPlaybook("restore.yml", vars: ["restore_host": host, "restore_options": options])
        // The playbook waited for the new primary and for each member streaming; the agents
        // publish their state once per loop, so the table is read until it shows that too.
        var status = try ClusterStatus.fetch(inventory: inventory)
        let deadline = Date().addingTimeInterval(30)
        while !healthy(status), Date() < deadline {
            Thread.sleep(forTimeInterval: 1)
            status = (try? ClusterStatus.fetch(inventory: inventory)) ?? status
        }
        guard healthy(status), let leader = status.leader else {
            throw WorkflowError("restore: after the restore the cluster is not one leader with streaming replicas:\n\(status.table)")
        }
        if let tl = leader.timeline, timeline > 0, tl <= timeline {
            throw WorkflowError("restore: the leader \(leader.name) is on timeline \(tl), not past \(timeline): the recovery did not promote a new timeline")
        }
        return status
    }

    /// `provision rebuild --from backup|primary`: the replica's new data directory restored from
    /// the repository (pgha's `pgbackrest` replica method) or copied from the primary (pg_basebackup).
    public func rebuild(host: String, forceFailover: Bool, from source: RebuildSource) throws {
        guard inventory.hosts(inGroup: "postgres").contains(host) else {
            throw WorkflowError("rebuild: \(host) is not in group postgres of \(inventoryPath)")
        }
        if source == .backup {
            let info = try backups()
            guard info.backups.contains(where: { !$0.error }) else {
                throw WorkflowError("rebuild --from backup: stanza \(info.stanza) has no backup yet (provision backup INV makes one)")
            }
        }
        try runPlaybook("rebuild.yml", vars: ["rebuild_host": host, "force_failover": forceFailover, "rebuild_from": source.rawValue])
    }
}
