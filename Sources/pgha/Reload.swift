import AgentCore
import ArgumentParser

/// `pgha reload [MEMBER…]`: re-apply the configuration and reload Postgres.
struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reload the configuration on members (all by default).")
    @OptionGroup var options: ControlOptions
    @Argument(help: "Members to reload (default: all).") var members: [String] = []
    @Flag(help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await Control.run(options, force: force) { a in try await a.reload(members: members) }
    }
}
