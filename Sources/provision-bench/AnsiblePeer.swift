// The ansible-core leg of provision-bench: the same playbook, templates and sshd endpoints, driven
// by `ansible-playbook` (a path given with --ansible; scripts/bench-engine installs ansible-core
// from PyPI into a venv). Its ControlPersist masters live under the work directory and are told to
// exit when the leg ends, so nothing of ours outlives the benchmark.
import Fixtures
import Foundation
import Spawn
#if canImport(Glibc)
import Glibc
#endif

struct AnsiblePeer {
    let executable: String
    let work: String
    let servers: [SSHD]
    let forks: Int
    /// Each run is stopped (SIGTERM, then SIGKILL) after this many seconds.
    let timeout: Double

    var controlDirectory: String { work + "/ansible-cp" }

    /// `ansible-playbook --version`'s first line, e.g. `ansible-playbook [core 2.19.4]`.
    func version() -> String {
        let result = try? Spawn.run(executable, ["--version"], environment: ProcessInfo.processInfo.environment, timeout: 60)
        return result?.stdout.split(separator: "\n").first.map(String.init) ?? "ansible-playbook"
    }

    /// INI inventory for the same endpoints, each host with its own base directory; one known_hosts
    /// file holding every server's key, checked strictly as provision checks it.
    func writeInventory(baseDirectory: String) throws -> String {
        let knownHosts = work + "/ansible-known_hosts"
        try servers.map { (try? String(contentsOfFile: $0.knownHostsFile, encoding: .utf8)) ?? "" }.joined()
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)
        var lines = ["[bench]"]
        for (i, sshd) in servers.enumerated() {
            lines.append("node\(i + 1) ansible_host=\(sshd.address) ansible_port=\(sshd.port) "
                         + "ansible_ssh_private_key_file=\(sshd.clientKey) base=\(baseDirectory)/node\(i + 1)")
        }
        lines += ["[bench:vars]", "ansible_user=root", "ansible_python_interpreter=/usr/bin/python3",
                  "ansible_ssh_common_args='-o UserKnownHostsFile=\(knownHosts) -o StrictHostKeyChecking=yes'"]
        let path = work + "/ansible.ini"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// One `ansible-playbook` run: wall seconds and the recap's changed= total; nil seconds when it
    /// failed or ran out of time (the log's tail says why).
    func run(inventory: String, playbook: String, log: String) -> (seconds: Double?, changed: Int, note: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["ANSIBLE_NOCOLOR"] = "1"
        environment["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
        environment["ANSIBLE_FORKS"] = String(forks)
        // Ansible's documented speed settings: pipelining, and ControlPersist (its default) with
        // the sockets where we can find them again.
        environment["ANSIBLE_PIPELINING"] = "1"
        environment["ANSIBLE_SSH_CONTROL_PATH_DIR"] = controlDirectory
        environment["ANSIBLE_LOCAL_TEMP"] = work + "/ansible-tmp"
        try? FileManager.default.createDirectory(atPath: controlDirectory, withIntermediateDirectories: true)
        let start = Date()
        let pid: pid_t
        do {
            pid = try Spawn.start(executable, ["-i", inventory, playbook], environment: environment, output: .file(log))
        } catch { return (nil, 0, "\(error)") }
        currentPeerPID = pid
        let status = waitBounded(pid)
        currentPeerPID = 0
        let seconds = Date().timeIntervalSince(start)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let changed = text.split(separator: "\n").filter { $0.contains(" : ok=") }.reduce(0) { total, line in
            guard let range = line.range(of: "changed=") else { return total }
            return total + (Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
        if status == -1 { return (nil, changed, String(format: "stopped after %.0f s", timeout)) }
        guard status == 0 else {
            let tail = text.split(separator: "\n").suffix(15).joined(separator: "\n")
            return (nil, changed, "exit \(status); \(log):\n\(tail)")
        }
        return (seconds, changed, "")
    }

    /// Waits for `pid`; past `timeout`, SIGTERM (ansible-playbook then stops its workers), and
    /// SIGKILL 10 s later. -1 when it had to be stopped.
    private func waitBounded(_ pid: pid_t) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if reaped < 0 && errno != EINTR { return 1 }
            if Date() > deadline {
                kill(pid, SIGTERM)
                if Spawn.wait(pid, timeout: 10) != 0 {}
                return -1
            }
            usleep(20_000)
        }
    }

    /// Tells every ControlPersist master this leg started to exit (`ssh -O exit`), so none
    /// lingers after the benchmark.
    func stopControlMasters() {
        guard let sockets = try? FileManager.default.contentsOfDirectory(atPath: controlDirectory) else { return }
        for socket in sockets {
            _ = try? Spawn.run("/usr/bin/ssh", ["-O", "exit", "-o", "ControlPath=\(controlDirectory)/\(socket)", "bench"],
                               environment: ProcessInfo.processInfo.environment, timeout: 10)
        }
    }
}

/// The ansible-playbook process running now (0: none) and its leg, for the deadline and signal handlers.
nonisolated(unsafe) var currentPeerPID: pid_t = 0
nonisolated(unsafe) var currentPeer: AnsiblePeer?
