import ArgumentParser
import Provision

struct LabHeal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal", abstract: "Undo partition: the host talks to the other lab hosts again.")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.heal(host: host) }
    }
}
