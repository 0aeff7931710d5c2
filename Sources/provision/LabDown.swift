import ArgumentParser
import Provision

struct LabDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Power every host off; remove mounts, links, bridge and nft rules; keep disks and keys.")
    @OptionGroup var options: LabInventoryArgument

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.down() }
    }
}
