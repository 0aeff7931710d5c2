import AgentCore
import ArgumentParser

/// `pgha reinit MEMBER`: wipe a replica and clone it again (from the leader or a clonefrom peer).
struct Reinit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild a replica from scratch (refused on the leader).")
    @OptionGroup var options: ControlOptions
    @Argument(help: "The replica to rebuild.") var member: String
    @Flag(help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await Control.run(options, force: force) { a in try await a.reinit(member: member) }
    }
}
