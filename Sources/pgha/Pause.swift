import AgentCore
import ArgumentParser

/// `pgha pause`: maintenance mode (no automatic failover, no automatic Postgres restarts).
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn automatic failover off (maintenance mode).")
    @OptionGroup var options: ControlOptions
    @Flag(help: "Wait until every member has seen it.") var wait = false

    func run() async throws {
        try await Control.run(options) { a in try await a.setPaused(true, wait: wait) }
    }
}
