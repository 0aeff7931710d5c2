// ansible.builtin.reboot against a real sshd whose "reboot" the test plays: when the reboot
// command runs, the test kills the host's SSH sessions and their processes (by PID), stops the
// listener, writes a new boot identity and, after a pause, starts sshd again on the same port
// with the same keys. The module must wait through that and answer only once the new boot is up.
import Fixtures
import Foundation
import Testing
@testable import Provision

@Suite(.serialized)
struct RebootTests {
    /// The PIDs of `root`'s descendants, read from /proc.
    static func descendants(of root: Int32) -> [Int32] {
        var parent: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.range(of: ")", options: .backwards) else { continue }
            let fields = stat[close.upperBound...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { parent[pid] = ppid }
        }
        var found: [Int32] = [], frontier = [root]
        while let p = frontier.popLast() {
            let children = parent.filter { $0.value == p }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }

    /// Plays the host's reboot once `marker` appears: sessions killed, listener stopped, a new
    /// boot id, `downFor` seconds later (nil: never) sshd back on the same port and directory.
    final class Rebooter: @unchecked Sendable {
        private let lock = NSLock()
        private var server: SSHD
        private var thread: Thread?
        init(_ server: SSHD) { self.server = server }
        var current: SSHD { lock.lock(); defer { lock.unlock() }; return server }

        func arm(marker: String, bootIDFile: String, downFor: Double?) {
            let old = current
            let thread = Thread { [self] in
                guard waitUntil(timeout: 30, interval: 0.05, { FileManager.default.fileExists(atPath: marker) }) else { return }
                for pid in RebootTests.descendants(of: old.daemon.pid) { kill(pid, SIGKILL) }
                old.daemon.stop(grace: 5)
                try? "boot-\(UUID().uuidString)\n".write(toFile: bootIDFile, atomically: true, encoding: .utf8)
                guard let downFor else { return }
                Thread.sleep(forTimeInterval: downFor)
                if let again = try? SSHD(directory: old.directory, port: old.port) {
                    lock.lock(); server = again; lock.unlock()
                }
            }
            self.thread = thread
            thread.start()
        }
    }

    func playbook(_ dir: TempDir, options: String) -> String {
        dir.write("reboot.yml", """
            - hosts: ssh
              gather_facts: false
              tasks:
                - reboot:
                    boot_time_command: cat \(dir.path)/boot_id
                    reboot_command: sh -c 'touch \(dir.path)/rebooting; exec sleep 20'
                    \(options)
                  register: r
                - command: cat \(dir.path)/boot_id
                  register: after
                - copy: {dest: "\(dir.path)/result.json", content: "{{ r | to_json }}"}
            """)
    }

    func run(_ inv: Inventory, _ file: String, check: Bool = false) -> (RunSummary, CapturingOutput) {
        let out = CapturingOutput()
        let runner = PlaybookRunner(inventory: inv, options: RunOptions(check: check), output: out)
        defer { runner.close() }
        return (runner.run(playbookPath: file), out)
    }

    func inventory(_ sshd: SSHD, shell: Bool) -> Inventory {
        let inv = Inventory()
        var vars: [String: Any] = ["provision_persistent_shell": shell ? "true" : "false"]
        for (k, v) in sshd.inventoryVariables { vars[k] = v }
        inv.addHost("h1", group: "ssh", vars: vars)
        return inv
    }

    @Test(arguments: [true, false])
    func rebootWaitsForTheNewBootAndReconnects(shell: Bool) throws {
        let dir = TempDir(), serverDir = TempDir()
        defer { dir.remove(); serverDir.remove() }
        let rebooter = Rebooter(try SSHD(directory: serverDir.path))
        defer { rebooter.current.stop() }
        try "boot-before\n".write(toFile: dir.path + "/boot_id", atomically: true, encoding: .utf8)
        let file = playbook(dir, options: "reboot_timeout: 60")
        let inv = inventory(rebooter.current, shell: shell)

        // --check: changed, nothing run.
        let (checked, checkOut) = run(inv, file, check: true)
        #expect(checked.exitCode == 0 && checked.recap["h1"]?.changed ?? 0 >= 1, "\(checkOut.text)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/rebooting"))

        rebooter.arm(marker: dir.path + "/rebooting", bootIDFile: dir.path + "/boot_id", downFor: 2)
        let (summary, out) = run(inv, file)
        #expect(summary.exitCode == 0, "\(out.text) \(summary.error ?? "")")
        let result = try #require(dir.read("result.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
        #expect(json["rebooted"] as? Bool == true && json["changed"] as? Bool == true, "\(result)")
        #expect((json["elapsed"] as? Int ?? -1) >= 2, "\(result)")  // it waited while the host was down
        // The task after the reboot ran on the new boot, over a new connection.
        let bootID = try #require(dir.read("boot_id"))
        #expect(bootID.hasPrefix("boot-") && bootID != "boot-before\n")
        #expect(rebooter.current.daemon.isRunning)
    }

    @Test func rebootTimesOutWhenTheHostStaysAway() throws {
        let dir = TempDir(), serverDir = TempDir()
        defer { dir.remove(); serverDir.remove() }
        let rebooter = Rebooter(try SSHD(directory: serverDir.path))
        defer { rebooter.current.stop() }
        try "boot-before\n".write(toFile: dir.path + "/boot_id", atomically: true, encoding: .utf8)
        rebooter.arm(marker: dir.path + "/rebooting", bootIDFile: dir.path + "/boot_id", downFor: nil)
        let (summary, out) = run(inventory(rebooter.current, shell: true), playbook(dir, options: "reboot_timeout: 4\n        connect_timeout: 1"))
        #expect(summary.exitCode != 0 && summary.recap["h1"]?.failed == 1, "\(out.text)")
        #expect(out.text.contains("Timed out waiting for last boot time check (timeout=4)"), "\(out.text)")
        #expect(dir.read("result.json") == nil)
    }

    @Test func rebootIsRefusedOnTheControlNode() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let inv = Inventory()
        inv.addHost("localhost", group: "ssh", vars: ["ansible_connection": "local"])
        let (summary, out) = run(inv, playbook(dir, options: "reboot_timeout: 5"))
        #expect(summary.exitCode != 0, "\(out.text)")
        #expect(out.text.contains("would reboot the control node"), "\(out.text)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/rebooting"))
    }
}
