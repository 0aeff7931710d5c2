import AgentCore
import ArgumentParser

/// `pgha show-config`: the dynamic configuration (`config` key) as YAML.
struct ShowConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show-config", abstract: "Show the dynamic configuration.")
    @OptionGroup var options: ControlOptions

    func run() async throws {
        try await Control.run(options) { a in print(ConfigEditor.yaml(try await a.client.view().config?.raw ?? "{}"), terminator: "") }
    }
}
