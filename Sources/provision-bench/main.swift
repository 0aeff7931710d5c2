// provision-bench: the engine over real SSH. Starts N sshd endpoints on 127.0.0.1 (default 6),
// runs a 30-task playbook twice (first run changes things, the re-run must report changed=0) and
// prints wall times, SSH handshakes per host and tasks×hosts per second. A benchmark, not a test:
// nothing is asserted beyond the re-run being a no-op.
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

/// `--persistent-shell`: hosts get `provision_persistent_shell: true` (one long-lived shell each).
nonisolated(unsafe) var persistentShell = false

func arguments() -> (hosts: Int, keep: Bool, commands: Int) {
    var hosts = 6
    var keep = false
    var commands = 0
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let a = it.next() {
        switch a {
        case "--hosts": hosts = it.next().flatMap { Int($0) } ?? hosts
        case "--keep": keep = true
        case "--persistent-shell": persistentShell = true
        case "--commands": commands = it.next().flatMap { Int($0) } ?? 200
        default:
            FileHandle.standardError.write(Data("usage: provision-bench [--hosts N] [--keep] [--commands N] [--persistent-shell]\n".utf8))
            exit(1)
        }
    }
    return (max(1, hosts), keep, commands)
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
    if persistentShell { vars["provision_persistent_shell"] = "true" }
    let ssh = try Connector.transport(forHost: "one", variables: vars)
    defer { ssh.close() }
    let (start, cpu) = (Date(), cpuSeconds())
    for _ in 0..<count { _ = try ssh.run("true") }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "%d commands on one session: %.3f s, %.2f ms each, client CPU %.2f ms each",
                 count, seconds, seconds * 1000 / Double(count), (cpuSeconds() - cpu) * 1000 / Double(count)))
}

func main() throws {
    let (hostCount, keep, commands) = arguments()
    if commands > 0 { return try commandLatency(commands) }
    let work = try makeTempDir("provision-bench")
    defer { if !keep { removeTree(work) } }
    var servers: [SSHD] = []
    defer { servers.forEach { $0.stop() } }
    for _ in 0..<hostCount { servers.append(try SSHD()) }

    let inventory = Inventory()
    for (i, sshd) in servers.enumerated() {
        var vars: [String: Any] = ["base": "\(work)/hosts/node\(i + 1)"]
        for (k, v) in sshd.inventoryVariables { vars[k] = v }
        if persistentShell { vars["provision_persistent_shell"] = "true" }
        inventory.addHost("node\(i + 1)", group: "bench", vars: vars)
    }
    try FileManager.default.createDirectory(atPath: work + "/play/templates", withIntermediateDirectories: true)
    try playbook.write(toFile: work + "/play/bench.yml", atomically: true, encoding: .utf8)
    try "# {{ inventory_hostname }}\nport = {{ port }}\ngreeting = {{ greeting | upper }}\n"
        .write(toFile: work + "/play/templates/app.conf.j2", atomically: true, encoding: .utf8)
    try "{% for h in groups['bench'] %}127.0.0.1 {{ h }}\n{% endfor %}"
        .write(toFile: work + "/play/templates/hosts.j2", atomically: true, encoding: .utf8)
    let taskCount = 30

    func handshakes() -> [Int] { servers.map { SSHTransport.handshakes(address: $0.address, port: $0.port) } }
    func operations() -> Int { servers.reduce(0) { $0 + SSHTransport.operations(address: $1.address, port: $1.port) } }

    print("provision-bench: \(hostCount) sshd endpoints on 127.0.0.1, \(taskCount)-task playbook"
          + (persistentShell ? ", one long-lived shell per host" : ", an exec channel per command"))
    var rows: [(String, Double, Int, [Int], Int)] = []
    for label in ["first run", "re-run"] {
        let before = handshakes()
        let operationsBefore = operations()
        let runner = PlaybookRunner(inventory: inventory, options: RunOptions(forks: max(10, hostCount)), output: SilentOutput())
        let start = Date()
        let summary = runner.run(playbookPath: work + "/play/bench.yml")
        runner.close()
        let seconds = Date().timeIntervalSince(start)
        guard summary.exitCode == 0 else {
            throw FixtureError("\(label) failed (exit \(summary.exitCode)): \(summary.error ?? "") \(summary.recap)")
        }
        rows.append((label, seconds, summary.changedTotal, zip(handshakes(), before).map { $0 - $1 },
                     (operations() - operationsBefore) / hostCount))
    }
    for (label, seconds, changed, shakes, perHostOps) in rows {
        let perHost = Set(shakes).count == 1 ? "\(shakes[0])" : shakes.map(String.init).joined(separator: ",")
        let rate = Double(taskCount * hostCount) / seconds
        let name = label.padding(toLength: 10, withPad: " ", startingAt: 0)
        print(name + String(format: " %7.3f s   changed=%-4d ", seconds, changed)
              + "handshakes/host=\(perHost)   commands+files/host=\(perHostOps)   "
              + String(format: "tasks×hosts/s=%.0f", rate))
    }
    if rows[1].2 != 0 { print("WARNING: the re-run changed \(rows[1].2) things; it should change nothing") }
    if keep { print("kept \(work)") }
}

do { try main() } catch {
    FileHandle.standardError.write(Data("provision-bench: \(error)\n".utf8))
    exit(1)
}
