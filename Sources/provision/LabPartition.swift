import ArgumentParser
import Provision

struct LabPartition: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition", abstract: "Cut one host off from every other lab host (the control machine still reaches it).")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.partition(host: host) }
    }
}
