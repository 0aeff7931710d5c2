import AgentCore
import ArgumentParser

/// `pgha restart [MEMBER…]`: restart Postgres in place (replicas first, the leader last, no failover).
struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart Postgres on members (all by default).")
    @OptionGroup var options: ControlOptions
    @Argument(help: "Members to restart (default: all).") var members: [String] = []
    @Option(help: "primary, replica or any.") var role: String?
    @Flag(help: "Only members whose pending_restart is set.") var pending = false
    @Option(help: "When, ISO 8601 with zone.") var scheduled: String?
    @Flag(help: "Do not ask for confirmation.") var force = false

    func validate() throws {
        if let role, !["primary", "master", "replica", "any"].contains(role) { throw ValidationError("--role: expected primary, replica or any") }
    }

    func run() async throws {
        try await Control.run(options, force: force) { a in
            try await a.restart(members: members, role: role, pending: pending, scheduled: scheduled)
        }
    }
}
