import ArgumentParser
import CLI
import Foundation
import Provision

@main
struct ProvisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Provision and run PostgreSQL HA clusters over SSH.",
        subcommands: [RunCommand.self, InventoryCommand.self, LabCommand.self, UpCommand.self, StatusCommand.self, CheckCommand.self,
                      DemoCommand.self, SwitchoverCommand.self, SetCommand.self, URICommand.self, RebuildCommand.self, DrillCommand.self, DRCommand.self, DownCommand.self, CertsCommand.self,
                      BackupCommand.self, BackupsCommand.self, RestoreCommand.self]
    )

    /// Every error leaves through here as one `provision: error:` line with a `CommandFailure`
    /// code (docs/operations.md): usage errors exit 1, not ArgumentParser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(reporting: error, tool: "provision")
        }
    }
}
