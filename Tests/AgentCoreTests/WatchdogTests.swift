// The watchdog end to end on loopback: each member gets an emulated device (a FIFO) that the test
// plays. A leader that hangs (SIGSTOP) stops feeding it; the "device" then power-cycles the
// member (SIGKILL of agent and postmaster) before any other member may promote, so there is never
// a moment with two writable primaries. A switchover disarms the old leader's device, and with a
// required watchdog that cannot be opened nobody leads.
import AgentCore
import EmulatedWatchdog
import Fixtures
import Foundation
import Logging
import PQ
import Testing

/// Plays every member's watchdog device on a thread: reads the FIFOs, and power-cycles a member
/// whose armed device went unfed past its timeout.
final class WatchdogBench: @unchecked Sendable {
    let cluster: AgentCluster
    private let lock = NSLock()
    private var devices: [String: EmulatedWatchdogDevice] = [:]
    private var fired: [String: (detected: Double, done: Double)] = [:]
    private var running = true
    private var thread: Thread?

    init(_ cluster: AgentCluster) throws {
        self.cluster = cluster
        guard let pw = getpwnam("postgres") else { throw FixtureError("no postgres OS user") }
        for m in cluster.members {
            let path = m.dir + "/watchdog"
            devices[m.name] = try EmulatedWatchdogDevice(path: path, owner: (pw.pointee.pw_uid, pw.pointee.pw_gid))
            try cluster.appendConfig(of: m.name, "watchdog:\n  mode: required\n  device: \(path)\n  safety_margin: 2\n")
        }
    }

    func start() {
        let t = Thread { [self] in
            while lock.withLock({ running }) {
                let now = monotonicNow()
                for (name, device) in lock.withLock({ devices }) {
                    let overdue = lock.withLock { device.poll(now: now) }
                    guard let overdue else { continue }
                    let detected = monotonicNow()
                    print(String(format: "[watchdog] %@: not fed for %.1f s: power-cycling", name, overdue))
                    // Power off: both SIGKILLs at once (the postmaster first: it is what takes writes).
                    let postmaster = cluster.postmasterPID(name)
                    if let postmaster { kill(postmaster, SIGKILL) }
                    if let agent = cluster.agent(name)?.pid { kill(agent, SIGKILL) }
                    lock.withLock {
                        device.reset()
                        fired[name] = (detected, monotonicNow())
                    }
                    cluster.killHost(name)  // reaps the agent, waits for the postmaster to be gone
                }
                usleep(20_000)
            }
        }
        thread = t
        t.start()
    }

    func stop() { lock.withLock { running = false } }

    /// When the device was seen expired, and when the power cycle (both SIGKILLs) was done.
    func firedAt(_ name: String) -> (detected: Double, done: Double)? { lock.withLock { fired[name] } }
    func events(_ name: String) -> [EmulatedWatchdogDevice.Event] { lock.withLock { devices[name]!.events } }
    func armedTimeout(_ name: String) -> Int? { lock.withLock { devices[name]!.timeout } }
}

/// The process exists and is not a zombie (a SIGKILLed postmaster lingers as one until reaped).
func isLive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// The agent's side against the device's side of the emulated protocol, no cluster.
@Suite struct WatchdogProtocolTests {
    func config(_ path: String, _ mode: WatchdogConfig.Mode = .required) -> WatchdogConfig {
        var c = WatchdogConfig(); c.mode = mode; c.device = path; c.safetyMargin = 2; return c
    }

    @Test func agentArmsFeedsAndDisarmsTheEmulatedDevice() throws {
        let dir = try makeTempDir("wd-protocol")
        defer { removeTree(dir) }
        let path = dir + "/watchdog"
        try EmulatedWatchdogDevice.makeFIFO(path)
        let agent = Watchdog(config: config(path), logger: Logger(label: "test"))
        // Nobody reads the FIFO yet: a required watchdog is unusable, and opening never hangs.
        #expect(agent.refusal(timing: Timing(), now: 0)?.contains("has no reader") == true)
        #expect(agent.arm(timing: Timing(), now: 0)?.contains("has no reader") == true)
        #expect(agent.refusal(timing: Timing(), now: 1) != nil)

        let device = try EmulatedWatchdogDevice(path: path)
        #expect(agent.refusal(timing: Timing(), now: 100) == nil)
        #expect(agent.arm(timing: Timing(), now: 100) == nil && agent.isArmed)
        #expect(device.poll(now: 10) == nil && device.timeout == 4)
        agent.feed()
        #expect(device.poll(now: 13) == nil)
        #expect(device.poll(now: 17.5) == 4.5, "unfed for 4.5 s with a 4 s timeout")
        agent.disarm("test")
        #expect(device.poll(now: 30) == nil && !device.isArmed)
        #expect(device.events == [.armed(timeout: 4), .fed, .fed, .disarmed])
        // A keepalive on a disarmed device arms it as opening a real one does.
        let writer = open(path, O_WRONLY | O_NONBLOCK)
        defer { close(writer) }
        _ = write(writer, "x", 1)
        #expect(device.poll(now: 40) == nil && device.timeout == EmulatedWatchdogDevice.defaultTimeout)
    }

