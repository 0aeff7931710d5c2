import ArgumentParser
import Provision

struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the cluster's services cleanly (HAProxy, replicas, primary, etcd); hosts stay up.")
    @OptionGroup var cluster: ClusterArguments

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.down() }
    }
}
