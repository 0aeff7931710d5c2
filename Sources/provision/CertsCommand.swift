import ArgumentParser
import Foundation
import Provision

struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make or renew the cluster CA and the host and client certificates (on this machine).",
        discussion: """
        The CA and certificates live in tls_dir (default: lab_secrets_dir/tls), 0600. The first run makes
        them; later runs change nothing unless a certificate expires within tls_renew_days, its names
        changed, or --rotate asks for new keys and serials. Prints subjects, names and expiry, never keys.
        """)
    @Argument(help: "Inventory of the cluster (directory with hosts.yml and group_vars, or the file).")
    var inventory: String
    @Flag(help: "Reissue every host and client certificate (new keys and serials; the CA stays).")
    var rotate = false
    @Flag(help: "Print a JSON document instead of the table.")
    var json = false

    func run() throws {
        let statuses = try clusterCall {
            let plan = try CertificatePlan(inventory: try Inventory.load(path: inventory), inventoryPath: inventory)
            return try ClusterCertificates.ensure(plan, rotate: rotate)
        }
        let changed = statuses.filter { $0.action != .unchanged }.count
        if json {
            let doc: [String: Any] = ["certificates": statuses.map(\.json), "changed": changed]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let formatter = ISO8601DateFormatter()
        let width = statuses.map(\.name.count).max() ?? 0
        for s in statuses {
            let names = (s.dnsNames + s.ipAddresses).joined(separator: ",")
            let why = s.reason.isEmpty ? "" : " (\(s.reason))"
            print("\(s.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(s.action.rawValue)\(why)  \(s.usage)  \(s.subject)  expires \(formatter.string(from: s.notAfter))"
                  + (names.isEmpty ? "" : "  names \(names)"))
        }
        print("certificates in \((statuses.first?.certificatePath as NSString?)?.deletingLastPathComponent ?? ""): changed=\(changed)")
    }
}
