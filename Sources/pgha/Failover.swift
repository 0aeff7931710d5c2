import AgentCore
import ArgumentParser

/// `pgha failover --candidate M`: promote a named member, with or without a healthy leader.
struct Failover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fail over to a named member (also when there is no leader).")
    @OptionGroup var options: ControlOptions
    @Option(help: "The member to promote.") var candidate: String
    @Flag(help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await Control.run(options, force: force) { a in try await a.failover(candidate: candidate) }
    }
}
