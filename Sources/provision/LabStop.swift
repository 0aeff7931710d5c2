import ArgumentParser
import Provision

struct LabStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Clean poweroff of one host (its disk stays).")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.stop(host: host) }
    }
}
