import ArgumentParser
import Provision

struct LabKill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Pull the plug: SIGKILL the host's container (its recorded init PID).")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.kill(host: host) }
    }
}
