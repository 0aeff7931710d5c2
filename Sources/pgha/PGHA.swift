import AgentCore
import ArgumentParser

@main
struct PGHACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgha",
        abstract: "PostgreSQL HA agent (Patroni-compatible) and its control CLI.",
        subcommands: [Serve.self, Version.self]
    )
}
