import AgentCore
import ArgumentParser

/// `pgha resume`: leave maintenance mode.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn automatic failover back on.")
    @OptionGroup var options: ControlOptions
    @Flag(help: "Wait until every member has seen it.") var wait = false

    func run() async throws {
        try await Control.run(options) { a in try await a.setPaused(false, wait: wait) }
    }
}
