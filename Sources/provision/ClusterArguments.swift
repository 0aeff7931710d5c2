import ArgumentParser
import CLI
import Foundation
import Provision

/// The inventory argument and output flags every cluster workflow command takes.
struct ClusterArguments: ParsableArguments {
    @Argument(help: "Inventory of the cluster (directory with hosts.yml and group_vars, or the file).")
    var inventory: String

    @Flag(name: .customShort("v"), help: "More output (repeatable).")
    var verbose: Int

    /// An inventory that does not load or lacks a cluster group is input: a usage error (exit 1).
    func workflow() throws -> ClusterWorkflow {
        let workflow = try Self.workflow(inventory)
        workflow.verbosity = verbose
        return workflow
    }

    static func workflow(_ inventory: String) throws -> ClusterWorkflow {
        do { return try ClusterWorkflow(inventoryPath: inventory) } catch { throw CommandFailure(.usage, "\(error)") }
    }
}

/// Runs `body`; a workflow error becomes a `CommandFailure` (exit 2).
func clusterCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ExitCode { throw error } catch let error as CommandFailure { throw error } catch {
        throw CommandFailure(.failed, "\(error)")
    }
}
