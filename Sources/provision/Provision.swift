import ArgumentParser
import Foundation
import Provision

@main
struct ProvisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Provision and run PostgreSQL HA clusters over SSH.",
        subcommands: [RunCommand.self, InventoryCommand.self, LabCommand.self, UpCommand.self, StatusCommand.self, CheckCommand.self,
                      DemoCommand.self, SwitchoverCommand.self, SetCommand.self, URICommand.self, RebuildCommand.self, DrillCommand.self, DownCommand.self, CertsCommand.self]
    )

    /// Usage errors exit 1 (the documented contract: 1 usage/parse error, 2 failed, 4
    /// unreachable), not ArgumentParser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}
