import ArgumentParser
import Provision

struct LabDestroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Kill every host; remove disks, mounts, links, bridge, nft rules and the lab's state.")
    @OptionGroup var options: LabInventoryArgument
    @Flag(help: "Also remove the cached base image and offline repository.") var all = false

    func run() throws {
        let lab = try options.lab()
        try labCall { try lab.destroy(removeCache: all) }
    }
}
