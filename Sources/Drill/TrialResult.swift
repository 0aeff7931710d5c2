// What one trial measured, computed from the clients' and witnesses' raw records: the write gap
// (RTO), when the fault was detected (leader key), a member promoted and writes routed again,
// acknowledged rows lost, split-brain samples, and each client's reconnect times.
import Foundation

public struct TrialResult: Sendable {
    public var scenario: DrillScenario
    public var index: Int
    public var runID: String
    public var oldPrimary: String
    public var newPrimary: String?
    public var faultAt: Double
    public var faultEnd: Double
    public var windowEnd: Double
    public var ttl: Double
    public var injectError: String?
    public var restoreError: String?
    public var unverified: String?

    public var acknowledged = 0
    public var attempted = 0
    /// Acknowledged rows missing per node (-1: could not be looked up).
    public var lostByNode: [String: Int] = [:]
    /// Longest time without any acknowledged write (all clients), in the observation window.
    public var longestGap = 0.0
    public var gapStart = 0.0
    public var detectedAt: Double?
    public var promotedAt: Double?
    public var promotedNode: String?
    public var routedAt: Double?
    /// Ticks (100 ms) in which two or more nodes committed a write.
    public var splitBrainTicks: [Int] = []
    public var splitBrainNodes: Set<String> = []
    /// Per client: seconds from its first failed write to its next acknowledged one, each time.
    public var reconnects: [Int: [Double]] = [:]
    /// Acknowledged writes per 100 ms, from the trial's start.
    public var writesPerTick: [Int] = []
    public var readsOK = 0, readsFailed = 0, readsOnReplica = 0

    /// Rows acknowledged to a client and missing afterwards on some node (the correctness gate).
    public var lostRows: Int { lostByNode.values.filter { $0 > 0 }.max() ?? 0 }
    public var passed: Bool { lostRows == 0 && splitBrainTicks.isEmpty && unverified == nil && !lostByNode.values.contains(-1) }

    mutating func record(writers: [DrillWriter], reader: DrillReader, samplers: [NodeSampler], watcher: LeaderWatcher) {
        let all = writers.flatMap { $0.snapshot.attempts }.sorted { $0.at < $1.at }
        attempted = all.count
        let successes = all.filter(\.ok).map(\.at).filter { $0 <= windowEnd }
        var previous = successes.first ?? 0
        for t in successes {
            if t - previous > longestGap { longestGap = t - previous; gapStart = previous }
            previous = t
        }
        if let lastOK = successes.last, windowEnd - lastOK > longestGap { longestGap = windowEnd - lastOK; gapStart = lastOK }
        let ticks = Int(windowEnd / NodeSampler.interval) + 1
        writesPerTick = Array(repeating: 0, count: ticks)
        for t in successes { writesPerTick[min(ticks - 1, Int(t / NodeSampler.interval))] += 1 }
        // Routed: the first acknowledged write after a failed one, both after the fault.
        if let firstFailure = all.first(where: { !$0.ok && $0.at >= faultAt }) {
            routedAt = all.first { $0.ok && $0.at > firstFailure.at }?.at
        }
        detectedAt = watcher.snapshot.first { $0.at >= faultAt && $0.holder != oldPrimary }?.at
        var writableByTick: [Int: Set<String>] = [:]
        var promotion: (Double, String)?
        for s in samplers {
            for x in s.snapshot {
                if x.writable { writableByTick[x.tick, default: []].insert(s.node.name) }
                let at = Double(x.tick) * NodeSampler.interval
                if x.primary, s.node.name != oldPrimary, at >= faultAt, promotion == nil || at < promotion!.0 { promotion = (at, s.node.name) }
            }
        }
        promotedAt = promotion?.0
        promotedNode = promotion?.1
        for (tick, nodes) in writableByTick where nodes.count > 1 {
            splitBrainTicks.append(tick)
            splitBrainNodes.formUnion(nodes)
        }
        splitBrainTicks.sort()
        for w in writers {
            var failingSince: Double?
            for a in w.snapshot.attempts {
                if !a.ok { failingSince = failingSince ?? a.at } else if let since = failingSince {
                    reconnects[w.client, default: []].append(a.at - since)
                    failingSince = nil
                }
            }
        }
        (readsOK, readsFailed, readsOnReplica) = reader.counts
    }

    static let histogramBounds: [Double] = [0.5, 1, 2, 5, 10]

    /// Reconnect times of every client in buckets <0.5, 0.5–1, 1–2, 2–5, 5–10, ≥10 s.
    public var reconnectHistogram: [Int] {
        var h = Array(repeating: 0, count: Self.histogramBounds.count + 1)
        for t in reconnects.values.flatMap({ $0 }) { h[Self.histogramBounds.firstIndex { t < $0 } ?? Self.histogramBounds.count] += 1 }
        return h
    }

    func relative(_ t: Double?) -> Double? { t.map { $0 - faultAt } }

    public var json: [String: Any] {
        var d: [String: Any] = [
            "scenario": scenario.rawValue, "trial": index, "run_id": runID, "old_primary": oldPrimary,
            "fault_at_s": faultAt, "fault_lasted_s": faultEnd - faultAt, "window_s": windowEnd, "ttl_s": ttl,
            "writes_attempted": attempted, "writes_acknowledged": acknowledged,
            "rto_s": longestGap, "rto_gap_started_s": gapStart,
            "lost_rows": lostRows, "lost_rows_by_node": lostByNode,
            "split_brain_samples": splitBrainTicks.count, "split_brain_nodes": splitBrainNodes.sorted(),
            "reconnect_histogram": ["bounds_s": Self.histogramBounds, "counts": reconnectHistogram],
            "reconnect_s_by_client": Dictionary(uniqueKeysWithValues: reconnects.map { ("\($0.key)", $0.value) }),
            "reads": ["ok": readsOK, "failed": readsFailed, "on_replica": readsOnReplica],
            "writes_per_100ms": writesPerTick, "passed": passed,
        ]
        if let v = newPrimary { d["new_primary"] = v }
        if let v = relative(detectedAt) { d["detect_s"] = v }
        if let v = relative(promotedAt) { d["promote_s"] = v; d["promoted"] = promotedNode ?? "" }
        if let v = relative(routedAt) { d["route_s"] = v }
        if let v = injectError { d["inject_error"] = v }
        if let v = restoreError { d["restore_error"] = v }
        if let v = unverified { d["unverified"] = v }
        return d
    }
}
