import ArgumentParser
import Provision

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check replication: every replica streaming with little lag, a marker row on every replica, HAProxy routing.")
    @OptionGroup var cluster: ClusterArguments
    @Option(name: .customLong("exclude"), help: "A member known to be down; check the survivors (repeatable).")
    var exclude: [String] = []

    func run() throws {
        let workflow = try cluster.workflow()
        let status = try clusterCall { try workflow.check(excluding: exclude) }
        print("\n" + status.table, terminator: "")
        print(BalancerStatus.fetch(inventory: workflow.inventory).summary)
        if let certs = ClusterCertificates.expirySummary(inventory: workflow.inventory, inventoryPath: workflow.inventoryPath) { print(certs) }
    }
}
