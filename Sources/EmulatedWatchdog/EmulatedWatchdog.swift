// The device side of an emulated /dev/watchdog: a FIFO the agent writes and this reads.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A hardware watchdog played in software for hosts that have none (the lab, the loopback tests).
///
/// The device is a FIFO. The agent (AgentCore's `Watchdog`) writes, in ASCII:
///   `timeout N\n`  armed: fire N s after the last feed (sent once after opening)
///   `1`            keepalive; any byte other than the ones here feeds too (as on a real device)
///   `V`            magic close: disarmed
/// A keepalive while disarmed arms with `defaultTimeout`, as opening a real device does. This side
/// opens the FIFO read-write and non-blocking: it never sees end-of-file when a writer closes or
/// dies (a dead writer must let the device fire, as on hardware) and never blocks its poller.
public final class EmulatedWatchdogDevice {
    public enum Event: Equatable, Sendable {
        case armed(timeout: Int)
        case fed
        case disarmed
    }

    /// What a real device does when opened without a timeout being set (softdog's default).
    public static let defaultTimeout = 60

    public let path: String
    private let fd: Int32
    /// The armed timeout in seconds (nil: disarmed).
    public private(set) var timeout: Int?
    /// When the device was last fed or armed (the caller's clock).
    public private(set) var lastFeed: Double = 0
    /// What was parsed, oldest first (tests assert on it); the last 1000 only, for a long-lived server.
    public private(set) var events: [Event] = [] {
        didSet { if events.count > 1000 { events.removeFirst(events.count - 1000) } }
    }
    private var line: [UInt8]?

    /// Creates the FIFO (mode 0660, owned by `owner` when given) unless one exists, and opens it.
    public init(path: String, owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        self.path = path
        try Self.makeFIFO(path, owner: owner)
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw EmulatedWatchdogError("open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// mkfifo (mode 0660) unless the FIFO exists; an existing one keeps its owner (a host may have
    /// given it to its postgres user), a new one gets `owner`.
    public static func makeFIFO(_ path: String, owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFIFO else { throw EmulatedWatchdogError("\(path) exists and is not a FIFO") }
            return
        }
        guard mkfifo(path, 0o660) == 0 else { throw EmulatedWatchdogError("mkfifo \(path): \(String(cString: strerror(errno)))") }
        _ = chmod(path, 0o660)  // past the umask
        if let owner { _ = chown(path, owner.uid, owner.gid) }
    }

    public var isArmed: Bool { timeout != nil }

    /// Reads what the agent wrote since the last call; returns how long an armed device has gone
    /// unfed when that exceeds its timeout (the moment to power-cycle), else nil.
    public func poll(now: Double) -> Double? {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n > 0 { for b in buf[0..<n] { consume(b, now: now) }; continue }
            if n < 0 && errno == EINTR { continue }
            break  // EAGAIN: nothing more for now
        }
        guard let t = timeout, now - lastFeed > Double(t) else { return nil }
        return now - lastFeed
    }

    /// After a power cycle: what the dead writer left is discarded and the device is disarmed.
    public func reset() {
        var buf = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buf, buf.count) > 0 {}
        timeout = nil
        line = nil
        events.append(.disarmed)
    }

    private func consume(_ b: UInt8, now: Double) {
        if var l = line {
            if b == UInt8(ascii: "\n") {
                line = nil
                let text = String(decoding: l, as: UTF8.self)
                if text.hasPrefix("timeout "), let n = Int(text.dropFirst("timeout ".count)), n > 0 {
                    timeout = n
                    lastFeed = now
                    events.append(.armed(timeout: n))
                } else {
                    feed(now)  // garbage still counts as a write
                }
            } else if l.count < 64 {
                l.append(b)
                line = l
            }
            return
        }
        switch b {
        case UInt8(ascii: "t"): line = [b]
        case UInt8(ascii: "V"):
            if timeout != nil { timeout = nil; events.append(.disarmed) }
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: " "): break
        default: feed(now)
        }
    }

    private func feed(_ now: Double) {
        if timeout == nil {
            timeout = Self.defaultTimeout
            events.append(.armed(timeout: Self.defaultTimeout))
        }
        lastFeed = now
        events.append(.fed)
    }
}

public struct EmulatedWatchdogError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
