// `provision drill`: runs a scenario's trials one after another against a running cluster and
// reports them. The correctness gate (a lost acknowledged row, a split-brain sample) decides the
// outcome; timings are reported, never judged.
import Foundation
import Provision

public final class Drill {
    public let options: DrillOptions
    public let workflow: ClusterWorkflow
    public let target: DrillTarget
    /// Progress lines (stderr by default).
    public var progress: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(inventoryPath: String, options: DrillOptions) throws {
        self.options = options
        workflow = try ClusterWorkflow(inventoryPath: inventoryPath)
        target = try DrillTarget(inventory: workflow.inventory, inventoryPath: inventoryPath)
    }

    public init(workflow: ClusterWorkflow, options: DrillOptions) throws {
        self.options = options
        self.workflow = workflow
        target = try DrillTarget(inventory: workflow.inventory, inventoryPath: workflow.inventoryPath)
    }

    /// Runs every trial; a trial that cannot start (the cluster is not whole) ends the drill.
    public func run() throws -> DrillReport {
        var report = DrillReport(scenario: options.scenario, options: options)
        report.watchdog = target.watchdogInUse()
        report.synchronousMode = target.synchronousMode()
        for i in 1...options.repeatCount {
            let trial = DrillTrial(options: options, target: target, workflow: workflow, index: i, progress: progress)
            let result = try trial.run()
            report.trials.append(result)
            if let dir = options.reportDir { try report.write(trial: result, to: dir) }
        }
        if let dir = options.reportDir { try report.writeSummary(to: dir) }
        return report
    }
}

public struct DrillReport: Sendable {
    public var scenario: DrillScenario
    public var options: DrillOptions
    public var trials: [TrialResult] = []
    /// Whether the agents use a watchdog (nil: unknown).
    public var watchdog: Bool?
    /// Whether the cluster runs synchronous_mode (nil: unknown).
    public var synchronousMode: Bool?

    public var passed: Bool { trials.allSatisfy(\.passed) }

    /// The terminal table: one row per trial, then min / median / max when repeated.
    public var table: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
        let header = ["trial", "RTO s", "detect s", "promote s", "route s", "acked", "lost", "split-brain", "primary"]
        var rows = trials.map { t in
            [String(t.index), f(t.longestGap), f(t.relative(t.detectedAt)), f(t.relative(t.promotedAt)), f(t.relative(t.routedAt)),
             String(t.acknowledged), String(t.lostRows), String(t.splitBrainTicks.count), "\(t.oldPrimary) → \(t.newPrimary ?? "?")"]
        }
        if trials.count > 1 {
            for (label, pick) in [("min", { (v: [Double]) in v.first }), ("median", { (v: [Double]) in v.isEmpty ? nil : v[v.count / 2] }),
                                  ("max", { (v: [Double]) in v.last })] as [(String, ([Double]) -> Double?)] {
                func stat(_ get: (TrialResult) -> Double?) -> String { f(pick(trials.compactMap(get).sorted())) }
                rows.append([label, stat { $0.longestGap }, stat { $0.relative($0.detectedAt) }, stat { $0.relative($0.promotedAt) },
                             stat { $0.relative($0.routedAt) }, "", "", "", ""])
            }
        }
        var text = "drill \(scenario.rawValue): \(scenario.summary); \(options.clients) writers, \(Int(options.duration)) s window\n"
        text += TextTable(header: header, rows: rows).rendered
        for t in trials {
            let h = t.reconnectHistogram
            text += "\ntrial \(t.index): reconnects <0.5s \(h[0]), 0.5-1s \(h[1]), 1-2s \(h[2]), 2-5s \(h[3]), 5-10s \(h[4]), ≥10s \(h[5]); "
                + "reads \(t.readsOK) ok (\(t.readsOnReplica) on a replica), \(t.readsFailed) failed"
            for (n, lost) in t.lostByNode.sorted(by: { $0.key < $1.key }) where lost != 0 {
                text += "\n  LOST: \(lost < 0 ? "could not look up rows" : "\(lost) acknowledged rows missing") on \(n)"
            }
            if t.lostRows > 0 && synchronousMode == false {
                text += "\n  note: replication is asynchronous (synchronous_mode off): commits acknowledged by a primary that is lost before its replicas received them are gone with it, up to maximum_lag_on_failover; synchronous_mode: true acknowledges a commit only once a standby has it"
            }
            if !t.splitBrainTicks.isEmpty {
                text += "\n  SPLIT BRAIN: \(t.splitBrainTicks.count) samples with two writable nodes (\(t.splitBrainNodes.sorted().joined(separator: ", "))), first at "
                    + String(format: "%.1f s after the fault", Double(t.splitBrainTicks[0]) * NodeSampler.interval - t.faultAt)
                if watchdog != true && scenario == .freezeAgent {
                    text += "\n  warning: no watchdog: a frozen agent's primary keeps accepting writes after its lease expired and another member was promoted; configure `watchdog: {mode: required}` (a hardware or emulated device) to fence it"
                }
            }
            if let e = t.injectError { text += "\n  fault injection: \(e)" }
            if let e = t.restoreError { text += "\n  restore: \(e)" }
            if let e = t.unverified { text += "\n  \(e)" }
        }
        text += "\n" + (passed ? "drill passed: no acknowledged row lost, no split-brain sample"
                               : "drill FAILED: \(trials.filter { !$0.passed }.count) of \(trials.count) trials lost rows, saw a split brain or could not be verified")
        return text
    }

    public var json: [String: Any] {
        ["scenario": scenario.rawValue, "clients": options.clients, "duration_s": options.duration,
         "watchdog": watchdog.map { $0 as Any } ?? NSNull(), "synchronous_mode": synchronousMode.map { $0 as Any } ?? NSNull(),
         "passed": passed, "trials": trials.map(\.json)]
    }

    func write(trial t: TrialResult, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = "\(dir)/\(scenario.rawValue)-\(t.index)"
        let data = try JSONSerialization.data(withJSONObject: t.json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: base + ".json"))
        try TimelineSVG(trial: t).text.write(toFile: base + ".svg", atomically: true, encoding: .utf8)
    }

    func writeSummary(to dir: String) throws {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: "\(dir)/\(scenario.rawValue).json"))
        try table.write(toFile: "\(dir)/\(scenario.rawValue).txt", atomically: true, encoding: .utf8)
    }
}

