import AgentCore
import ArgumentParser
import CLI

@main
struct PGHACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgha",
        abstract: "PostgreSQL HA agent (Patroni-compatible) and its control CLI.",
        subcommands: [Serve.self, List.self, Topology.self, History.self, ShowConfig.self, Switchover.self, Failover.self,
                      Restart.self, Reload.self, Reinit.self, EditConfig.self, Pause.self, Resume.self, Remove.self, Version.self]
    )

    /// Every error leaves through here as one `pgha: error:` line with a `CommandFailure` code (docs/agent.md).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            exit(reporting: error, tool: "pgha")
        }
    }
}
