import AgentCore
import ArgumentParser

@main
struct PGHACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgha",
        abstract: "PostgreSQL HA agent (Patroni-compatible) and its control CLI.",
        subcommands: [Serve.self, List.self, Topology.self, History.self, ShowConfig.self, Switchover.self, Failover.self,
                      Restart.self, Reload.self, Reinit.self, EditConfig.self, Pause.self, Resume.self, Version.self]
    )
}
