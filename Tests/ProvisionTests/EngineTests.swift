import Foundation
import Testing
@testable import Provision

/// The engine end to end with LocalTransport: real files in temp dirs, real commands.
@Suite struct EngineTests {
    /// Two local hosts (both this machine) and a playbook in a temp dir.
    func setup(_ playbook: String, hosts: [String] = ["h1", "h2"]) -> (TempDir, Inventory, String) {
        let dir = TempDir()
        let inv = Inventory()
        for h in hosts { inv.addHost(h, group: "local", vars: ["ansible_connection": "local", "base": dir.path + "/" + h]) }
        let file = dir.write("play.yml", playbook)
        return (dir, inv, file)
    }

    /// A variable `name` as the run left it on `host` (registered results, set facts).
    func facts(_ s: RunSummary, _ name: String, host: String = "h1") -> Any? { s.hostFacts[host]?[name] }

    func run(_ inv: Inventory, _ file: String, _ options: RunOptions = RunOptions()) -> (RunSummary, CapturingOutput) {
        let out = CapturingOutput()
        let runner = PlaybookRunner(inventory: inv, options: options, output: out)
        defer { runner.close() }
        return (runner.run(playbookPath: file), out)
    }

    /// inode and mtime of every file under `root`.
    func snapshot(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        for rel in (fm.subpaths(atPath: root) ?? []) {
            var st = stat()
            lstat(root + "/" + rel, &st)
            out[rel] = "\(st.st_ino) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_mode)"
        }
        return out
    }

    static let filePlay = """
    - hosts: local
      vars: {greeting: hello}
      tasks:
        - file: {path: "{{ base }}/d", state: directory, mode: "0750"}
        - copy: {dest: "{{ base }}/d/a.txt", content: "{{ greeting }} {{ inventory_hostname }}\\n", mode: "0600"}
        - template: {src: t.j2, dest: "{{ base }}/d/t.conf"}
        - blockinfile: {path: "{{ base }}/d/b.conf", create: true, block: "x = 1"}
        - lineinfile: {path: "{{ base }}/d/b.conf", regexp: "^port", line: "port = 5432", create: true}
        - file: {src: "{{ base }}/d/a.txt", path: "{{ base }}/d/link", state: link}
        - file: {path: "{{ base }}/d/touched", state: touch}
        - file: {path: "{{ base }}/d", state: directory, recurse: true, owner: root, group: root}
        - command: touch {{ base }}/d/once
          args: {creates: "{{ base }}/d/once"}
    """

    @Test func secondRunChangesNothingAndTouchesNothing() throws {
        let (dir, inv, file) = setup(Self.filePlay)
        defer { dir.remove() }
        dir.write("templates/t.j2", "name={{ inventory_hostname }}\nport = 1\n")
        let (first, _) = run(inv, file)
        #expect(first.exitCode == 0 && first.recap["h1"]?.changed == 8 && first.recap["h2"]?.changed == 8)
        #expect(dir.read("h1/d/t.conf") == "name=h1\nport = 1\n" && dir.read("h2/d/a.txt") == "hello h2\n")
        let before = snapshot(dir.path)
        let (second, out) = run(inv, file)
        #expect(second.exitCode == 0 && second.changedTotal == 0, "\(out.text)")
        #expect(snapshot(dir.path) == before)
    }

    @Test func checkModeChangesNothing() throws {
        let (dir, inv, file) = setup(Self.filePlay)
        defer { dir.remove() }
        dir.write("templates/t.j2", "x\n")
        let (s, _) = run(inv, file, RunOptions(check: true, diff: true))
        #expect(s.exitCode == 0 && (s.recap["h1"]?.changed ?? 0) > 0)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/h1"))
    }

