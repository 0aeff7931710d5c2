import ArgumentParser
import Provision

struct LabStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Table of the lab's hosts: address, state, uptime, whether sshd answers.")
    @OptionGroup var options: LabInventoryArgument

    func run() throws {
        let lab = try options.lab()
        print(Lab.statusTable(lab.status()))
    }
}
