import ArgumentParser
import CLI
import Foundation
import Provision

/// `provision inventory INV --list | --host NAME | --graph [GROUP]`, shaped like ansible-inventory.
struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "Show an inventory as ansible-inventory does (JSON or a group tree).")

    @Argument(help: "Inventory file or directory.") var inventory: String
    @Flag(help: "Print every group and _meta.hostvars as JSON.") var list = false
    @Option(help: "Print one host's merged variables as JSON.") var host: String?
    @Flag(help: "Print the group tree.") var graph = false
    @Argument(help: "Group to start the graph from (default all).") var group: String?

    func validate() throws {
        let modes = [list, host != nil, graph].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --list, --host NAME, --graph") }
    }

    func run() throws {
        let inv: Inventory
        do { inv = try Inventory.load(path: inventory) } catch { throw CommandFailure(.usage, "\(error)") }
        if list {
            print(Values.json(inv.listJSON(), pretty: true))
        } else if let host {
            guard inv.hostNames.contains(host) else { throw CommandFailure(.usage, "host '\(host)' is not in \(inventory)") }
            print(Values.json(inv.variables(forHost: host), pretty: true))
        } else {
            print(inv.graph(from: group ?? "all"))
        }
    }
}
