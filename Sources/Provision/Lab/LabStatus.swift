import Foundation

/// What `up` did, for its summary.
public struct LabUpReport: CustomStringConvertible {
    public var lab: String
    /// Shared things created (bridge, nft tables).
    public var created: [String] = []
    /// (host, what happened to it)
    public var hosts: [(String, String)] = []
    /// Seconds spent building the base image (0 when it was cached).
    public var imageBuildSeconds: Double = 0
    /// Seconds spent downloading the offline repository (0 when it was cached).
    public var repoSeconds: Double = 0
    public var totalSeconds: Double = 0

    public var description: String {
        var lines = created.map { "created \($0)" }
        let width = hosts.map(\.0.count).max() ?? 0
        lines += hosts.map { "\($0.0.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.1)" }
        let t = { (s: Double) in String(format: "%.1fs", s) }
        lines.append("image build: \(imageBuildSeconds > 0 ? t(imageBuildSeconds) : "cached")"
                     + ", offline repo: \(repoSeconds > 0 ? t(repoSeconds) : "cached")"
                     + ", total up: \(t(totalSeconds))")
        return lines.joined(separator: "\n")
    }
}

/// One row of `lab status`.
public struct LabHostStatus: Sendable {
    public enum State: String, Sendable { case running, stopped, absent = "not created" }
    public var host: String
    public var address: String
    public var state: State
    public var partitioned: Bool
    public var uptimeSeconds: Double?
    public var sshAnswers: Bool
}

extension Lab {
    /// Every inventory host's state, read from its record and probed live (sshd banner).
    public func status() -> [LabHostStatus] {
        let rows = spec.hosts.map { host -> LabHostStatus in
            guard let r = RecordStore.load(HostRecord.self, from: layout.recordPath(host.name)) else {
                return LabHostStatus(host: host.name, address: host.address.description, state: .absent,
                                     partitioned: false, uptimeSeconds: nil, sshAnswers: false)
            }
            let running = LabMachine.isRunning(r)
            return LabHostStatus(host: host.name, address: r.address, state: running ? .running : .stopped,
                                 partitioned: r.partitioned, uptimeSeconds: running ? r.initProcess?.uptime : nil,
                                 sshAnswers: false)
        }
        var result = rows
        for i in result.indices where result[i].state == .running {
            result[i].sshAnswers = SSHProbe.answers(result[i].address, timeout: 1)
        }
        return result
    }

    /// The status table as printed by `provision lab status`.
    public static func statusTable(_ rows: [LabHostStatus]) -> String {
        var table = [["HOST", "ADDRESS", "STATE", "UPTIME", "SSH"]]
        for r in rows {
            let state = r.state.rawValue + (r.partitioned ? " (partitioned)" : "")
            let uptime = r.uptimeSeconds.map(Self.formatUptime) ?? "-"
            table.append([r.host, r.address, state, uptime, r.state == .running ? (r.sshAnswers ? "ok" : "no answer") : "-"])
        }
        let widths = (0..<5).map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func formatUptime(_ s: Double) -> String {
        let t = Int(s)
        if t < 60 { return "\(t)s" }
        if t < 3600 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t / 3600)h\(String(format: "%02d", t / 60 % 60))m"
    }

    /// How the engine reaches a lab host: root, the lab key, the lab's known_hosts, strict.
    public func sshTarget(host name: String) throws -> SSHTarget {
        let host = try spec.host(name)
        return SSHTarget(address: host.address.description, user: "root", privateKeyFiles: [layout.privateKey],
                         knownHostsFile: layout.knownHosts, hostKeyPolicy: .strict)
    }

    /// /usr/bin/ssh argv for `lab ssh`: the lab key and known_hosts, strict checking, no agent.
    public func sshArguments(host name: String, command: [String]) throws -> [String] {
        let host = try spec.host(name)
        var argv = ["/usr/bin/ssh", "-i", layout.privateKey, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                    "-o", "UserKnownHostsFile=\(layout.knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null",
                    "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
        if command.isEmpty { argv.append("-t") }
        argv.append("root@\(host.address)")
        if !command.isEmpty { argv += ["--"] + command }
        return argv
    }
}
