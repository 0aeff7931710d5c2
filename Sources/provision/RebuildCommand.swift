import ArgumentParser
import Provision

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Wipe a replica's data directory and clone it again from the primary.")
    @OptionGroup var cluster: ClusterArguments
    @Argument(help: "The member to rebuild.") var host: String
    @Flag(name: .customLong("force-failover"), help: "Allow rebuilding the current primary: it is switched over first.")
    var forceFailover = false

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.rebuild(host: host, forceFailover: forceFailover) }
    }
}
