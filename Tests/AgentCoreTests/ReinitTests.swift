// reinit that cannot lie: a replica rebuilt several times in a row while a client keeps writing to
// the primary. Each round must really replace the data directory (a marker file unique to the
// round is gone, the clone identity changed) before the CLI says so, and the rebuilt replica must
// end up holding every row the primary acknowledged.
import AgentCore
import Fixtures
import Foundation
import PQ
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct ReinitTests {
    @Test func repeatedReinitUnderWriteLoad() throws {
        let cluster = try AgentCluster(scope: "reinit")
        defer { cluster.shutdown() }
        try cluster.requireRESTAuth()
        try cluster.startAll()
        let leader = try cluster.healthy()
        try cluster.connect(leader).query("CREATE TABLE load (id int PRIMARY KEY, at timestamptz DEFAULT now())")

        let writer = Writer(conninfo: cluster.conninfo(leader))
        writer.start()
        defer { writer.stop() }
        let victim = cluster.members.map(\.name).first { $0 != leader }!
        var identities: [String] = []
        for round in 1...3 {
            let before = try #require(cluster.dataIdentity(victim), "\(victim) reports no data_identity")
            let marker = cluster.member(victim).dataDir + "/pgha-reinit-round-\(round)-\(UUID().uuidString)"
            #expect(FileManager.default.createFile(atPath: marker, contents: Data("x".utf8)))
            let acknowledgedBefore = writer.acknowledged
            let re = try cluster.cli(["reinit", victim, "--force"])
            #expect(re.status == 0 && re.out.contains("\(victim) is streaming again"), "round \(round): \(re.out)\(re.err)")
            // The CLI's claim, checked independently of it.
            #expect(!FileManager.default.fileExists(atPath: marker), "round \(round): reinit kept the old data directory\n\(cluster.logs(40))")
            let after = try #require(cluster.dataIdentity(victim))
            #expect(after != before && !identities.contains(after), "round \(round): data_identity \(after) was seen before")
            identities.append(after)
            #expect(writer.acknowledged > acknowledgedBefore, "round \(round): the writer made no progress during the rebuild")
        }
        writer.stop()
        #expect(writer.errors.isEmpty, "writes to the primary failed: \(writer.errors.prefix(3))")

        // Every acknowledged row is on the primary and, once caught up, on the rebuilt replica.
        let acked = writer.acknowledgedIDs
        #expect(acked.count > 50, "only \(acked.count) rows written")
        for member in [leader, victim] {
            let missing = try cluster.eventually(30, "\(member) holds every acknowledged row") { () -> [Int]? in
                guard let r = try? cluster.connect(member).query("SELECT id FROM load") else { return nil }
                let have = Set(r.rows.compactMap { $0[0].flatMap { Int($0) } })
                let missing = acked.filter { !have.contains($0) }
                return missing.isEmpty ? missing : nil
            }
            #expect(missing.isEmpty)
        }
    }
} }

/// Inserts numbered rows into `load` one at a time until stopped; records what was acknowledged.
final class Writer: @unchecked Sendable {
    let conninfo: String
    private let lock = NSLock()
    private var ids: [Int] = []
    private var failures: [String] = []
    private var running = false
    private let done = DispatchSemaphore(value: 0)

    init(conninfo: String) { self.conninfo = conninfo }

    var acknowledged: Int { lock.withLock { ids.count } }
    var acknowledgedIDs: [Int] { lock.withLock { ids } }
    var errors: [String] { lock.withLock { failures } }

    func start() {
        lock.withLock { running = true }
        Thread.detachNewThread { [self] in
            var next = 1
            var conn: PGConnection?
            while lock.withLock({ running }) {
                do {
                    if conn == nil { conn = try PGConnection(conninfo: conninfo) }
                    _ = try conn!.query("INSERT INTO load (id) VALUES ($1)", [String(next)])
                    lock.withLock { ids.append(next) }
                    next += 1
                } catch {
                    lock.withLock { failures.append("\(next): \(error)") }
                    conn = nil
                    next += 1
                    Thread.sleep(forTimeInterval: 0.1)
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            done.signal()
        }
    }

    func stop() {
        let was = lock.withLock { () -> Bool in defer { running = false }; return running }
        if was { done.wait() }
    }
}

extension AgentCluster {
    /// The member's own report of which initdb or clone made its data directory.
    func dataIdentity(_ name: String) -> String? {
        guard let body = body(name, "/patroni"),
              let d = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else { return nil }
        return d["data_identity"] as? String
    }
}
