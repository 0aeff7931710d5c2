import ArgumentParser
import Provision

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check replication: every replica streaming with little lag, a marker row on every replica, HAProxy routing.")
    @OptionGroup var cluster: ClusterArguments

    func run() throws {
        let workflow = try cluster.workflow()
        let status = try clusterCall { try workflow.check() }
        print("\n" + status.table, terminator: "")
    }
}
