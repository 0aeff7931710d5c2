// The drill's judgement from raw records, without a cluster: split-brain samples, the write gap,
// detect / promote / route, reconnect times. The checker must be able to say "failed".
import Foundation
import Testing
@testable import Drill

@Suite struct DrillCheckerTests {
    func trial(faultAt: Double = 1.0, windowEnd: Double = 5.0) -> TrialResult {
        TrialResult(scenario: .killPrimaryHost, index: 1, runID: "t", oldPrimary: "pg1", faultAt: faultAt, faultEnd: faultAt,
                    windowEnd: windowEnd, ttl: 6)
    }

    @Test func twoWritableNodesInOneTickAreASplitBrain() {
        var t = trial()
        let c = TrialClock()
        let a = NodeSampler(node: .init(name: "pg1", address: "x"), conninfo: "", clock: c)
        let b = NodeSampler(node: .init(name: "pg2", address: "y"), conninfo: "", clock: c)
        a.inject([.init(tick: 20, primary: true, writable: true), .init(tick: 21, primary: true, writable: true)])
        b.inject([.init(tick: 21, primary: true, writable: true), .init(tick: 22, primary: true, writable: true)])
        t.record(writers: [], reader: DrillReader(conninfo: "", clock: c), samplers: [a, b], watcher: LeaderWatcher.empty(c))
        #expect(t.splitBrainTicks == [21])
        #expect(t.splitBrainNodes == ["pg1", "pg2"])
        #expect(!t.passed)
        #expect(t.promotedNode == "pg2" && abs((t.promotedAt ?? 0) - 2.1) < 1e-9)
    }

    @Test func handOverWithoutOverlapIsNoSplitBrain() {
        var t = trial()
        let c = TrialClock()
        let a = NodeSampler(node: .init(name: "pg1", address: "x"), conninfo: "", clock: c)
        let b = NodeSampler(node: .init(name: "pg2", address: "y"), conninfo: "", clock: c)
        a.inject([.init(tick: 10, primary: true, writable: true), .init(tick: 11, primary: false, writable: false)])
        b.inject([.init(tick: 11, primary: false, writable: false), .init(tick: 12, primary: true, writable: true)])
        t.record(writers: [], reader: DrillReader(conninfo: "", clock: c), samplers: [a, b], watcher: LeaderWatcher.empty(c))
        t.lostByNode = ["pg1": 0, "pg2": 0]
        #expect(t.splitBrainTicks.isEmpty)
        #expect(t.passed)
    }

    @Test func lostRowsOrAnUnverifiedNodeFailTheTrial() {
        var t = trial()
        t.lostByNode = ["pg1": 0, "pg2": 3]
        #expect(t.lostRows == 3 && !t.passed)
        t.lostByNode = ["pg1": 0, "pg2": -1]
        #expect(!t.passed)
    }

    @Test func gapDetectRouteAndReconnectsFromTheRecords() {
        var t = trial(faultAt: 1.0, windowEnd: 6.0)
        let c = TrialClock()
        let w = DrillWriter(client: 1, conninfo: "", run: "t", clock: c)
        // ok until 1.0, failing 1.2 … 3.0, ok again from 3.5
        w.inject([(0.5, true), (1.0, true), (1.2, false), (2.0, false), (3.0, false), (3.5, true), (5.9, true)])
        let watcher = LeaderWatcher.empty(c)
        watcher.inject([.init(at: 0.1, holder: "pg1"), .init(at: 2.4, holder: nil), .init(at: 3.1, holder: "pg2")])
        t.record(writers: [w], reader: DrillReader(conninfo: "", clock: c), samplers: [], watcher: watcher)
        #expect(abs(t.longestGap - 2.5) < 1e-9 && abs(t.gapStart - 1.0) < 1e-9)
        #expect(t.detectedAt == 2.4)
        #expect(t.routedAt == 3.5)
        #expect(t.reconnects[1] == [3.5 - 1.2])
        #expect(t.reconnectHistogram == [0, 0, 0, 1, 0, 0])
        #expect(t.writesPerTick.reduce(0, +) == 4)
    }

    @Test func noWriteAfterTheFaultCountsTheWholeRestOfTheWindow() {
        var t = trial(faultAt: 1.0, windowEnd: 10.0)
        let c = TrialClock()
        let w = DrillWriter(client: 1, conninfo: "", run: "t", clock: c)
        w.inject([(0.5, true), (0.9, true), (2.0, false)])
        t.record(writers: [w], reader: DrillReader(conninfo: "", clock: c), samplers: [], watcher: LeaderWatcher.empty(c))
        #expect(abs(t.longestGap - 9.1) < 1e-9)
        #expect(t.routedAt == nil)
    }

    @Test func svgMarksTheFaultAndSplitBrain() {
        var t = trial()
        t.writesPerTick = [1, 2, 0, 3]
        t.splitBrainTicks = [2]
        t.detectedAt = 1.5
        let svg = TimelineSVG(trial: t).text
        #expect(svg.hasPrefix("<svg") && svg.contains("fault") && svg.contains("detect 0.5s") && svg.contains("#d62728"))
    }
}
