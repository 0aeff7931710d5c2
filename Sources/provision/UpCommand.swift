import ArgumentParser
import Foundation
import Provision

struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Bring the cluster up: the lab (when the inventory declares one), then playbooks/site.yml; prints the cluster.")
    @OptionGroup var cluster: ClusterArguments

    func run() throws {
        let start = Date()
        let workflow = try cluster.workflow()
        let summary = try clusterCall { try workflow.up() }
        let status = try clusterCall { try ClusterStatus.fetch(inventory: workflow.inventory) }
        print("\n" + status.table, terminator: "")
        print(String(format: "provision up: %.1f s (site.yml %.1f s, changed=%d)",
                     Date().timeIntervalSince(start), summary.seconds, summary.changedTotal))
    }
}
