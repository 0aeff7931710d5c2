import ArgumentParser
import Provision

struct LabStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Boot a stopped or killed host on its existing disk; waits for sshd.")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.start(host: host) }
    }
}
