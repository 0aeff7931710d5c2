import AgentCore
import ArgumentParser

/// `pgha topology`: the table with replicas indented under the leader they stream from.
struct Topology: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the replication tree of the cluster.")
    @OptionGroup var options: ControlOptions
    @Option(name: [.short, .long], help: "pretty, json or yaml.") var format: OutputFormat = .pretty

    func run() async throws {
        try await Control.run(options) { a in
            print(ClusterTable.render(try await a.client.view(), scope: a.client.scope, format: format, topology: true))
        }
    }
}
