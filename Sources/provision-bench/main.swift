// provision-bench: the engine over real SSH. Starts N sshd endpoints on 127.0.0.1 (default 6; one
// sshd process per port), runs a 30-task playbook twice (first run changes things, the re-run must
// report changed=0) with exec channels and/or the long-lived shell, optionally the same with
// ansible-playbook, and prints the legs side by side. A benchmark, not a test: nothing is asserted
// beyond the re-run being a no-op. Bounded by --deadline; servers are stopped by PID.
import Fixtures
import Foundation
import Provision

/// Output sink that keeps nothing but the events' count (the benchmark prints its own summary).
final class SilentOutput: OutputSink {
    func emit(_ event: RunEvent) {}
}

let playbook = """
- name: provision-bench
  hosts: bench
  vars: {greeting: hello, port: 5432}
  handlers:
    - name: reload app
      command: touch {{ base }}/reloaded
  tasks:
    - file: {path: "{{ base }}/etc", state: directory, mode: "0755"}
    - copy: {dest: "{{ base }}/etc/motd", content: "{{ greeting }} from {{ inventory_hostname }}\\n", mode: "0644"}
      notify: reload app
    - copy: {dest: "{{ base }}/etc/a.conf", content: "a = 1\\n"}
    - copy: {dest: "{{ base }}/etc/b.conf", content: "b = 2\\n", mode: "0600"}
    - copy: {dest: "{{ base }}/etc/c.conf", content: "c = 3\\n"}
    - template: {src: app.conf.j2, dest: "{{ base }}/etc/app.conf", mode: "0640"}
      notify: reload app
    - template: {src: hosts.j2, dest: "{{ base }}/etc/hosts"}
    - template: {src: app.conf.j2, dest: "{{ base }}/etc/app-copy.conf"}
    - lineinfile: {path: "{{ base }}/etc/settings", regexp: "^port", line: "port = {{ port }}", create: true}
    - lineinfile: {path: "{{ base }}/etc/settings", regexp: "^listen", line: "listen = 127.0.0.1"}
    - lineinfile: {path: "{{ base }}/etc/settings", regexp: "^max_connections", line: "max_connections = 100"}
    - lineinfile: {path: "{{ base }}/etc/settings", line: "# managed by provision", insertbefore: BOF}
    - blockinfile: {path: "{{ base }}/etc/block.conf", create: true, block: "x = 1\\ny = 2"}
    - blockinfile: {path: "{{ base }}/etc/settings", marker: "# {mark} extra", block: "shared_buffers = 128MB"}
    - command: touch {{ base }}/initialized
      args: {creates: "{{ base }}/initialized"}
    - command: mkdir {{ base }}/data
      args: {creates: "{{ base }}/data"}
    - shell: echo ready > {{ base }}/data/state
      args: {creates: "{{ base }}/data/state"}
    - shell: cat {{ base }}/data/state
      register: state
      changed_when: false
    - command: uname -s
      register: kernel
      changed_when: false
    - set_fact: {node_state: "{{ state.stdout }}"}
    - set_fact: {kernel_name: "{{ kernel.stdout | lower }}"}
    - assert: {that: ["node_state == 'ready'"]}
    - assert: {that: ["kernel_name == 'linux'", "port | int == 5432"]}
    - assert: {that: ["inventory_hostname in groups['bench']"]}
    - debug: {msg: "{{ inventory_hostname }} is {{ node_state }}"}
    - debug: {var: kernel_name}
    - file: {path: "{{ base }}/etc/a.conf", mode: "0640"}
    - file: {src: "{{ base }}/etc/app.conf", path: "{{ base }}/app.conf", state: link}
    - wait_for: {path: "{{ base }}/initialized", timeout: 5}
    - file: {path: "{{ base }}/tmp", state: directory}
"""

/// What the command line asked for.
struct BenchOptions {
    var hosts = 6
    var keep = false
    var commands = 0
    /// Transports to run the playbook with, in order: false = an exec channel per command,
    /// true = one long-lived shell per host (the default; `provision_persistent_shell`).
    var shells: [Bool] = [true]
    /// sshd ports firstPort, firstPort+1, …; nil: free ports the kernel picks.
    var firstPort: Int?
    /// `ansible-playbook` to run the same playbook against the same endpoints, if given.
    var ansible: String?
    var ansibleTimeout: Double = 900
    /// The whole benchmark is stopped (servers and ansible-playbook by PID) after this long.
    var deadline: Double = 2400
}

/// The transport for `--commands` (one session): the long-lived shell unless `--exec-channels`.
nonisolated(unsafe) var persistentShell = true

