import ArgumentParser
import Provision

struct LabUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Build (once) the image and offline repo, then boot every host not running; prints timings.")
    @OptionGroup var options: LabInventoryArgument

    func run() throws {
        let lab = try options.lab()
        let report = try labCall { try lab.up() }
        print(report)
    }
}
