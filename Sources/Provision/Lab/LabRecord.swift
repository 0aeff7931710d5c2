import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process identified by PID *and* start time, so a recycled PID is never mistaken for ours.
public struct ProcessRef: Codable, Equatable, Sendable {
    public var pid: Int32
    /// Field 22 of /proc/PID/stat (clock ticks after boot).
    public var startTicks: UInt64

    /// True while the process exists, is not a zombie and is still the one recorded.
    public var isAlive: Bool {
        guard let stat = ProcStat(pid: pid) else { return false }
        return stat.state != "Z" && stat.state != "X" && stat.startTicks == startTicks
    }

    public static func of(_ pid: Int32) -> ProcessRef? {
        ProcStat(pid: pid).map { ProcessRef(pid: pid, startTicks: $0.startTicks) }
    }

    /// Seconds since the process started.
    public var uptime: Double? {
        guard isAlive, let text = readProcFile("/proc/uptime"),
              let up = Double(text.split(separator: " ")[0]) else { return nil }
        return up - Double(startTicks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// The fields of /proc/PID/stat the lab needs.
struct ProcStat {
    var comm: String
    var state: Character
    var ppid: Int32
    var startTicks: UInt64

    init?(pid: Int32) {
        guard let text = readProcFile("/proc/\(pid)/stat"),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        comm = String(text[text.index(after: open)..<close])
        // After "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice threads itrealvalue starttime
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let st = rest[0].first, let pp = Int32(rest[1]), let start = UInt64(rest[19]) else { return nil }
        state = st
        ppid = pp
        startTicks = start
    }

    /// Live descendants of `root`, breadth first.
    static func descendants(of root: Int32) -> [(pid: Int32, stat: ProcStat)] {
        var all: [(Int32, ProcStat)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            if let pid = Int32(name), let s = ProcStat(pid: pid), s.state != "Z" { all.append((pid, s)) }
        }
        var result: [(pid: Int32, stat: ProcStat)] = []
        var frontier: Set<Int32> = [root]
        while !frontier.isEmpty {
            let next = all.filter { frontier.contains($0.1.ppid) }
            result += next.map { (pid: $0.0, stat: $0.1) }
            frontier = Set(next.map(\.0))
        }
        return result
    }
}

/// What `lab up` created for one host, kept in hosts/<host>/record.json. Teardown acts on these
/// recorded PIDs, mounts and links only.
public struct HostRecord: Codable, Equatable, Sendable {
    public var host: String
    public var address: String
    public var veth: String
    public var netns: String
    public var root: String
    /// The outer systemd-nspawn process (nil while stopped).
    public var nspawn: ProcessRef?
    /// The container's init (systemd, PID 1 inside): SIGKILL here pulls the plug.
    public var initProcess: ProcessRef?
    public var partitioned: Bool
}

/// What `lab up` created for the whole lab, kept in lab.json: what destroy must remove even if
/// the inventory changed since.
public struct LabRecord: Codable, Equatable, Sendable {
    public var name: String
    public var bridge: String
    public var network: String
    public var nftTable: String
    public var hosts: [String]
}

enum RecordStore {
    static func load<T: Decodable>(_ type: T.Type, from path: String) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    static func save<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else { throw LabError("cannot write \(tmp)") }
        guard rename(tmp, path) == 0 else { throw LabError("cannot rename \(tmp): \(String(cString: strerror(errno)))") }
    }
}

/// /proc/mounts, read fresh on every call.
enum Mounts {
    static func targets() -> [String] {
        guard let text = readProcFile("/proc/mounts") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count > 1 ? unescape(String(f[1])) : nil
        }
    }
    static func isMounted(_ path: String) -> Bool { targets().contains(path) }
    static func anyUnder(_ dir: String) -> Bool { targets().contains { $0 == dir || $0.hasPrefix(dir + "/") } }

    /// /proc/mounts writes space, tab, newline and backslash as octal escapes.
    private static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }
}

/// Reads a /proc file to its end. Foundation's readers stop after the first read (/proc files
/// report size 0), which cuts /proc/mounts off at about 4 KB once a lab has a few hosts.
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n > 0 { data += buf[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        break
    }
    return String(decoding: data, as: UTF8.self)
}
