import ArgumentParser
import Provision

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change Postgres parameters cluster-wide; restart-only ones roll through the replicas, then a switchover.")
    @OptionGroup var cluster: ClusterArguments
    @Argument(help: "Parameters as name=value (values as SHOW prints them, e.g. max_connections=150 work_mem=8MB).")
    var parameters: [String] = []

    func validate() throws {
        do { _ = try ParameterChange(arguments: parameters) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let change = try ParameterChange(arguments: parameters)
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.set(change) }
    }
}
