import AgentCore
import ArgumentParser

/// `pgha history`: every timeline change (timeline, LSN, reason, time, new leader).
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the cluster's failover and switchover history.")
    @OptionGroup var options: ControlOptions
    @Option(name: [.short, .long], help: "pretty, json or yaml.") var format: OutputFormat = .pretty

    func run() async throws {
        try await Control.run(options) { a in print(ClusterTable.history(try await a.client.view(), format: format)) }
    }
}
