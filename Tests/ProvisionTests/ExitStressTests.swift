// A clean exit, always: the `provision` binary runs the same small playbook against two loopback
// sshd hosts many times in a row; every run must exit 0 with its recap, never by a signal. (Exit
// used to race a per-host thread's libcrypto teardown: SIGSEGV after a clean recap, 1 run in 40.)
import Fixtures
import Foundation
import Spawn
import Testing

@Suite(.serialized) struct ExitStressTests {
    @Test func manyRunsInARowAllExitCleanly() throws {
        let provision = try builtBinary("provision")
        let a = try SSHD(), b = try SSHD()
        defer { a.stop(); b.stop() }
        let dir = TempDir()
        defer { removeTree(dir.path) }
        let inventory = dir.write("hosts.ini", "[web]\n\(a.inventoryLine("h1"))\n\(b.inventoryLine("h2"))\n")
        let playbook = dir.write("site.yml", """
            - hosts: web
              vars: {base: "\(dir.path)/out/{{ inventory_hostname }}"}
              tasks:
                - file: {path: "{{ base }}", state: directory, mode: "0755"}
                - copy: {dest: "{{ base }}/a.txt", content: "hello {{ inventory_hostname }}\\n"}
                - lineinfile: {path: "{{ base }}/a.txt", line: "second"}
                - command: {cmd: "touch {{ base }}/made", creates: "{{ base }}/made"}
                - shell: "test -f {{ base }}/made"
                  changed_when: false
                - assert: {that: ["base is defined"]}
            """)
        let runs = 40
        var failures: [String] = []
        for run in 1...runs {
            let log = dir.path + "/run-\(run).log"
            let pid = try Spawn.start(provision, ["run", playbook, "-i", inventory],
                                      environment: ProcessInfo.processInfo.environment, output: .file(log))
            let code = Spawn.wait(pid)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if code != 0 || !text.contains("PLAY RECAP") {
                failures.append("run \(run): exit \(code)\(code > 128 ? " (signal \(code - 128))" : "")\n\(text.suffix(600))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(runs) runs did not exit cleanly:\n\(failures.prefix(3).joined(separator: "\n"))")
    }
}
