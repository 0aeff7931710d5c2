// The switchover write gap: a client writes to every member every 50 ms (the primary accepts, the
// replicas refuse); `pgha switchover --force` runs meanwhile; the figure is the longest stretch
// without an acknowledged write around it.
import AgentCore
import Fixtures
import Foundation
import Spawn
import PQ

/// Writes to every member every 50 ms on its own thread and keeps the times of acknowledged writes.
final class GapWriter: @unchecked Sendable {
    let acknowledged = Locked<[Date]>([])
    private let stopFlag = Locked(false)
    private let done = DispatchSemaphore(value: 0)

    init(_ cluster: AgentCluster) {
        let conninfos = cluster.members.map { "host=127.0.0.1 port=\($0.pgPort) user=postgres password=\(cluster.superPassword) dbname=postgres" }
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            var conns: [PGConnection?] = Array(repeating: nil, count: conninfos.count)
            var n = 0
            while !stopFlag.get() {
                let tick = Date()
                for i in conninfos.indices {
                    if conns[i] == nil || conns[i]?.isOK == false { conns[i] = try? PGConnection(conninfo: conninfos[i], connectTimeout: 2) }
                    guard let c = conns[i] else { continue }
                    n += 1
                    do {
                        try c.query("INSERT INTO gap VALUES ($1)", [String(n)])
                        acknowledged.update { $0.append(Date()) }
                    } catch {
                        if !c.isOK { conns[i] = nil }
                    }
                }
                let rest = 0.05 - Date().timeIntervalSince(tick)
                if rest > 0 { Thread.sleep(forTimeInterval: rest) }
            }
        }
    }

    func stop() { stopFlag.set(true); _ = done.wait(timeout: .now() + 30) }

    /// The longest interval between acknowledged writes from `from` on.
    func longestGap(from: Date) -> Double {
        let times = acknowledged.get().filter { $0 >= from }
        return zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .infinity
    }
}

/// Runs `trials` switchovers through the control CLI and returns each write gap in seconds.
func measureSwitchoverGaps(_ cluster: AgentCluster, trials: Int, log: (String) -> Void) throws -> [Double] {
    try cluster.connect(try waitForPrimary(cluster)).query("CREATE TABLE IF NOT EXISTS gap (n int)")
    var gaps: [Double] = []
    for i in 1...max(1, trials) {
        let before = try waitForPrimary(cluster)
        Thread.sleep(forTimeInterval: 2)  // replicas report no lag in etcd again
        let writer = GapWriter(cluster)
        Thread.sleep(forTimeInterval: 1)
        let start = Date().addingTimeInterval(-0.5)
        let status = try runSwitchover(cluster)
        Thread.sleep(forTimeInterval: 1)
        writer.stop()
        let after = cluster.primary() ?? "?"
        guard status == 0, after != before else { throw FixtureError("switchover \(i) failed (exit \(status), primary \(before) → \(after))\n\(cluster.logs())") }
        let gap = writer.longestGap(from: start)
        gaps.append(gap)
        log("switchover \(i)/\(trials): \(before) → \(after), longest write gap \(String(format: "%.2f s", gap))")
    }
    return gaps
}

/// The primary once every other member streams from it (bounded).
func waitForPrimary(_ cluster: AgentCluster, timeout: Double = 120) throws -> String {
    var found: String?
    _ = waitUntil(timeout: timeout, interval: 0.2) {
        guard let p = cluster.primary(), let c = try? cluster.connect(p),
              let r = try? c.query("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming' AND application_name LIKE 'n%'"),
              Int(r.value("n") ?? "") == cluster.members.count - 1 else { return false }
        found = p
        return true
    }
    guard let found else { throw FixtureError("no healthy primary within \(Int(timeout)) s\n\(cluster.logs())") }
    return found
}

/// `pgha switchover --force` as an operator runs it; its output goes to the bench's stderr.
func runSwitchover(_ cluster: AgentCluster) throws -> Int32 {
    let pid = try Spawn.start(cluster.binary, ["switchover", "--force", "-c", cluster.members[0].configPath],
                              environment: ProcessInfo.processInfo.environment, output: .null, stderr: .inherit)
    return Spawn.wait(pid, timeout: 120)
}
