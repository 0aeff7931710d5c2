import ArgumentParser
import Foundation
import Provision

/// The lab's emulated-watchdog server (lab.watchdog), started detached by `lab up` / `lab start`
/// and stopped by PID by `lab down` / `lab destroy`; not for people to run.
struct LabWatchdogServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog-serve", abstract: "Play every lab host's /dev/watchdog (started by lab up).",
        shouldDisplay: false)
    @OptionGroup var options: LabInventoryArgument
    @Option(help: .hidden) var stateRoot = LabSpec.defaultStateRoot
    @Option(help: .hidden) var cacheRoot = LabSpec.defaultCacheRoot

    func run() throws {
        let stamp = ISO8601DateFormatter()
        let note: (String) -> Void = { line in
            print("\(stamp.string(from: Date())) \(line)")
            fflush(stdout)
        }
        let lab = try labCall { try Lab(inventory: options.inventory, stateRoot: stateRoot, cacheRoot: cacheRoot, log: note) }
        try labCall { try lab.serveWatchdogs(note: note) }
    }
}
