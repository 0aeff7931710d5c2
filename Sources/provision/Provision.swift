import ArgumentParser
import Provision

@main
struct ProvisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Provision and run PostgreSQL HA clusters over SSH.",
        subcommands: [RunCommand.self, InventoryCommand.self, LabCommand.self, UpCommand.self, CheckCommand.self,
                      DemoCommand.self, SwitchoverCommand.self, SetCommand.self, RebuildCommand.self, DownCommand.self]
    )
}
