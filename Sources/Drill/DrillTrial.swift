// One trial of a drill: clients and witnesses start, the fault is injected after a warm-up, the
// cluster is watched until the window closes, the fault is undone, and once the cluster is whole
// again every acknowledged row is looked up on the primary and on every replica.
import Foundation
import PQ
import Provision

public struct DrillOptions: Sendable {
    public var scenario: DrillScenario
    public var duration: Double = 60
    public var clients: Int = 4
    public var repeatCount: Int = 1
    public var reportDir: String?
    /// How long a cluster may take to be whole again after the fault was undone.
    public var recoveryTimeout: Double = 240
    public init(scenario: DrillScenario) { self.scenario = scenario }
}

final class DrillTrial {
    let options: DrillOptions
    let target: DrillTarget
    let workflow: ClusterWorkflow
    let index: Int
    let progress: (String) -> Void
    let runID = UUID().uuidString.prefix(8).lowercased()

    init(options: DrillOptions, target: DrillTarget, workflow: ClusterWorkflow, index: Int, progress: @escaping (String) -> Void) {
        self.options = options; self.target = target; self.workflow = workflow; self.index = index; self.progress = progress
    }

    func run() throws -> TrialResult {
        let scenario = options.scenario
        let log: (String) -> Void = { [progress, index, options] in progress("[drill \(scenario.rawValue) \(index)/\(options.repeatCount)] \($0)") }
        // A whole cluster first: one primary, every other member streaming.
        let primary = try waitWhole(timeout: options.recoveryTimeout, log: log)
        let injector = try FaultInjector(scenario: scenario, target: target, workflow: workflow, log: log)
        try injector.prepare(primary: primary)
        let oldPrimary = try waitWhole(timeout: options.recoveryTimeout, log: log)
        try prepareTables()
        let ttl = target.ttl()

        let clock = TrialClock()
        let writers = (1...options.clients).map { DrillWriter(client: $0, conninfo: target.entry, run: String(runID), clock: clock) }
        let reader = DrillReader(conninfo: target.readEntry, clock: clock)
        let samplers = target.databases.map { NodeSampler(node: $0, conninfo: target.direct($0), clock: clock) }
        let watcher = LeaderWatcher(poll: { [target] in target.leaderKeyHolder() }, clock: clock)
        let observers: [Observer] = writers + [reader] + samplers + [watcher]
        observers.forEach { $0.start() }
        var stopped = false
        func stopAll() { if !stopped { observers.forEach { $0.stop() }; stopped = true } }
        defer { stopAll() }

        let warmup = min(5, max(2, options.duration * 0.1))
        let ticker = ProgressTicker(writers: writers, samplers: samplers, clock: clock, log: log)
        ticker.start()
        defer { ticker.stop() }
        Thread.sleep(forTimeInterval: warmup)
        let faultAt = clock.now
        log(String(format: "t=%.1fs fault: %@ (primary %@)", faultAt, scenario.summary, oldPrimary))
        var injectError: Error?
        do { try injector.inject(primary: oldPrimary, ttl: ttl) } catch { injectError = error }
        let faultEnd = clock.now
        // Watch until the window closes, then put things back and let the cluster heal.
        while clock.now < options.duration { Thread.sleep(forTimeInterval: 0.1) }
        let windowEnd = clock.now
        log(String(format: "t=%.1fs window closed; undoing the fault", windowEnd))
        var restoreError: Error?
        do { try injector.restore() } catch { restoreError = error }
        var wholeAgain: String?
        do { wholeAgain = try waitWhole(timeout: options.recoveryTimeout, log: log) } catch { restoreError = restoreError ?? error }
        stopAll()
        ticker.stop()

        var result = TrialResult(scenario: scenario, index: index, runID: String(runID), oldPrimary: oldPrimary,
                                 faultAt: faultAt, faultEnd: faultEnd, windowEnd: windowEnd, ttl: ttl)
        result.injectError = injectError.map { "\($0)" }
        result.restoreError = restoreError.map { "\($0)" }
        result.newPrimary = wholeAgain
        result.record(writers: writers, reader: reader, samplers: samplers, watcher: watcher)
        if wholeAgain != nil { try verify(&result, writers: writers, log: log) } else {
            result.unverified = "the cluster was not whole again within \(Int(options.recoveryTimeout)) s: acknowledged rows not looked up"
        }
        return result
    }

