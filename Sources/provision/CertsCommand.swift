import ArgumentParser
import Foundation
import Provision

struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make or renew the cluster CA and the host and client certificates, and roll renewed ones out.",
        discussion: """
        The CA and certificates live in tls_dir (default: lab_secrets_dir/tls), 0600. The first run makes
        them; later runs change nothing unless a certificate expires within tls_renew_days, its names
        changed, or --rotate asks for new keys and serials. Prints subjects, names and expiry, never keys.
        Renewed certificates are then rolled out to the running cluster (site.yml: etcd members and
        agents restarted one at a time, Postgres and PgBouncer reloaded) unless --local is given;
        certificates made for the first time go out with the next `provision up`.
        """)
    @Argument(help: "Inventory of the cluster (directory with hosts.yml and group_vars, or the file).")
    var inventory: String
    @Flag(help: "Reissue every host and client certificate (new keys and serials; the CA stays).")
    var rotate = false
    @Flag(help: "Only write the files on this machine; the next `provision up` copies them to the hosts.")
    var local = false
    @Flag(help: "Print a JSON document instead of the table.")
    var json = false

    func run() throws {
        let statuses: [CertificateStatus]
        var rollout: RunSummary?
        if local {
            statuses = try clusterCall {
                let plan = try CertificatePlan(inventory: try Inventory.load(path: inventory), inventoryPath: inventory)
                return try ClusterCertificates.ensure(plan, rotate: rotate)
            }
        } else {
            let workflow = try ClusterArguments.workflow(inventory)
            (statuses, rollout) = try clusterCall { try workflow.certificates(rotate: rotate, deploy: true) }
        }
        let changed = statuses.filter { $0.action != .unchanged }.count
        if json {
            var doc: [String: Any] = ["certificates": statuses.map(\.json), "changed": changed]
            if let rollout { doc["rollout"] = ["seconds": rollout.seconds, "changed": rollout.changedTotal] }
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
        if let rollout { print(String(format: "rolled out to the hosts: site.yml %.1f s, changed=%d", rollout.seconds, rollout.changedTotal)) }
    }
}