/// Accepted writes per 100 ms as bars, with the fault, detection, promotion and routing marked.
struct TimelineSVG {
    let trial: TrialResult

    var text: String {
        let t = trial
        let width = 900.0, height = 260.0, left = 50.0, bottom = 220.0, top = 30.0
        let n = max(1, t.writesPerTick.count)
        let peak = Double(max(1, t.writesPerTick.max() ?? 1))
        let bar = (width - left - 10) / Double(n)
        func x(_ seconds: Double) -> Double { left + seconds / NodeSampler.interval * bar }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="18" font-size="13">\(t.scenario.rawValue) trial \(t.index): accepted writes per 100 ms (RTO \(String(format: "%.2f", t.longestGap)) s, lost \(t.lostRows), split-brain samples \(t.splitBrainTicks.count))</text>
        <line x1="\(left)" y1="\(bottom)" x2="\(width - 10)" y2="\(bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="black"/>
        <text x="\(left - 6)" y="\(top + 4)" text-anchor="end">\(Int(peak))</text>
        <text x="\(left - 6)" y="\(bottom)" text-anchor="end">0</text>

        """
        for (i, v) in t.writesPerTick.enumerated() where v > 0 {
            let h = Double(v) / peak * (bottom - top)
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#4a7ebb\"/>\n", left + Double(i) * bar, bottom - h, max(bar, 0.5), h)
        }
        for tick in t.splitBrainTicks {
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"6\" fill=\"#d62728\"/>\n", left + Double(tick) * bar, bottom + 2, max(bar, 1))
        }
        let marks: [(String, Double?, String)] = [("fault", t.faultAt, "#d62728"), ("detect", t.detectedAt, "#ff7f0e"),
                                                  ("promote", t.promotedAt, "#2ca02c"), ("route", t.routedAt, "#9467bd")]
        for (i, (label, at, color)) in marks.enumerated() {
            guard let at else { continue }
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-dasharray=\"4 3\"/>\n", x(at), top, x(at), bottom, color)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"%@\">%@ %.1fs</text>\n", x(at) + 3, top + 12 + Double(i) * 13, color, label, at - t.faultAt)
        }
        var second = 0.0
        while second <= Double(n) * NodeSampler.interval {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x(second), bottom + 22, second)
            second += max(5, (Double(n) * NodeSampler.interval / 10).rounded())
        }
        s += "<text x=\"\(width / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">seconds since the drill started (red marks below the axis: split-brain samples)</text>\n</svg>\n"
        return s
    }
}