func arguments() -> BenchOptions {
    var options = BenchOptions()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let a = it.next() {
        switch a {
        case "--hosts": options.hosts = it.next().flatMap { Int($0) } ?? options.hosts
        case "--keep": options.keep = true
        case "--persistent-shell": persistentShell = true; options.shells = [true]
        case "--exec-channels": persistentShell = false; options.shells = [false]
        case "--both-transports": options.shells = [false, true]
        case "--first-port": options.firstPort = it.next().flatMap { Int($0) }
        case "--ansible": options.ansible = it.next()
        case "--ansible-timeout": options.ansibleTimeout = it.next().flatMap { Double($0) } ?? options.ansibleTimeout
        case "--deadline": options.deadline = it.next().flatMap { Double($0) } ?? options.deadline
        case "--commands": options.commands = it.next().flatMap { Int($0) } ?? 200
        default:
            FileHandle.standardError.write(Data("""
                usage: provision-bench [--hosts N] [--first-port P] [--persistent-shell | --exec-channels | --both-transports]
                                       [--ansible PATH/ansible-playbook [--ansible-timeout S]] [--deadline S]
                                       [--keep] [--commands N]

                """.utf8))
            exit(1)
        }
    }
    options.hosts = max(1, options.hosts)
    return options
}

/// The servers running now, for the deadline and signal handlers (which stop them by PID and exit).
nonisolated(unsafe) var runningServers: [SSHD] = []

/// Stops everything this process started and exits: the deadline passed or a signal came.
func abandon(_ reason: String) -> Never {
    FileHandle.standardError.write(Data("provision-bench: \(reason); stopping sshd endpoints and exiting\n".utf8))
    if currentPeerPID > 0 { kill(currentPeerPID, SIGTERM) }
    currentPeer?.stopControlMasters()
    for server in runningServers { kill(server.daemon.pid, SIGTERM) }
    exit(3)
}

/// Bounds the benchmark in time and stops the servers on SIGINT/SIGTERM.
func installGuards(deadline: Double) -> [DispatchSourceProtocol] {
    let queue = DispatchQueue(label: "provision-bench.guards")
    let timer = DispatchSource.makeTimerSource(queue: queue)
    timer.schedule(deadline: .now() + deadline)
    timer.setEventHandler { abandon(String(format: "the %.0f s deadline passed", deadline)) }
    timer.resume()
    var sources: [DispatchSourceProtocol] = [timer]
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
        source.setEventHandler { abandon("signal \(sig)") }
        source.resume()
        sources.append(source)
    }
    return sources
}

/// /proc/loadavg's three averages.
func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Seconds of CPU this process has used (user + system).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

/// `--commands N`: N trivial commands on one session, to show the per-command cost.
func commandLatency(_ count: Int) throws {
    let sshd = try SSHD()
    defer { sshd.stop() }
    var vars: [String: Any] = [:]
    for (k, v) in sshd.inventoryVariables { vars[k] = v }
    vars["provision_persistent_shell"] = persistentShell ? "true" : "false"
    let ssh = try Connector.transport(forHost: "one", variables: vars)
    defer { ssh.close() }
    let (start, cpu) = (Date(), cpuSeconds())
    for _ in 0..<count { _ = try ssh.run("true") }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "%d commands on one session: %.3f s, %.2f ms each, client CPU %.2f ms each",
                 count, seconds, seconds * 1000 / Double(count), (cpuSeconds() - cpu) * 1000 / Double(count)))
}

/// One row of the printed table.
struct Leg {
    var name: String
    var first: (seconds: Double?, changed: Int)
    var rerun: (seconds: Double?, changed: Int)
    var detail: String
}

