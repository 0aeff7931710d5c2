import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping one host's container. The container runs detached from the command
/// (setsid, console to a log) and is known afterwards only by the PIDs recorded at boot.
enum LabMachine {
    /// Boots `root` with systemd-nspawn in the host's network namespace; returns the outer nspawn
    /// and the container's init once init exists (bounded wait).
    static func boot(layout: LabLayout, host: LabHostSpec) throws -> (nspawn: ProcessRef, initProcess: ProcessRef) {
        guard ControlShell.has("systemd-nspawn") else { throw LabError.missingTool("systemd-nspawn", package: "systemd-container") }
        let machine = "\(layout.spec.name)-\(host.name)"
        let args = ["systemd-nspawn", "-q", "-D", layout.rootDir(host.name),
                    "--register=no", "--keep-unit", "-b", "-M", machine, "--hostname=\(host.name)",
                    "--network-namespace-path=/run/netns/\(layout.netns(host.name))",
                    "--bind-ro=\(layout.repoDir):\(LabLayout.repoMountPoint)",
                    "--resolv-conf=off", "--link-journal=no", "--console=read-only",
                    // The host owns its namespace, so network admin stays inside it: keepalived can
                    // add and drop a floating address (VRRP) and send gratuitous ARP onto the bridge.
                    "--capability=CAP_NET_ADMIN"]
            + (layout.spec.watchdog ? ["--bind=\(layout.watchdogDevice(host.name)):\(LabLayout.watchdogMountPoint)"] : [])
        let log = layout.consoleLog(host.name)
        let started = try DetachedSpawn.start(args, logPath: log)
        let pid = started
        guard let nspawn = ProcessRef.of(pid) else {
            throw LabError("host \(host.name): systemd-nspawn did not start; console log \(log):\n\(ControlShell.tail(of: log, lines: 15))")
        }
        var initRef: ProcessRef?
        let deadline = Date().addingTimeInterval(15)
        while initRef == nil && Date() < deadline && nspawn.isAlive {
            if let found = ProcStat.descendants(of: pid).first(where: { $0.stat.comm == "systemd" }) {
                initRef = ProcessRef(pid: found.pid, startTicks: found.stat.startTicks)
            } else {
                usleep(20_000)
            }
        }
        guard let initRef else {
            if nspawn.isAlive { kill(pid, SIGKILL) }
            throw LabError("host \(host.name): the container's init did not start; console log \(log):\n\(ControlShell.tail(of: log, lines: 15))")
        }
        return (nspawn, initRef)
    }

    /// Pulled plug: SIGKILL the container's init (PID 1 inside); the kernel then kills every
    /// process in the container's PID namespace and both nspawn processes exit.
    static func pullPlug(_ record: HostRecord) throws {
        if let i = record.initProcess, i.isAlive { kill(i.pid, SIGKILL) }
        try waitGone(record, timeout: 15, what: "after SIGKILL of its init")
    }

    /// Clean poweroff: SIGRTMIN+4 asks systemd to power off; waits for the container to exit,
    /// pulling the plug if it has not within `timeout` seconds.
    static func powerOff(_ record: HostRecord, timeout: Double = 60) throws {
        guard let i = record.initProcess, i.isAlive else { return try waitGone(record, timeout: 5, what: "") }
        kill(i.pid, __libc_current_sigrtmin() + 4)
        if (try? waitGone(record, timeout: timeout, what: "")) == nil {
            try pullPlug(record)
        }
    }

    static func isRunning(_ record: HostRecord) -> Bool {
        record.initProcess?.isAlive == true || record.nspawn?.isAlive == true
    }

    private static func waitGone(_ record: HostRecord, timeout: Double, what: String) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning(record) {
            guard Date() < deadline else {
                throw LabError("host \(record.host): container still running \(timeout)s \(what) (nspawn PID \(record.nspawn?.pid ?? 0))")
            }
            usleep(20_000)
        }
    }

    /// Waits until sshd at `address` sends its banner; false when `timeout` passes.
    static func waitForSSH(_ address: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if SSHProbe.answers(address, timeout: 1) { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }
}

/// "Does sshd answer?": a TCP connect to port 22 that reads the "SSH-" banner, with a deadline.
enum SSHProbe {
    static func answers(_ address: String, port: UInt16 = 22, timeout: Double) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(address)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 || errno == EINPROGRESS else { return false }
        let deadline = Date().addingTimeInterval(timeout)
        var banner = [UInt8]()
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            if pfd.revents & Int16(POLLERR | POLLHUP) != 0 && pfd.revents & Int16(POLLIN) == 0 { return false }
            var buf = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &buf, buf.count)
            if n <= 0 { if n < 0 && errno == EAGAIN { continue }; return false }
            banner += buf[0..<n]
            if banner.count >= 4 { return banner.starts(with: Array("SSH-".utf8)) }
        }
        return false
    }
}