    @Test func handlersRunOnceOnlyWhenNotifiedByAChange() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.conf", content: "v1"}
              notify: [restart]
            - copy: {dest: "{{ base }}.other", content: "v1"}
              notify: [restart]
            - meta: flush_handlers
            - shell: echo task >> {{ base }}.log
          handlers:
            - name: restart
              shell: echo handler >> {{ base }}.log
        """)
        defer { dir.remove() }
        _ = run(inv, file)
        #expect(dir.read("h1.log") == "handler\ntask\n")
        _ = run(inv, file)
        #expect(dir.read("h1.log") == "handler\ntask\ntask\n")
    }

    @Test func loopsRegisterWhenAndSetFact() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - command: echo {{ item }}
              loop: [a, b, c]
              register: echoes
              when: item != 'b'
              changed_when: false
            - set_fact:
                outs: "{{ echoes.results | selectattr('stdout', 'defined') | map(attribute='stdout') | list }}"
            - copy: {dest: "{{ base }}.txt", content: "{{ outs | join(',') }}", mode: "{{ no_mode | default(omit) }}"}
              when: inventory_hostname == 'h1'
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.txt") == "a,c" && dir.read("h2.txt") == nil)
        #expect(s.hostFacts["h2"]?["outs"] as? [String] == ["a", "c"])
        #expect(out.text.contains("skipping: [h1] => (item=b)") && s.recap["h2"]?.skipped == 1)
    }

    @Test func failedHostLeavesThePlayOthersContinueExit2() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - fail: {msg: "h1 breaks"}
              when: inventory_hostname == 'h1'
            - copy: {dest: "{{ base }}.after", content: "x"}
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.play2", content: "x"}
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 2 && s.failedHosts == ["h1"])
        #expect(out.text.contains("failed: [h1] => h1 breaks"))
        #expect(dir.read("h2.after") == "x" && dir.read("h1.after") == nil && dir.read("h1.play2") == nil && dir.read("h2.play2") == "x")
    }

    @Test func anyErrorsFatalStopsEveryHost() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          any_errors_fatal: true
          tasks:
            - command: "false"
              when: inventory_hostname == 'h1'
            - copy: {dest: "{{ base }}.after", content: "x"}
        """)
        defer { dir.remove() }
        let (s, _) = run(inv, file)
        #expect(s.exitCode == 2 && dir.read("h2.after") == nil)
    }

    @Test func blockRescueAlways() throws {
        // h1 fails inside the block: it is rescued (sees the failure), skips the block's rest, and
        // goes on with the play; h2 never fails and skips the rescue. Both run `always`.
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - name: guarded
              block:
                - command: "false"
                  when: inventory_hostname == 'h1'
                - copy: {dest: "{{ base }}.rest", content: "x"}
              rescue:
                - copy: {dest: "{{ base }}.rescued", content: "{{ ansible_failed_task.name }}: rc {{ ansible_failed_result.rc }}"}
              always:
                - copy: {dest: "{{ base }}.always", content: "x"}
            - copy: {dest: "{{ base }}.after", content: "x"}
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.rest") == nil && dir.read("h2.rest") == "x")
        #expect(dir.read("h1.rescued") == "command: rc 1" && dir.read("h2.rescued") == nil)
        #expect(dir.read("h1.always") == "x" && dir.read("h2.always") == "x")
        #expect(dir.read("h1.after") == "x" && dir.read("h2.after") == "x")
        #expect(s.recap["h1"]?.failed == 0 && s.recap["h1"]?.rescued == 1 && s.recap["h2"]?.rescued == 0)
    }

    @Test func failedRescueFailsTheHostAfterAlways() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          any_errors_fatal: true
          tasks:
            - block:
                - command: "false"
                  when: inventory_hostname == 'h1'
              rescue:
                - command: "false"
              always:
                - copy: {dest: "{{ base }}.always", content: "x"}
            - copy: {dest: "{{ base }}.after", content: "x"}
        """)
        defer { dir.remove() }
        let (s, _) = run(inv, file)
        // h1's rescue failed: any_errors_fatal stops the play (h2 too), after `always` ran on both.
        #expect(s.exitCode == 2 && s.failedHosts.contains("h1"))
        #expect(dir.read("h1.always") == "x" && dir.read("h2.always") == "x")
        #expect(dir.read("h1.after") == nil && dir.read("h2.after") == nil)
    }

    @Test func blockKeywordsAreChecked() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - rescue:
                - debug: {msg: x}
        """)
        defer { dir.remove() }
        let (s, _) = run(inv, file)
        #expect(s.exitCode == 1 && (s.error ?? "").contains("'rescue' belongs to a block") && (s.error ?? "").contains("play.yml:3:"), "\(s.error ?? "")")
    }

    @Test func passwordLookupGeneratesOnceAndReadsBack() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          vars:
            secret: "{{ lookup('password', base ~ '/secrets/app length=12 chars=digits') }}"
          tasks:
            - copy: {dest: "{{ base }}.conf", content: "pw={{ secret }}\\n", mode: "0600"}
              no_log: true
        """)
        defer { dir.remove() }
        let (first, out) = run(inv, file)
        #expect(first.exitCode == 0, "\(out.text)")
        let stored = try #require(dir.read("h1/secrets/app")).trimmingCharacters(in: .newlines)
        #expect(stored.count == 12 && stored.allSatisfy(\.isNumber))
        #expect(dir.read("h1.conf") == "pw=\(stored)\n" && dir.read("h2.conf") != dir.read("h1.conf"))
        var st = stat()
        stat(dir.path + "/h1/secrets/app", &st)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(!out.text.contains(stored), "the password was printed")
        let (second, _) = run(inv, file)
        #expect(second.exitCode == 0 && second.changedTotal == 0)
        #expect(throws: ProvisionError.self) { try Templater(variables: [:]).render("{{ lookup('password', 'relative/path') }}", location: nil) }
        #expect(throws: ProvisionError.self) { try Templater(variables: [:]).render("{{ lookup('password', '/tmp/x lenght=3') }}", location: nil) }
    }

    @Test func serialRunsBatchesInOrder() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          serial: 1
          tasks:
            - shell: echo {{ inventory_hostname }}-1 >> {{ base | dirname }}/order
            - shell: echo {{ inventory_hostname }}-2 >> {{ base | dirname }}/order
        """)
        defer { dir.remove() }
        _ = run(inv, file)
        #expect(dir.read("order") == "h1-1\nh1-2\nh2-1\nh2-2\n")
    }

    @Test func undefinedVariableFailsTheTaskNamingIt() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.x", content: "{{ not_defined_anywhere }}"}
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 2 && out.text.contains("undefined variable 'not_defined_anywhere'"))
        #expect(out.text.contains("play.yml:3:7"))
        #expect(dir.read("h1.x") == nil)
    }

    @Test func noLogHidesValuesAndExtraVarsWin() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          vars: {secret: from-play}
          tasks:
            - command: echo {{ secret }}
              no_log: true
              register: r
            - fail: {msg: "{{ secret }}"}
              no_log: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        let json = CapturingJSON()
        let runner = PlaybookRunner(inventory: inv, options: RunOptions(extraVars: ["secret": "s3cr3t"], verbosity: 2), output: json)
        let s = runner.run(playbookPath: file)
        #expect(s.exitCode == 2)
        #expect(!json.text.contains("s3cr3t") && json.text.contains("hidden due to the 'no_log: true'"))
        let events = json.text.split(separator: "\n").compactMap { (try? Values.parseJSON(String($0))) as? [String: Any] }
        #expect(events.count == json.text.split(separator: "\n").count)
        #expect(events.contains { $0["event"] as? String == "host_result" && $0["status"] as? String == "failed" && $0["task"] as? String == "fail" })
        #expect((events.last?["stats"] as? [String: Any])?["h1"] != nil)
    }

    /// all < parent group < child group < host < play vars < task vars < set_fact/register < -e.
    @Test func variablePrecedence() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          vars: {b: play, c: play, d: play, e: play, path: "{{ base }}.vars"}
          tasks:
            - set_fact: {d: fact, e: fact}
            - copy:
                dest: "{{ path }}"
                content: "{{ a0 }},{{ a }},{{ b }},{{ c }},{{ d }},{{ e }}"
              vars: {c: task, d: task}
            - copy: {dest: "{{ base }}.hv", content: "{{ hostvars['other'].dir }}"}
            - copy: {dest: "{{ base }}.bad", content: "{{ broken }}"}
              vars: {broken: "{{ nowhere }}"}
        - hosts: other
          tasks: [{debug: {msg: "{{ dir }}"}}]
        """, hosts: ["h1"])
        defer { dir.remove() }
        inv.setGroupVars("all", ["a0": "all", "a": "all", "b": "all"])
        inv.addGroup("parent"); inv.addGroup("local", parent: "parent")
        inv.setGroupVars("parent", ["a": "parent", "b": "parent"])
        inv.setGroupVars("local", ["a": "child"])
        inv.setHostVars("h1", ["b": "host"])
        inv.addHost("other", vars: ["who": "o", "dir": "/x/{{ who }}"])
        let (s, out) = run(inv, file, RunOptions(extraVars: ["e": "extra"]))
        #expect(dir.read("h1.vars") == "all,child,play,task,fact,extra", "\(out.text)")
        #expect(dir.read("h1.hv") == "/x/o")
        #expect(s.hosts == ["h1", "other"] && s.recap["other"]?.ok == 1 && out.text.contains("ok: [other] => /x/o"))
        #expect(s.exitCode == 2 && out.text.contains("undefined variable 'nowhere'"), "\(out.text)")
    }

    @Test func runOnceUntilTagsAndLimit() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - shell: echo {{ inventory_hostname }} >> {{ base | dirname }}/once
              run_once: true
              register: once
              tags: [always]
            - shell: echo x >> {{ base }}.count; wc -l < {{ base }}.count
              register: counter
              until: counter.stdout | int >= 3
              retries: 5
              delay: 0
              tags: [counting]
            - copy: {dest: "{{ base }}.tagged", content: "{{ once.changed }}"}
              tags: [deploy]
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file, RunOptions(limit: "h2", tags: ["counting", "deploy"]))
        #expect(s.exitCode == 0 && s.hosts == ["h2"], "\(out.text) \(s.error ?? "")")
        #expect(dir.read("once") == "h2\n" && dir.read("h2.count") == "x\nx\nx\n" && dir.read("h2.tagged") == "True")
        let (s2, _) = run(inv, file, RunOptions(skipTags: ["counting", "deploy"]))
        let templated = dir.write("templated.yml", "- hosts: \"{{ target }}\"\n  tasks:\n    - copy: {dest: \"{{ base }}.t\", content: x}\n")
        let (s3, _) = run(inv, templated, RunOptions(extraVars: ["target": "h1"]))
        #expect(s3.hosts == ["h1"] && dir.read("h1.t") == "x" && dir.read("h2.t") == nil)
        #expect(s2.exitCode == 0 && dir.read("once") == "h2\nh1\n" && dir.read("h1.count") == nil)
    }

    @Test func maxFailPercentageStopsTheBatch() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          max_fail_percentage: 40
          tasks:
            - command: "false"
              when: inventory_hostname == 'h1'
            - copy: {dest: "{{ base }}.after", content: "x"}
        """)
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 2 && dir.read("h2.after") == nil && out.text.contains("max_fail_percentage"))
    }

    @Test(.enabled(if: geteuid() == 0, "become test switches users: needs root"))
    func becomeRunsAsTheOtherUser() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          become: true
          become_user: nobody
          tasks:
            - command: id -un
              register: who
            - command: id -un
              register: me
              become: false
            - copy: {dest: "{{ base }}.who", content: "{{ who.stdout }} {{ me.stdout }}"}
              become: false
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.who") == "nobody root")
    }

    @Test func longTasksPrintAProgressLine() throws {
        let (dir, inv, file) = setup("- hosts: local\n  tasks:\n    - command: sleep 1\n", hosts: ["h1"])
        defer { dir.remove() }
        var options = RunOptions()
        options.progressAfter = 0.3
        let (s, out) = run(inv, file, options)
        #expect(s.exitCode == 0 && out.text.contains("[command] still running after 0s on: h1"), "\(out.text)")
    }

    @Test func parseErrorExitsOneAndTouchesNothing() throws {
        let (dir, inv, file) = setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.x", content: a}
            - copy: {dest: "{{ base }}.y", conten: a}
        """)
        defer { dir.remove() }
        let (s, _) = run(inv, file)
        #expect(s.exitCode == 1 && s.error?.contains("play.yml:4:36: copy: unknown option 'conten'") == true, "\(s.error ?? "")")
        #expect(dir.read("h1.x") == nil)
    }

    @Test func unreachableHostIsItsOwnStateExit4() throws {
        let (dir, inv, file) = setup("""
        - hosts: all
          tasks:
            - copy: {dest: "{{ base }}.x", content: a}
        """, hosts: ["h1"])
        defer { dir.remove() }
        // Nothing listens on port 1 of loopback: the SSH connect fails → unreachable.
        inv.addHost("dead", vars: ["ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_timeout": 2,
                                   "base": dir.path + "/dead", "ssh_known_hosts_file": dir.path + "/known_hosts"])
        let (s, out) = run(inv, file)
        #expect(s.exitCode == 4 && s.unreachableHosts == ["dead"], "\(out.text)")
        #expect(dir.read("h1.x") == "a" && out.text.contains("unreachable: [dead]"))
    }
}

/// JSON-lines output captured in memory.
final class CapturingJSON: OutputSink {
    var text = ""
    lazy var json = JSONOutput { [unowned self] s in self.text += s }
    func emit(_ event: RunEvent) { json.emit(event) }
}
