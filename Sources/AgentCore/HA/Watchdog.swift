// The leader's watchdog device: armed while this member holds the leader key, fed after each lease
// renewal, disarmed (magic close) when it stops leading.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Linux's /dev/watchdog, or the lab's emulated one.
///
/// A real device (character device) is driven the kernel's way: open arms it, ioctl
/// WDIOC_SETTIMEOUT sets the timeout, ioctl WDIOC_KEEPALIVE (or any write) feeds it, and writing
/// "V" before close (the magic close) disarms it; a close without "V", or the process dying, leaves
/// it armed, so the host resets when the timeout passes.
///
/// The emulated device is a FIFO (the lab's `/dev/watchdog`, the tests' per-member file) read by an
/// emulator (`provision lab watchdog-serve`, or the test) that cannot see opens nor ioctls, so the
/// agent states everything in-band, in ASCII:
///   `timeout N\n`  once after opening (and again if N changes): armed, fires N s after the last feed
///   `1`            keepalive (feed)
///   `V`            magic close: disarmed (the agent then closes its end)
/// The emulator opens the FIFO read-write, so it never sees end-of-file; it power-cycles the host
/// when an armed device goes unfed for N s, and treats the device as disarmed after that.
/// The agent opens its end non-blocking: no emulator (no reader) is an error (ENXIO), never a hang.
public final class Watchdog: @unchecked Sendable {
    /// _IOWR('W', 6, int) and _IOR('W', 5, int) from linux/watchdog.h.
    static let setTimeoutRequest: UInt = 0xC004_5706
    static let keepaliveRequest: UInt = 0x8004_5705

    let config: WatchdogConfig
    let logger: Logger
    private let lock = Lock()
    private var fd: Int32 = -1
    private var isFIFO = false
    private var timeout = 0
    /// The last failed arm (monotonic time, why): a required watchdog counts as unusable for a ttl
    /// after it, so another member gets the key.
    private var lastFailure: (at: Double, why: String)?
    /// Problems already logged (automatic mode logs each once, not every loop).
    private var reported = Set<String>()

    public init(config: WatchdogConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        // A write to an emulated device whose reader went away must fail (EPIPE), not kill the agent.
        if config.mode != .off { signal(SIGPIPE, SIG_IGN) }
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isArmed: Bool { lock.withLock { fd >= 0 } }
    /// Not armed because the last attempt failed.
    public var hasFailed: Bool { lock.withLock { fd < 0 && lastFailure != nil } }

    /// For the decision: why a *required* watchdog cannot be used now (nil: usable, or not
    /// required). A real device is not opened to find out: opening arms it.
    public func refusal(timing: Timing, now: Double) -> String? {
        guard config.mode == .required else { return nil }
        return lock.withLock { () -> String? in
            if fd >= 0 { return nil }
            if let why = staticProblem(timing) { return "watchdog required but \(why)" }
            if let f = lastFailure, now - f.at < timing.ttl { return "watchdog required but arming it failed: \(f.why)" }
            return nil
        }
    }

    /// What makes the device unusable without opening it: timing, a missing or unwritable device,
    /// an emulated device nobody reads.
    private func staticProblem(_ timing: Timing) -> String? {
        if let why = config.timingProblem(timing) { return why }
        var st = stat()
        guard stat(config.device, &st) == 0 else { return "\(config.device) does not exist" }
        guard access(config.device, W_OK) == 0 else { return "\(config.device) is not writable by this user (\(errnoText()))" }
        if st.st_mode & S_IFMT == S_IFIFO {
            // Opening a FIFO is invisible to its reader (which holds it read-write): a harmless probe.
            let probe = open(config.device, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard probe >= 0 else { return "emulated device \(config.device) has no reader (\(errnoText()))" }
            close(probe)
        }
        return nil
    }

    /// Arms the device (or re-states its timeout when ttl changed). Returns the problem, nil when
    /// armed; mode off does nothing. Logs the outcome (automatic mode: each problem once).
    @discardableResult
    public func arm(timing: Timing, now: Double) -> String? {
        guard config.mode != .off else { return nil }
        let problem: String? = lock.withLock {
            let wanted = config.timeout(ttl: timing.ttl)
            if fd >= 0 {
                if wanted == timeout { return nil }
                if let why = config.timingProblem(timing) { closeMagic(); return why }
                if let why = setTimeout(wanted) { closeMagic(); return why }
                timeout = wanted
                logger.info("watchdog: timeout now \(wanted) s (ttl \(timing.ttl), safety_margin \(config.safetyMargin))")
                return nil
            }
            if let why = staticProblem(timing) { return why }
            let d = open(config.device, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard d >= 0 else { return "cannot open \(config.device): \(errnoText())" }
            var st = stat()
            fstat(d, &st)
            fd = d
            isFIFO = st.st_mode & S_IFMT == S_IFIFO
            if let why = setTimeout(wanted) { closeMagic(); return why }
            timeout = wanted
            if let why = keepalive() { closeMagic(); return why }
            logger.info("watchdog: armed \(config.device)\(isFIFO ? " (emulated)" : "") with timeout \(wanted) s (ttl \(timing.ttl) − safety_margin \(config.safetyMargin))")
            reported = []
            lastFailure = nil
            return nil
        }
        if let problem {
            lock.withLock { lastFailure = (now, problem) }
            let line = "watchdog: cannot arm \(config.device): \(problem)"
            if config.mode == .required { logger.error("\(line); not leading without it (mode required)") }
            else if lock.withLock({ reported.insert(problem).inserted }) { logger.warning("\(line); leading without a watchdog (mode automatic)") }
        }
        return config.mode == .required ? problem : nil
    }

    /// Keepalive, only while armed; called after a successful lease renewal and nowhere else.
    public func feed() {
        lock.withLock {
            guard fd >= 0 else { return }
            if let why = keepalive() { logger.error("watchdog: feeding \(config.device) failed: \(why)") }
        }
    }

    /// Magic close; `why` goes to the log (no-op when not armed).
    public func disarm(_ why: String) {
        lock.withLock {
            guard fd >= 0 else { return }
            closeMagic()
            logger.info("watchdog: disarmed \(config.device) (\(why))")
        }
    }

    // Below: lock held.

    private func setTimeout(_ seconds: Int) -> String? {
        if isFIFO { return write("timeout \(seconds)\n") }
        var value = Int32(seconds)
        guard ioctl(fd, Self.setTimeoutRequest, &value) == 0 else { return "WDIOC_SETTIMEOUT \(seconds): \(errnoText())" }
        if value != Int32(seconds) { return "the device cannot time out after \(seconds) s (it offers \(value) s)" }
        return nil
    }

    private func keepalive() -> String? {
        if !isFIFO {
            var dummy: Int32 = 0
            if ioctl(fd, Self.keepaliveRequest, &dummy) == 0 { return nil }
        }
        return write("1")
    }

    private func closeMagic() {
        if let why = write("V") { logger.error("watchdog: magic close of \(config.device) failed (\(why)); it may still fire") }
        close(fd)
        fd = -1
        timeout = 0
    }

    private func write(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n == bytes.count { return nil }
        return n < 0 ? "write: \(errnoText())" : "short write (\(n) of \(bytes.count) bytes)"
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }
