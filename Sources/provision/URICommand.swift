import ArgumentParser
import Foundation
import Provision

struct URICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uri",
        abstract: "Print libpq connection URIs for the cluster: over the database hosts, the floating address, each balancer.",
        discussion: """
        Each line is a label and a URI to paste into psql. Passwords are never printed: libpq reads
        them from ~/.pgpass or PGPASSWORD. --role primary asks for a writable session
        (target_session_attrs=read-write), replica for a standby, any for a standby else the primary.
        """)
    @Argument(help: "Inventory of the cluster (directory with hosts.yml and group_vars, or the file).")
    var inventory: String
    @Option(help: "primary, replica or any.") var role: String = "primary"
    @Option(help: "Database user (default: postgres_superuser).") var user: String?
    @Option(help: "Database name.") var dbname: String?

    func validate() throws {
        guard ConnectionURIs.Role(rawValue: role) != nil else {
            throw ValidationError("--role must be one of \(ConnectionURIs.Role.allCases.map(\.rawValue).joined(separator: ", ")), not '\(role)'")
        }
    }

    func run() throws {
        let uris = try clusterCall {
            let inv = try Inventory.load(path: inventory)
            return try ConnectionURIs(inventory: inv, inventoryPath: inventory, role: ConnectionURIs.Role(rawValue: role)!, user: user, dbname: dbname)
        }
        let width = uris.lines.map(\.label.count).max() ?? 0
        for line in uris.lines {
            print(line.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + line.uri + "\n" + String(repeating: " ", count: width + 2) + "# " + line.note)
        }
    }
}
