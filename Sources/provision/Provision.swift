import ArgumentParser
import Provision

@main
struct ProvisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Provision and run PostgreSQL HA clusters over SSH.",
        subcommands: [RunCommand.self, InventoryCommand.self]
    )
}
