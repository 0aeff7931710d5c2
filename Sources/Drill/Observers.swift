// The drill's clients and witnesses, each on its own thread so a hung connection stalls nobody
// else: writers through the cluster's entry (every acknowledged row recorded client-side), a
// reader through the replica port, a sampler asking every database node directly whether it is in
// recovery and whether it accepts a write, and a watcher of the leader key in etcd.
import Foundation
import PQ

/// Seconds since the trial started (monotonic).
struct TrialClock: Sendable {
    let origin = DispatchTime.now().uptimeNanoseconds
    var now: Double { Double(DispatchTime.now().uptimeNanoseconds - origin) / 1e9 }
}

/// A background loop that runs until stopped, then is joined.
class Observer: @unchecked Sendable {
    let lock = NSLock()
    private var running = true
    private var started = false
    private let done = DispatchSemaphore(value: 0)
    var isRunning: Bool { lock.withLock { running } }

    func start() {
        lock.withLock { started = true }
        Thread.detachNewThread { [self] in loop(); done.signal() }
    }

    /// Ends the loop and waits for it; a second call returns at once.
    func stop() {
        let wait = lock.withLock { () -> Bool in
            defer { running = false }
            return running && started
        }
        if wait { done.wait() }
    }

    func loop() {}

    /// Sleeps until `t` on `clock` (or returns at once when stopped).
    func sleep(until t: Double, _ clock: TrialClock) {
        while isRunning, clock.now < t { Thread.sleep(forTimeInterval: min(0.02, max(0, t - clock.now))) }
    }
}

/// One client inserting numbered rows through the cluster's entry, one at a time; reconnects
/// after an error. `attempts` holds every write's outcome, `acknowledged` the numbers that
/// committed.
final class DrillWriter: Observer, @unchecked Sendable {
    struct Attempt: Sendable { var at: Double; var ok: Bool }
    let client: Int
    let conninfo: String
    let run: String
    let clock: TrialClock
    private(set) var attempts: [Attempt] = []
    private(set) var acknowledged: [Int] = []
    private(set) var lastError: String?

    init(client: Int, conninfo: String, run: String, clock: TrialClock) {
        self.client = client; self.conninfo = conninfo; self.run = run; self.clock = clock
    }

    override func loop() {
        var conn: PGConnection?
        var seq = 0
        while isRunning {
            seq += 1
            var ok = false
            do {
                if conn == nil || !conn!.isOK { conn = try PGConnection(conninfo: conninfo, connectTimeout: 2) }
                try conn!.query("INSERT INTO drill_writes (run, client, seq) VALUES ($1, $2, $3)", [run, String(client), String(seq)])
                ok = true
            } catch {
                conn = nil
                lock.withLock { lastError = "\(error)" }
            }
            let t = clock.now
            lock.withLock {
                attempts.append(Attempt(at: t, ok: ok))
                if ok { acknowledged.append(seq) }
            }
            // A failed attempt is retried after a short pause, as a pooled client would.
            Thread.sleep(forTimeInterval: ok ? 0.02 : 0.1)
        }
    }

    var snapshot: (attempts: [Attempt], acknowledged: [Int]) { lock.withLock { (attempts, acknowledged) } }
}

/// Reads through the replica port: which node answered, and whether it was a replica.
final class DrillReader: Observer, @unchecked Sendable {
    let conninfo: String
    let clock: TrialClock
    private(set) var ok = 0, failed = 0, onReplica = 0

    init(conninfo: String, clock: TrialClock) { self.conninfo = conninfo; self.clock = clock }

    override func loop() {
        var conn: PGConnection?
        while isRunning {
            do {
                if conn == nil || !conn!.isOK { conn = try PGConnection(conninfo: conninfo, connectTimeout: 2) }
                let r = try conn!.query("SELECT pg_is_in_recovery()::text AS r")
                lock.withLock { ok += 1; if r.value("r") == "true" { onReplica += 1 } }
            } catch {
                conn = nil
                lock.withLock { failed += 1 }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    var counts: (ok: Int, failed: Int, onReplica: Int) { lock.withLock { (ok, failed, onReplica) } }
}

/// One database node asked directly every 100 ms (tick k at k × 0.1 s): in recovery or not, and
/// does it commit a write into the checker's own table. An answer that comes after its tick has
/// passed counts as no answer, so "two writable nodes in one sample" means in the same 100 ms.
final class NodeSampler: Observer, @unchecked Sendable {
    struct Sample: Sendable { var tick: Int; var primary: Bool; var writable: Bool }
    static let interval = 0.1
    let node: DrillTarget.Node
    let conninfo: String
    let clock: TrialClock
    private(set) var samples: [Sample] = []

    init(node: DrillTarget.Node, conninfo: String, clock: TrialClock) {
        self.node = node; self.conninfo = conninfo; self.clock = clock
    }

    override func loop() {
        var conn: PGConnection?
        var tick = Int(clock.now / Self.interval) + 1
        while isRunning {
            sleep(until: Double(tick) * Self.interval, clock)
            guard isRunning else { break }
            var primary = false, writable = false
            do {
                if conn == nil || !conn!.isOK { conn = try PGConnection(conninfo: conninfo, connectTimeout: 2) }
                let r = try conn!.query("SELECT pg_is_in_recovery()::text AS r")
                primary = r.value("r") == "false"
                if primary {
                    do {
                        try conn!.query("INSERT INTO drill_probe (node, tick) VALUES ($1, $2)", [node.name, String(tick)])
                        writable = true
                    } catch {}
                }
            } catch { conn = nil }
            let answeredTick = Int(clock.now / Self.interval)
            if answeredTick <= tick {
                lock.withLock { samples.append(Sample(tick: tick, primary: primary, writable: writable)) }
            }
            tick = max(tick + 1, Int(clock.now / Self.interval) + 1)
        }
    }

    var snapshot: [Sample] { lock.withLock { samples } }
}

/// Polls etcd's leader key every 100 ms; records when its holder changed.
final class LeaderWatcher: Observer, @unchecked Sendable {
    struct Change: Sendable { var at: Double; var holder: String? }
    /// The leader key's holder (nil inside: no key), or nil when no etcd member answered.
    let poll: @Sendable () -> String??
    let clock: TrialClock
    private(set) var changes: [Change] = []

    init(poll: @escaping @Sendable () -> String??, clock: TrialClock) { self.poll = poll; self.clock = clock }

    override func loop() {
        var last: String?? = .none
        while isRunning {
            let t = clock.now
            if let holder = poll(), last != .some(holder) {
                last = .some(holder)
                lock.withLock { changes.append(Change(at: t, holder: holder)) }
            }
            sleep(until: t + 0.1, clock)
        }
    }

    var snapshot: [Change] { lock.withLock { changes } }
}

// Records set directly, for the checker's table tests.
extension NodeSampler {
    func inject(_ s: [Sample]) { lock.withLock { samples = s } }
}

extension DrillWriter {
    func inject(_ records: [(Double, Bool)]) {
        lock.withLock {
            attempts = records.map { Attempt(at: $0.0, ok: $0.1) }
            acknowledged = Array(0..<records.filter(\.1).count)
        }
    }
}

extension LeaderWatcher {
    static func empty(_ clock: TrialClock) -> LeaderWatcher {
        LeaderWatcher(poll: { nil }, clock: clock)
    }
    func inject(_ c: [Change]) { lock.withLock { changes = c } }
}
