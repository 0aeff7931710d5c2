import AgentCore
import ArgumentParser

/// `pgha switchover`: a lossless, planned change of primary (now or at a time).
struct Switchover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Switch the primary over to another member.")
    @OptionGroup var options: ControlOptions
    @Option(help: "The current leader (checked).") var leader: String?
    @Option(help: "The member to promote (default: the healthiest replica).") var candidate: String?
    @Option(help: "When, ISO 8601 with zone (e.g. 2026-11-22T04:00:00Z).") var scheduled: String?
    @Flag(help: "Cancel a scheduled switchover.") var cancel = false
    @Flag(help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await Control.run(options, force: force) { a in
            if cancel { try await a.cancelSwitchover() } else {
                try await a.switchover(leader: leader, candidate: candidate, scheduled: scheduled)
            }
        }
    }
}
