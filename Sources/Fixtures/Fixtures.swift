// Real daemons started on 127.0.0.1 for tests and benchmarks: sshd, etcd, Postgres, pgha.
// This file: the shared mechanics (free ports, temp dirs, spawning, stopping by PID, waiting).
import Foundation
import Spawn
#if canImport(Glibc)
import Glibc
#endif

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A free TCP port on 127.0.0.1 (bound to port 0 and released; the kernel will not hand it out
/// again right away).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FixtureError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            guard bind(fd, p, len) == 0 else { return -1 }
            return getsockname(fd, p, &len)
        }
    }
    guard bound == 0 else { throw FixtureError("bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts TCP connections on host:port right now.
public func portAccepts(_ port: Int, host: String = "127.0.0.1") -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr(host)
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Polls `condition` every `interval` seconds until it holds or `timeout` passes.
@discardableResult
public func waitUntil(timeout: Double, interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// Polls `body` every `interval` seconds until it gives a value or `timeout` passes; the failure
/// is a FixtureError naming `what` and how long it waited, followed by `context()` (logs, say).
public func eventually<T>(_ timeout: Double, _ what: String, interval: Double = 0.2,
                          context: () -> String = { "" }, _ body: () throws -> T?) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try body() { return value }
        if Date() >= deadline {
            let more = context()
            throw FixtureError("timed out after \(Int(timeout)) s waiting for \(what)" + (more.isEmpty ? "" : "\n" + more))
        }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// A fresh directory under /tmp, removed by `removeTree`.
public func makeTempDir(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw FixtureError("mkdtemp: \(String(cString: strerror(errno)))") }
    return String(cString: p)
}

public func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A process started by a fixture. Stopped by its PID only: SIGTERM, then SIGKILL after a grace.
public final class Daemon {
    public let name: String
    public let pid: Int32
    public let logPath: String

    /// Starts `executable` with `arguments`; stdout and stderr go to `logPath`; `environment` nil
    /// means ours.
    public init(name: String, executable: String, arguments: [String], logPath: String,
                environment: [String: String]? = nil) throws {
        self.name = name
        self.logPath = logPath
        do {
            pid = try Spawn.start(executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                                  output: .file(logPath))
        } catch { throw FixtureError("\(name): \(error)") }
    }

    /// Whether the process still runs (reaps it with waitpid(WNOHANG) once it has ended).
    public var isRunning: Bool {
        lock.lock(); defer { lock.unlock() }
        if exited { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid || (reaped < 0 && errno == ECHILD) { exited = true }
        return !exited
    }
    private var exited = false
    private let lock = NSLock()

    /// SIGTERM, wait up to `grace` seconds, then SIGKILL. Safe to call twice.
    public func stop(grace: Double = 10) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !waitUntil(timeout: grace, { !isRunning }) {
            kill9()
        }
    }

    /// SIGKILL right away (a crash, as far as the daemon can tell).
    public func kill9() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        waitUntil(timeout: 10, interval: 0.01) { !isRunning }
    }

    /// The last `lines` lines of the daemon's log, for failure messages.
    public func logTail(_ lines: Int = 30) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    deinit { stop(grace: 2) }
}
