import ArgumentParser
import Provision

struct DRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dr",
        abstract: "The DR site: a standby cluster of another inventory's cluster (docs/cluster.md).",
        subcommands: [DRPromoteCommand.self])
}

struct DRPromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Turn the DR site of INVENTORY into a primary cluster; nothing happens when it already is one.",
        discussion: """
        Fence the main site first (`provision down MAIN`, or cut it off): while the standby leader still \
        streams from it, the promotion is refused unless --force.
        """)
    @OptionGroup var cluster: ClusterArguments
    @Flag(help: "Promote even though the main site still streams to this one.") var force = false

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.drPromote(force: force) }
    }
}
