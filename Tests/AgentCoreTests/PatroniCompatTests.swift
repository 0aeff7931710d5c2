// Scenarios from Patroni's documentation that a Patroni user's configuration relies on, run
// against a loopback cluster (written here from the documentation).
import AgentCore
import Fixtures
import Foundation
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct PatroniCompatTests {
    /// postgresql.data_dir under directories that do not exist yet: bootstrap creates them.
    @Test func bootstrapCreatesMissingParentsOfDataDir() throws {
        let cluster = try AgentCluster(size: 1, scope: "parents")
        defer { cluster.shutdown() }
        let m = cluster.members[0]
        let nested = m.dir + "/not/there/yet/data"
        try cluster.rewriteConfig(of: m.name, "data_dir: \(m.dataDir)\n", "data_dir: \(nested)\n")
        try cluster.start(m.name)
        let up = waitUntil(timeout: 60, interval: 0.2) { cluster.status(m.name, "/primary") == 200 }
        #expect(up, "no primary with data_dir \(nested)\n\(cluster.logs(30))")
        #expect(FileManager.default.fileExists(atPath: nested + "/PG_VERSION"))
        let attributes = try FileManager.default.attributesOfItem(atPath: m.dir + "/not/there/yet")
        #expect(attributes[.ownerAccountName] as? String == "postgres")
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o750)
    }
} }
