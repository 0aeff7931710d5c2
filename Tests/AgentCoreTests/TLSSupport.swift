// Certificates for the TLS tests, made by provision's cluster CA code: a cluster CA and a second,
// unrelated CA whose certificates must be refused.
import Fixtures
import Foundation
import Provision

struct TestPKI {
    let root: String
    var ca: String { root + "/cluster/ca.crt" }

    init() throws {
        root = try makeTempDir("pgha-pki")
        let leaves = [
            CertificateSpec(name: "node", commonName: "node", usage: .serverAndClient, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"]),
            CertificateSpec(name: "pgha-client", commonName: "", usage: .client),
            CertificateSpec(name: "root-client", commonName: "root", usage: .client),
            CertificateSpec(name: "operator-client", commonName: "", usage: .client),
        ]
        for name in ["cluster", "other"] {
            _ = try ClusterCertificates.ensure(CertificatePlan(directory: "\(root)/\(name)", leaves: leaves))
        }
    }

    func crt(_ name: String, ca: String = "cluster") -> String { "\(root)/\(ca)/\(name).crt" }
    func key(_ name: String, ca: String = "cluster") -> String { "\(root)/\(ca)/\(name).key" }

    /// Lets the postgres OS user (the agents') read every file.
    func share(uid: uid_t, gid: gid_t) {
        for dir in [root, root + "/cluster", root + "/other"] {
            chown(dir, uid, gid)
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] { chown(dir + "/" + f, uid, gid) }
        }
    }

    func remove() { removeTree(root) }
}