func main() throws {
    let options = arguments()
    if options.commands > 0 { return try commandLatency(options.commands) }
    setvbuf(stdout, nil, _IOLBF, 0)  // lines reach a log file as they are printed
    let guards = installGuards(deadline: options.deadline)
    defer { guards.forEach { $0.cancel() } }
    let hostCount = options.hosts
    let work = try makeTempDir("provision-bench")
    defer { if !options.keep { removeTree(work) } }
    var servers: [SSHD] = []
    defer { servers.forEach { $0.stop() }; runningServers = [] }
    let startup = Date()
    for i in 0..<hostCount {
        servers.append(try SSHD(port: options.firstPort.map { $0 + i }))
        runningServers = servers
    }
    let startupSeconds = Date().timeIntervalSince(startup)

    try FileManager.default.createDirectory(atPath: work + "/play/templates", withIntermediateDirectories: true)
    try playbook.write(toFile: work + "/play/bench.yml", atomically: true, encoding: .utf8)
    try "# {{ inventory_hostname }}\nport = {{ port }}\ngreeting = {{ greeting | upper }}\n"
        .write(toFile: work + "/play/templates/app.conf.j2", atomically: true, encoding: .utf8)
    try "{% for h in groups['bench'] %}127.0.0.1 {{ h }}\n{% endfor %}"
        .write(toFile: work + "/play/templates/hosts.j2", atomically: true, encoding: .utf8)
    let taskCount = 30
    let forks = max(10, hostCount)

    func handshakes() -> [Int] { servers.map { SSHTransport.handshakes(address: $0.address, port: $0.port) } }
    func operations() -> Int { servers.reduce(0) { $0 + SSHTransport.operations(address: $1.address, port: $1.port) } }

    let ports = "ports \(servers.first!.port)–\(servers.last!.port)"
    print("provision-bench: \(hostCount) sshd endpoints on 127.0.0.1 (\(ports), started in "
          + String(format: "%.1f s", startupSeconds) + "), \(taskCount)-task playbook, forks \(forks)")
    print("load average before: \(loadAverage())")
    var legs: [Leg] = []
    // Each leg's row as soon as it is measured (a long ansible-playbook leg may be cut short).
    func cell(_ run: (seconds: Double?, changed: Int)) -> String {
        guard let seconds = run.seconds else { return "—".padding(toLength: 24, withPad: " ", startingAt: 0) }
        return String(format: "%8.2f s  changed=%-5d", seconds, run.changed)
    }
    let width = 56
    print("".padding(toLength: width, withPad: " ", startingAt: 0) + "  first run                re-run")
    func printRow(_ leg: Leg) {
        let rate = leg.rerun.seconds.map { String(format: "   re-run tasks×hosts/s=%.0f", Double(taskCount * hostCount) / $0) } ?? ""
        print(leg.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + cell(leg.first) + "  " + cell(leg.rerun) + rate)
    }
    for shell in options.shells {
        let inventory = Inventory()
        let base = work + (shell ? "/shell" : "/exec")
        for (i, sshd) in servers.enumerated() {
            var vars: [String: Any] = ["base": "\(base)/node\(i + 1)"]
            for (k, v) in sshd.inventoryVariables { vars[k] = v }
            vars["provision_persistent_shell"] = shell ? "true" : "false"
            inventory.addHost("node\(i + 1)", group: "bench", vars: vars)
        }
        var runs: [(Double, Int)] = []
        var details: [String] = []
        for label in ["first run", "re-run"] {
            let before = handshakes()
            let operationsBefore = operations()
            let runner = PlaybookRunner(inventory: inventory, options: RunOptions(forks: forks), output: SilentOutput())
            let (start, cpu) = (Date(), cpuSeconds())
            let summary = runner.run(playbookPath: work + "/play/bench.yml")
            runner.close()
            let seconds = Date().timeIntervalSince(start)
            let clientCPU = cpuSeconds() - cpu
            guard summary.exitCode == 0 else {
                throw FixtureError("\(label) failed (exit \(summary.exitCode)): \(summary.error ?? "") \(summary.recap)")
            }
            let shakes = zip(handshakes(), before).map { $0 - $1 }
            let perHost = Set(shakes).count == 1 ? "\(shakes[0])" : shakes.map(String.init).joined(separator: ",")
            details.append("handshakes/host=\(perHost) commands+files/host=\((operations() - operationsBefore) / hostCount)"
                           + String(format: " client CPU %.2f s", clientCPU))
            runs.append((seconds, summary.changedTotal))
        }
        legs.append(Leg(name: shell ? "provision, one long-lived shell per host" : "provision, an exec channel per command",
                        first: runs[0], rerun: runs[1], detail: details.joined(separator: " · ")))
        printRow(legs[legs.count - 1])
    }
    if let executable = options.ansible {
        let peer = AnsiblePeer(executable: executable, work: work, servers: servers, forks: forks, timeout: options.ansibleTimeout)
        currentPeer = peer
        defer { peer.stopControlMasters(); currentPeer = nil }
        let inventory = try peer.writeInventory(baseDirectory: work + "/ansible")
        var runs: [(seconds: Double?, changed: Int)] = []
        var notes: [String] = []
        for label in ["first", "rerun"] {
            let result = peer.run(inventory: inventory, playbook: work + "/play/bench.yml", log: work + "/ansible-\(label).log")
            runs.append((result.seconds, result.changed))
            if !result.note.isEmpty { notes.append("\(label): \(result.note)") }
            if result.seconds == nil { break }
        }
        if runs.count < 2 { runs.append((nil, 0)) }
        legs.append(Leg(name: "\(peer.version()), forks \(forks), pipelining", first: runs[0], rerun: runs[1],
                        detail: notes.joined(separator: "; ")))
        printRow(legs[legs.count - 1])
    }
    print("load average after:  \(loadAverage())")
    for leg in legs where !leg.detail.isEmpty { print("  \(leg.name): \(leg.detail)") }
    for leg in legs where leg.rerun.seconds != nil && leg.rerun.changed != 0 {
        print("WARNING: \(leg.name): the re-run changed \(leg.rerun.changed) things; it should change nothing")
    }
    if options.keep { print("kept \(work)") }
}

do { try main() } catch {
    FileHandle.standardError.write(Data("provision-bench: \(error)\n".utf8))
    exit(1)
}