    /// The checker's tables, made through the cluster's entry.
    func prepareTables() throws {
        let c = try PGConnection(conninfo: target.entry, connectTimeout: 5)
        try c.query("CREATE TABLE IF NOT EXISTS drill_writes (run text, client int, seq int, at timestamptz DEFAULT now(), PRIMARY KEY (run, client, seq))")
        try c.query("CREATE TABLE IF NOT EXISTS drill_probe (node text, tick int, at timestamptz DEFAULT now())")
        try c.query("TRUNCATE drill_probe")
    }

    /// Waits until the cluster has been whole for `settle` seconds on end — exactly one primary,
    /// every other node streaming from it, and in synchronous mode a synchronous standby that
    /// streams — and returns the primary. A member that streams for a moment while it rejoins
    /// (and then finds it must rewind) does not start a trial.
    func waitWhole(timeout: Double, settle: Double = 3, log: (String) -> Void) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        var wholeSince: (Date, String)?
        while true {
            var primaries: [String] = [], streaming = 0
            for n in target.databases {
                guard let s = target.http.json(n.address, target.restPort, "GET", "/patroni", timeout: 1) else { continue }
                if s["role"] as? String == "primary" || s["role"] as? String == "master", s["state"] as? String == "running" { primaries.append(n.name) }
                if s["replication_state"] as? String == "streaming" { streaming += 1 }
            }
            var whole = primaries.count == 1 && streaming == target.databases.count - 1
            last = "primaries [\(primaries.joined(separator: ", "))], \(streaming) of \(target.databases.count - 1) replicas streaming"
            if whole, target.synchronousMode() == true, !target.syncStandbyStreams() {
                whole = false
                last += ", no synchronous standby streaming"
            }
            if whole {
                if wholeSince?.1 != primaries[0] { wholeSince = (Date(), primaries[0]) }
                if let (since, primary) = wholeSince, Date().timeIntervalSince(since) >= settle { return primary }
            } else {
                wholeSince = nil
            }
            if Date() > deadline { throw DrillError("the cluster is not whole after \(Int(timeout)) s: \(last)") }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// Every acknowledged row, looked up on every node once it has replayed what the primary has.
    func verify(_ result: inout TrialResult, writers: [DrillWriter], log: (String) -> Void) throws {
        var acked: Set<String> = []
        for w in writers { for s in w.snapshot.acknowledged { acked.insert("\(w.client):\(s)") } }
        result.acknowledged = acked.count
        guard let primary = target.databases.first(where: { $0.name == result.newPrimary }) else { return }
        let p = try PGConnection(conninfo: target.direct(primary), connectTimeout: 5)
        let lsn = try p.query("SELECT pg_current_wal_lsn()::text AS l").value("l") ?? "0/0"
        for node in target.databases {
            let deadline = Date().addingTimeInterval(60)
            var present: Set<String>?
            while present == nil {
                do {
                    let c = try PGConnection(conninfo: target.direct(node), connectTimeout: 5)
                    if node != primary {
                        let caught = try c.query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok", [lsn]).value("ok") == "t"
                        if !caught { throw DrillError("\(node.name) has not replayed up to \(lsn) yet") }
                    }
                    let rows = try c.query("SELECT client::text || ':' || seq::text AS k FROM drill_writes WHERE run = $1", [result.runID]).rows
                    present = Set(rows.compactMap { $0.first ?? nil })
                } catch {
                    if Date() > deadline { result.lostByNode[node.name] = -1; log("\(node.name): rows not looked up: \(error)"); break }
                    Thread.sleep(forTimeInterval: 0.5)
                }
            }
            if let present { result.lostByNode[node.name] = acked.subtracting(present).count }
        }
    }
}

/// Prints a progress line every 2 s while a trial runs.
final class ProgressTicker: Observer, @unchecked Sendable {
    let writers: [DrillWriter]
    let samplers: [NodeSampler]
    let clock: TrialClock
    let log: (String) -> Void
    init(writers: [DrillWriter], samplers: [NodeSampler], clock: TrialClock, log: @escaping (String) -> Void) {
        self.writers = writers; self.samplers = samplers; self.clock = clock; self.log = log
    }
    override func loop() {
        var next = 2.0
        while isRunning {
            sleep(until: next, clock)
            guard isRunning else { break }
            let attempts = writers.flatMap { $0.snapshot.attempts }
            let recent = attempts.filter { $0.at > clock.now - 2 }
            let primaries = samplers.filter { $0.snapshot.last?.primary == true }.map(\.node.name)
            log(String(format: "t=%.0fs writes ok %d, failed %d (last 2 s: %d ok); primary now: %@", clock.now,
                       attempts.filter(\.ok).count, attempts.filter { !$0.ok }.count, recent.filter(\.ok).count,
                       primaries.isEmpty ? "none" : primaries.joined(separator: ", ")))
            next += 2
        }
    }
}
