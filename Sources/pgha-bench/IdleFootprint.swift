// The agent's idle footprint: resident memory and thread count of each `pgha serve` of a healthy
// 3-member loopback cluster after `seconds` without faults, read from /proc/<pid>/status.
import Fixtures
import Foundation

func measureIdleFootprint(seconds: Int, log: (String) -> Void) throws {
    let cluster = try AgentCluster(scope: "footprint")
    defer { cluster.shutdown() }
    try cluster.startAll()
    let primary = try waitHealthy(cluster)
    log("cluster up, primary \(primary); idle for \(seconds) s")
    Thread.sleep(forTimeInterval: Double(seconds))
    print("pgha idle footprint after \(seconds) s (binary \(cluster.binary)):")
    for m in cluster.members {
        guard let pid = cluster.agent(m.name)?.pid,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
        let fields = status.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("VmHWM") || $0.hasPrefix("Threads") || $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
        print("  \(m.name)\(m.name == primary ? " (primary)" : ""): " + fields.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }.joined(separator: ", "))
        // Resident pages per mapping of the binary itself (text, rodata with ICU's data, data).
        if let smaps = try? String(contentsOfFile: "/proc/\(pid)/smaps", encoding: .utf8) {
            var mapping = "", lines: [String] = []
            for line in smaps.split(separator: "\n") {
                if line.first?.isHexDigit == true && line.contains("-") { mapping = String(line); continue }
                if line.hasPrefix("Rss:"), mapping.hasSuffix(cluster.binary), let kb = Int(line.split(whereSeparator: \.isWhitespace)[1]), kb > 1024 {
                    lines.append("\(mapping.split(separator: " ")[1]) \(kb) kB")
                }
            }
            print("    binary mappings over 1 MB resident: " + lines.joined(separator: ", "))
        }
    }
}