    @Test func unusableTimingAndModes() throws {
        var t = Timing(); t.ttl = 6; t.loopWait = 1
        var c = config("/nonexistent/watchdog"); c.safetyMargin = 5
        #expect(Watchdog(config: c, logger: Logger(label: "test")).refusal(timing: t, now: 0)?.contains("not above loop_wait") == true)
        // automatic: never refuses, and arm() reports nothing to the caller.
        let auto = Watchdog(config: config("/nonexistent/watchdog", .automatic), logger: Logger(label: "test"))
        #expect(auto.refusal(timing: t, now: 0) == nil && auto.arm(timing: t, now: 0) == nil && !auto.isArmed)
        let off = Watchdog(config: config("/nonexistent/watchdog", .off), logger: Logger(label: "test"))
        #expect(off.arm(timing: t, now: 0) == nil && !off.isArmed)
    }
}

extension AgentOpsClusters { @Suite(.serialized) struct WatchdogTests {
    @Test func hungLeaderIsPowerCycledBeforeAnotherPromotes() throws {
        let cluster = try AgentCluster(scope: "wd")
        defer { cluster.shutdown() }
        let bench = try WatchdogBench(cluster)
        bench.start()
        defer { bench.stop() }
        try cluster.startAll()
        let first = try cluster.healthy()
        // ttl 6 − safety_margin 2: the leader's device is armed for 4 s, the replicas' are not.
        _ = try cluster.eventually(10, "\(first)'s device armed") { bench.armedTimeout(first) == 4 ? true : nil }
        for m in cluster.members where m.name != first { #expect(bench.armedTimeout(m.name) == nil, "\(m.name) armed but not leading") }
        let status = cluster.body(first, "/patroni") ?? ""
        #expect(status.contains(#""armed":true"#) && status.contains(#""mode":"required""#) && !status.contains("watchdog_failed"), "\(status)")

        // Switchover: the old leader disarms (magic close) once its Postgres is down; the new one arms.
        let second = cluster.members.map(\.name).first { $0 != first }!
        // etcd shows a fresh replica as starting until its next loop: ask until the CLI accepts.
        let sw = try cluster.eventually(30, "a switchover to \(second) accepted") { () -> CLIResult? in
            guard let r = try? cluster.cli(["switchover", "--candidate", second, "--force"]), r.status == 0 else { return nil }
            return r
        }
        #expect(sw.out.contains("Successfully switched over to \(second)"), "\(sw.out)\(sw.err)")
        #expect(try cluster.healthy() == second)
        _ = try cluster.eventually(10, "\(second)'s device armed") { bench.armedTimeout(second) == 4 ? true : nil }
        #expect(bench.armedTimeout(first) == nil, "\(first) still armed after handing over")
        #expect(bench.events(first).last == .disarmed, "\(first): \(bench.events(first).suffix(3))")
        #expect(bench.firedAt(first) == nil, "\(first)'s device fired during the switchover")

        // The leader hangs: its agent stops (SIGSTOP) with Postgres still taking writes.
        let agentPID = try #require(cluster.agent(second)?.pid)
        let oldPostmaster = cluster.postmasterPID(second)
        let stoppedAt = monotonicNow()
        kill(agentPID, SIGSTOP)
        var promoted: (name: String, at: Double, oldPostmasterAlive: Bool)?
        while monotonicNow() - stoppedAt < 40 && promoted == nil {
            for m in cluster.members where m.name != second && cluster.status(m.name, "/primary") == 200 {
                promoted = (m.name, monotonicNow(), oldPostmaster.map(isLive) ?? false)
            }
            usleep(50_000)
        }
        let p = try #require(promoted, "nobody took over from the hung \(second) within 40 s\n\(cluster.logs())")
        let fired = try #require(bench.firedAt(second), "\(second)'s device never fired\n\(cluster.logs())")
        print(String(format: "[watchdog] %@ hung at 0 s; its device fired at %.1f s (agent and postmaster dead at %.1f s); %@ primary at %.1f s",
                     second, fired.detected - stoppedAt, fired.done - stoppedAt, p.name, p.at - stoppedAt))
        #expect(fired.done < p.at, "\(p.name) was promoted before \(second) was power-cycled")
        #expect(!p.oldPostmasterAlive, "\(second)'s Postgres still ran when \(p.name) was promoted (two primaries)")
        // Fed last up to one loop (1 s) before the stop: the device fires 3–4 s after it (plus polling).
        let after = fired.detected - stoppedAt
        #expect(after > 2.9 && after < 4.8, "fired \(after) s after the stop, timeout 4 s")
        _ = try cluster.eventually(10, "\(p.name)'s device armed") { bench.armedTimeout(p.name) == 4 ? true : nil }
        #expect(cluster.primary() == p.name)
    }

    @Test func primaryCutOffFromEtcdDemotesAndDisarms() throws {
        // Failsafe off: with it n1 would stay primary (and fed) while it reaches its peers.
        let cluster = try AgentCluster(scope: "wdcut", dcsYAML: "    maximum_lag_on_failover: 1048576\n    failsafe_mode: false")
        defer { cluster.shutdown() }
        let etcdLink = try TCPProxy(to: cluster.etcd.clientPort)
        defer { etcdLink.stop() }
        try cluster.routeEtcd(of: "n1", throughPort: etcdLink.port)
        let bench = try WatchdogBench(cluster)
        bench.start()
        defer { bench.stop() }
        try cluster.start("n1")
        _ = try cluster.eventually(90, "n1 bootstrapped as primary") { cluster.status("n1", "/primary") == 200 ? true : nil }
        try cluster.start("n2")
        try cluster.start("n3")
        #expect(try cluster.healthy() == "n1")
        _ = try cluster.eventually(10, "n1's device armed") { bench.armedTimeout("n1") == 4 ? true : nil }

        // No renewal, no feeding: n1 demotes at loop_wait + retry_timeout (3.5 s) after its last
        // renewal and disarms once its Postgres is down; the device would fire at 4 s.
        let cutAt = monotonicNow()
        etcdLink.cut()
        _ = try cluster.eventually(20, "n1's device disarmed or fired") { bench.armedTimeout("n1") == nil ? true : nil }
        let settled = monotonicNow() - cutAt
        let newPrimary = try cluster.eventually(40, "a new primary among n2, n3") { ["n2", "n3"].first { cluster.status($0, "/primary") == 200 } }
        let log = (try? String(contentsOfFile: cluster.logPath("n1"), encoding: .utf8)) ?? ""
        print(String(format: "[watchdog] n1 cut off from etcd: device %@ at %.1f s; %@ primary",
                     bench.firedAt("n1") == nil ? "disarmed" : "FIRED", settled, newPrimary))
        #expect(bench.firedAt("n1") == nil, "n1 was power-cycled: its demotion did not disarm the device in time\n\(cluster.logs())")
        #expect(log.contains("watchdog: disarmed") && log.contains("(Postgres stopped)"), "\(cluster.logs())")
    }

    @Test func requiredWatchdogThatCannotOpenKeepsEveryoneFromLeading() throws {
        let cluster = try AgentCluster(scope: "wdnone")
        defer { cluster.shutdown() }
        for m in cluster.members {
            try cluster.appendConfig(of: m.name, "watchdog:\n  mode: required\n  device: \(m.dir)/no-such-watchdog\n  safety_margin: 2\n")
        }
        try cluster.startAll()
        _ = try cluster.eventually(30, "every member refusing to bootstrap") { () -> Bool? in
            cluster.members.allSatisfy { m in
                ((try? String(contentsOfFile: cluster.logPath(m.name), encoding: .utf8)) ?? "")
                    .contains("no cluster in etcd yet, not racing to initialize it: watchdog required but \(m.dir)/no-such-watchdog does not exist")
            } ? true : nil
        }
        usleep(3_000_000)
        for m in cluster.members {
            #expect(cluster.status(m.name, "/primary") != 200, "\(m.name) leads without its required watchdog")
            #expect(cluster.postmasterPID(m.name) == nil, "\(m.name) ran initdb / Postgres")
        }
    }
} }
