import ArgumentParser
import Provision

struct SwitchoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchover",
        abstract: "Hand the primary role to HOST (or the healthiest replica); nothing happens when HOST already leads.")
    @OptionGroup var cluster: ClusterArguments
    @Option(name: .customLong("to"), help: "The member that becomes primary.") var to: String?

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.switchover(to: to) }
    }
}
