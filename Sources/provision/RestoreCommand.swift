import ArgumentParser
import Provision

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Point-in-time recovery of the whole cluster from the pgBackRest repository.",
        discussion: """
        Every agent and Postgres stops, the cluster's keys leave etcd, one member's data directory is \
        restored to the target and promoted on a new timeline, pgha takes it over, and the other members \
        are cloned again from it. Done is printed once there is one leader and every replica streams. \
        Refused without --force while the cluster is healthy.
        """)
    @OptionGroup var cluster: ClusterArguments
    @Option(help: "The point in time, with a zone: '2026-12-07 01:23:45+00' (UTC), '2026-12-07T02:23:45.5+01:00'.")
    var to: String?
    @Flag(help: "Recover to the end of the archive instead of a point in time.") var latest = false
    @Flag(help: "Restore even though the cluster is healthy.") var force = false

    func validate() throws {
        guard (to != nil) != latest else { throw ValidationError("give exactly one of --to TIME or --latest") }
        if let to { do { _ = try RestoreTarget(parsing: to) } catch { throw ValidationError("\(error)") } }
    }

    func run() throws {
        let target = try to.map { try RestoreTarget(parsing: $0) } ?? .latest
        let workflow = try cluster.workflow()
        let status = try clusterCall { try workflow.restore(to: target, force: force) }
        print("\n" + status.table, terminator: "")
        print("restore \(target.pgbackrestTarget.map { "to \($0)" } ?? "to the end of the archive") done: leader \(status.leader?.name ?? "?") on timeline \(status.leader?.timeline.map(String.init) ?? "?"), \(status.members.filter { $0.state == "streaming" }.count) replicas streaming")
    }
}
