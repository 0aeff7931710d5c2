import ArgumentParser
import CLI
import Foundation
import Provision

/// `provision lab …`: local systemd-nspawn hosts declared by an inventory. Every subcommand takes
/// the inventory as its first positional argument (a directory with hosts.yml, or the file).
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Local lab hosts (systemd-nspawn) with fault injection.",
        discussion: """
            State lives in /var/lib/provision/labs/<lab>/ (keys, disks, recorded PIDs); the base \
            image and the offline apt repository are cached in /var/cache/provision/. The lab's \
            name is lab.name from the inventory, else the inventory directory's name. Every \
            subcommand takes the inventory first: provision lab kill inventories/lab pg1.
            """,
        subcommands: [LabUp.self, LabStatus.self, LabStop.self, LabKill.self, LabStart.self,
                      LabPartition.self, LabHeal.self, LabSSH.self, LabDown.self, LabDestroy.self,
                      LabWatchdogServe.self]
    )
}

/// The inventory argument every `lab` subcommand takes first.
struct LabInventoryArgument: ParsableArguments {
    @Argument(help: "Inventory declaring the lab (directory with hosts.yml, or the file).")
    var inventory: String

    /// A lab inventory that does not load is a usage error (exit 1).
    func lab() throws -> Lab {
        do { return try Lab(inventory: inventory) } catch let error as LabError { throw CommandFailure(.usage, error.message) }
    }
}

/// Runs `body`; a `LabError` becomes a `CommandFailure` (exit 2).
func labCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as LabError { throw CommandFailure(.failed, error.message) }
}

/// The inventory and one of its hosts, for the single-host subcommands.
struct LabHostArguments: ParsableArguments {
    @OptionGroup var inventory: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String

    /// Loads the lab and runs `action` on the host, errors printed as one line.
    func run(_ action: (Lab) -> (String) throws -> Void) throws {
        let lab = try inventory.lab()
        try labCall { try action(lab)(host) }
    }
}
