import ArgumentParser
import Provision

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the cluster as the agents see it, and which balancer holds the floating address (reads only).")
    @OptionGroup var cluster: ClusterArguments

    func run() throws {
        let workflow = try cluster.workflow()
        let status = try clusterCall { try ClusterStatus.fetch(inventory: workflow.inventory) }
        print(status.table, terminator: "")
        print(BalancerStatus.fetch(inventory: workflow.inventory).summary)
    }
}
