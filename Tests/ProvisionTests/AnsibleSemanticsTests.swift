import Foundation
import Testing
@testable import Provision

/// Places where Ansible's documented behaviour is easy to get subtly wrong, each run as a
/// playbook on local hosts (real files, real commands).
@Suite struct AnsibleSemanticsTests {
    let engine = EngineTests()

    func facts(_ s: RunSummary, _ name: String, host: String = "h1") -> [String: Any] {
        s.hostFacts[host]?[name] as? [String: Any] ?? [:]
    }

    @Test func taskCheckModeOverridesTheRunsMode() throws {
        let play = """
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.dry", content: "x"}
              check_mode: true
              register: dry
            - copy: {dest: "{{ base }}.real", content: "x"}
              check_mode: false
            - copy: {dest: "{{ base }}.mode", content: "{{ ansible_check_mode }}"}
              check_mode: false
            - command: touch {{ base }}.cmd
              check_mode: true
        """
        let (dir, inv, file) = engine.setup(play, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.dry") == nil && dir.read("h1.cmd") == nil && dir.read("h1.real") == "x")
        #expect(facts(s, "dry")["changed"] as? Bool == true)
        #expect(dir.read("h1.mode") == "False")
        try FileManager.default.removeItem(atPath: dir.path + "/h1.real")
        let (checked, out2) = engine.run(inv, file, RunOptions(check: true))
        #expect(checked.exitCode == 0, "\(out2.text)")
        #expect(dir.read("h1.real") == "x" && dir.read("h1.dry") == nil)
    }

    @Test func falseWhenSkipsALoopOverAnUndefinedVariable() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - debug: {msg: "{{ item }}"}
              with_items: ["{{ undefined_var }}"]
              when: false
              register: r1
            - debug: {msg: "{{ item }}"}
              loop: "{{ undefined_var }}"
              when: "'x' == 'y'"
            - copy: {dest: "{{ base }}.after", content: "x"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(s.recap["h1"]?.skipped == 2 && dir.read("h1.after") == "x")
        #expect(facts(s, "r1")["skipped"] as? Bool == true)
        // A true `when` still needs the items.
        let failing = dir.write("fail.yml", """
        - hosts: local
          tasks:
            - debug: {msg: "{{ item }}"}
              with_items: ["{{ undefined_var }}"]
              when: true
        """)
        let (f, fout) = engine.run(inv, failing)
        #expect(f.exitCode == 2 && fout.text.contains("undefined variable 'undefined_var'"), "\(fout.text)")
    }

    @Test(arguments: ["\"false\"", "\"False\"", "\"{{ 'false' }}\"", "\"{{ flag }}\"", "false", "[true, \"false\"]"])
    func whenStringFalseSkips(when: String) throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars: {flag: "false"}
          tasks:
            - copy: {dest: "{{ base }}.x", content: "x"}
              when: \(when)
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.recap["h1"]?.skipped == 1 && dir.read("h1.x") == nil, "\(out.text)")
    }

    @Test func retriesWithoutUntilRetryUntilNotFailedAndCountAttempts() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - shell: echo x >> {{ base }}.n; [ $(wc -l < {{ base }}.n) -ge 3 ]
              retries: 5
              delay: 0
              register: third
            - shell: echo x >> {{ base }}.never; false
              retries: 2
              delay: 0
              register: never
              ignore_errors: true
            - shell: echo x >> {{ base }}.until; wc -l < {{ base }}.until
              register: counted
              until: counted.stdout | int == 2
              retries: 4
              delay: 0
            - shell: echo x >> {{ base }}.once; false
              register: once
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(facts(s, "third")["attempts"] as? Int == 3 && facts(s, "third")["failed"] as? Bool == false)
        #expect(dir.read("h1.n") == "x\nx\nx\n")
        #expect(facts(s, "never")["attempts"] as? Int == 3 && facts(s, "never")["failed"] as? Bool == true)
        #expect(dir.read("h1.never") == "x\nx\nx\n")
        #expect(facts(s, "counted")["attempts"] as? Int == 2 && dir.read("h1.until") == "x\nx\n")
        #expect(facts(s, "once")["attempts"] == nil && dir.read("h1.once") == "x\n")
    }

    @Test func loopKeywordsMakeItemsAsAnsibleDocumentsThem() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars: {nested: [[a, b], [c]], users: {bob: 1, al: 2}}
          tasks:
            - shell: echo {{ item }} >> {{ base }}.items
              with_items: "{{ nested }}"
            - shell: echo {{ item | length }} >> {{ base }}.list
              with_list: "{{ nested }}"
            - shell: echo {{ item.key }}={{ item.value }} >> {{ base }}.dict
              with_dict: "{{ users }}"
            - shell: echo {{ i }}:{{ user }} >> {{ base }}.index
              loop: [x, y]
              loop_control: {loop_var: user, index_var: i, label: "{{ user | upper }}"}
            - shell: echo {{ ansible_loop.index }}/{{ ansible_loop.length }} {{ ansible_loop.first }} {{ ansible_loop.previtem | default('-') }} >> {{ base }}.ext
              loop: [p, q]
              loop_control: {extended: true, pause: 0.01}
              register: extended
            - debug: {msg: "{{ item }}"}
              with_items: single
              register: single
            - debug: {msg: "{{ item }}"}
              loop: "{{ users }}"
              register: notalist
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.items") == "a\nb\nc\n" && dir.read("h1.list") == "2\n1\n")
        #expect(dir.read("h1.dict") == "al=2\nbob=1\n" && dir.read("h1.index") == "0:x\n1:y\n")
        #expect(out.text.contains("(item=X)") && out.text.contains("(item=Y)"), "\(out.text)")
        #expect((facts(s, "single")["results"] as? [[String: Any]])?.first?["item"] as? String == "single")
        #expect(dir.read("h1.ext") == "1/2 True -\n2/2 False p\n")
        #expect((facts(s, "extended")["results"] as? [[String: Any]])?.first?["ansible_loop_var"] as? String == "item")
        #expect(out.text.contains("Invalid data passed to 'loop', it requires a list"))
        let (_, twice) = PlaybookParserTests().error("    - debug: {msg: x}\n      loop: [1]\n      with_items: [2]\n")
        #expect(twice.contains("5:7: duplicate loop in task: 'loop' and 'with_items'"), "\(twice)")
    }

    @Test func environmentReachesCommandsFromPlayBlockAndTask() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          environment: {GREETING: hello, WHO: play}
          tasks:
            - shell: echo "$GREETING $WHO $EXTRA" > {{ base }}.env
              environment: {WHO: "{{ inventory_hostname }}", EXTRA: "a b'c"}
            - block:
                - shell: echo "$GREETING $WHO" > {{ base }}.block
              environment: {WHO: block}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.env") == "hello h1 a b'c\n" && dir.read("h1.block") == "hello block\n")
        let (_, bad) = PlaybookParserTests().error("    - command: env\n      environment: {\"A-B\": 1}\n")
        #expect(bad.contains("4:20: 'environment': 'A-B' is not a shell variable name"), "\(bad)")
    }

    @Test func actionAndLocalActionForms() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - action: shell echo {{ inventory_hostname }} > {{ base }}.action
            - local_action: copy dest={{ base }}.local content=x
              register: local
            - action:
                module: ansible.builtin.copy
                dest: "{{ base }}.mapped"
                content: y
            - local_action:
                module: command
                cmd: touch {{ base }}.cmd
                creates: "{{ base }}.cmd"
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text) \(s.error ?? "")")
        #expect(dir.read("h1.action") == "h1\n" && dir.read("h1.local") == "x" && dir.read("h1.mapped") == "y" && dir.read("h1.cmd") == "")
        let parsed = try PlaybookParser.parse(path: file).plays[0].tasks
        #expect(parsed.map(\.module) == ["shell", "copy", "copy", "command"])
        #expect(parsed.map(\.delegateTo) == [nil, "localhost", nil, "localhost"])
        let (_, bad) = PlaybookParserTests().error("    - action: frob x=1\n")
        #expect(bad.contains("3:15: action: unknown module 'frob'"), "\(bad)")
        let (_, two) = PlaybookParserTests().error("    - action: shell echo\n      copy: {dest: /x, content: a}\n")
        #expect(two.contains("4:7: task has two modules, 'shell' and 'copy'"), "\(two)")
    }

    @Test func yaml11BooleansAndOctalModesReadAsAnsibleReadsThem() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          gather_facts: no
          tasks:
            - file: {path: "{{ base }}", state: directory, mode: 0750}
              become: no
            - command: "false"
              ignore_errors: yes
            - copy: {dest: "{{ base }}/f", content: x, mode: 0640, force: yes}
              check_mode: no
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text) \(s.error ?? "")")
        var st = stat()
        stat(dir.path + "/h1", &st)
        #expect(st.st_mode & 0o7777 == 0o750)
        stat(dir.path + "/h1/f", &st)
        #expect(st.st_mode & 0o7777 == 0o640)
    }

    @Test func metaEndHostAndEndPlayLeaveThePlayWithoutFailing() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.a", content: x}
              notify: h
            - meta: end_host
              when: inventory_hostname == 'h1'
            - copy: {dest: "{{ base }}.b", content: x}
          handlers:
            - name: h
              copy: {dest: "{{ base }}.handled", content: x}
        - hosts: local
          serial: 1
          tasks:
            - copy: {dest: "{{ base }}.play2", content: x}
            - meta: end_play
            - copy: {dest: "{{ base }}.never", content: x}
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.play3", content: x}
        """)
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.failedHosts.isEmpty, "\(out.text)")
        #expect(dir.read("h1.a") == "x" && dir.read("h1.b") == nil && dir.read("h1.handled") == nil)
        #expect(dir.read("h2.a") == "x" && dir.read("h2.b") == "x" && dir.read("h2.handled") == "x")
        // serial: 1 — end_play in the first batch (h1) keeps the second batch (h2) from starting.
        #expect(dir.read("h1.play2") == "x" && dir.read("h2.play2") == nil)
        #expect(dir.read("h1.never") == nil && dir.read("h2.never") == nil)
        #expect(dir.read("h1.play3") == "x" && dir.read("h2.play3") == "x")
    }

    @Test func throttleBecomeMethodCollectionsAndUnappliedConnectionKeywords() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          collections: [community.general]
          become_method: sudo
          connection: ssh
          tasks:
            - shell: mkdir {{ base | dirname }}/lock && sleep 0.3 && rmdir {{ base | dirname }}/lock
              throttle: 1
        """)
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.recap["h1"]?.changed == 1 && s.recap["h2"]?.changed == 1, "\(out.text)")
        #expect(out.text.contains("'connection: ssh' is not applied to h1, which connects by local"), "\(out.text)")
        let (_, su) = PlaybookParserTests().error("    - command: id\n      become_method: su\n")
        #expect(su.contains("4:22: become_method 'su' is not supported (sudo)"), "\(su)")
        let (_, zero) = PlaybookParserTests().error("    - command: id\n      throttle: 0\n")
        #expect(zero.contains("4:17: 'throttle' must be a positive integer"), "\(zero)")
    }

    @Test func tildeInPathOptionsIsTheUsersHome() throws {
        let name = ".provision-test-" + UUID().uuidString.prefix(8)
        let home = String(cString: getpwuid(getuid())!.pointee.pw_dir)
        defer { try? FileManager.default.removeItem(atPath: home + "/" + name) }
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - file: path=~/\(name) state=directory
            - copy: {dest: "~/\(name)/f", content: x}
            - stat: {path: "~"}
              register: home
            - command: touch made chdir=~/\(name) creates=~/\(name)/made
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(FileManager.default.contents(atPath: home + "/" + name + "/f") == Data("x".utf8))
        #expect(FileManager.default.fileExists(atPath: home + "/" + name + "/made"))
        #expect((facts(s, "home")["stat"] as? [String: Any])?["path"] as? String == home)
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/~"))
    }

    @Test func includeVarsAndPause() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars: {port: 1}
          tasks:
            - include_vars: settings.yml
            - ansible.builtin.include_vars: {file: "{{ playbook_dir }}/vars/more.yml", name: more}
              register: included
            - pause: {seconds: 0}
            - copy: {dest: "{{ base }}.out", content: "{{ port }} {{ more.colour }} {{ included.ansible_included_var_files | length }}"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("vars/settings.yml", "port: 5432\n")
        dir.write("vars/more.yml", "colour: blue\n")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && dir.read("h1.out") == "5432 blue 1", "\(out.text)")
    }

    @Test func blockKeywordsReachTheirTasksOrAreRefused() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - block:
                - copy: {dest: "{{ base }}.checked", content: x}
              check_mode: true
            - block:
                - shell: echo {{ inventory_hostname }} >> {{ base | dirname }}/once
              run_once: true
            - block:
                - shell: echo {{ inventory_hostname }} > {{ base }}.delegated
              delegate_to: localhost
        """)
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.checked") == nil && dir.read("once") == "h1\n" && dir.read("h2.delegated") == "h2\n")
        for (keyword, at) in [("loop: [1]", "3:7"), ("register: r", "3:7"), ("retries: 2", "3:7")] {
            let (_, m) = PlaybookParserTests().error("    - block:\n        - debug: {msg: x}\n      \(keyword)\n")
            #expect(m.contains("\(at): a block takes no register / loop"), "\(m)")
        }
        dir.write("inc.yml", "- debug: {msg: x}\n")
        let (_, looped) = PlaybookParserTests().error("    - include_tasks: \(dir.path)/inc.yml\n      loop: [1, 2]\n")
        #expect(looped.contains("3:7: include_tasks is static here"), "\(looped)")
    }

    @Test func lineinfileAndBlockinfileCreateMakesParentDirectories() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - lineinfile: {path: "{{ base }}/a/b/l.conf", line: "x = 1", create: true}
            - blockinfile: {path: "{{ base }}/c/d/b.conf", block: "y = 2", create: true}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1/a/b/l.conf") == "x = 1\n")
        #expect(dir.read("h1/c/d/b.conf") == "# BEGIN ANSIBLE MANAGED BLOCK\ny = 2\n# END ANSIBLE MANAGED BLOCK\n")
    }

    @Test func fileRefusesDanglingLinksWithoutForceAndFilesThatAreDirectories() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - file: {path: "{{ base }}", state: directory}
            - file: {src: "{{ base }}/missing", path: "{{ base }}/dangling", state: link}
              register: refused
              ignore_errors: true
            - file: {src: missing, path: "{{ base }}/forced", state: link, force: true}
            - file: {path: "{{ base }}", state: file}
              register: isdir
              ignore_errors: true
            - file: {path: "{{ base }}/nothing", state: file}
              register: absent
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        let base = dir.path + "/h1"
        #expect(facts(s, "refused")["msg"] as? String
            == "src file does not exist, use \"force=yes\" if you really want to create the link: \(base)/missing")
        #expect(FileManager.default.fileExists(atPath: base + "/dangling") == false)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: base + "/forced")) == "missing")
        #expect(facts(s, "isdir")["msg"] as? String == "file (\(base)) is directory, cannot continue")
        #expect(facts(s, "absent")["msg"] as? String == "file (\(base)/nothing) is absent, cannot continue")
    }

    @Test func copyChecksumIsSHA1OfTheContent() throws {
        #expect(SHA1.hex(Data("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex(Data()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Data(String(repeating: "a", count: 1000).utf8)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.txt", content: "abc"}
              register: copied
            - copy: {dest: "{{ base }}.txt", content: "abc"}
              register: again
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(facts(s, "copied")["checksum"] as? String == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(facts(s, "again")["checksum"] as? String == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func handlerWithOnlyListenRuns() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.conf", content: "x"}
              notify: config changed
          handlers:
            - listen: config changed
              copy: {dest: "{{ base }}.handled", content: "y"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && dir.read("h1.handled") == "y", "\(out.text) \(s.error ?? "")")
        let (_, nameless) = PlaybookParserTests().error("    - command: echo\n", header: "- hosts: all\n  handlers:\n    - command: echo\n  tasks:\n")
        #expect(nameless.contains("3:7: a handler needs a name or 'listen'"), "\(nameless)")
    }

    @Test func debugVerbosityIsAThreshold() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - debug: {msg: "only with -v", verbosity: 1}
              register: shown
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (quiet, out) = engine.run(inv, file)
        #expect(quiet.recap["h1"]?.skipped == 1 && !out.text.contains("only with -v"), "\(out.text)")
        #expect(facts(quiet, "shown")["skipped_reason"] as? String == "Verbosity threshold not met.")
        let (verbose, vout) = engine.run(inv, file, RunOptions(verbosity: 1))
        #expect(verbose.recap["h1"]?.ok == 1 && vout.text.contains("only with -v"), "\(vout.text)")
    }

    @Test func fullyQualifiedModuleNames() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - ansible.builtin.file: {path: "{{ base }}", state: directory}
            - ansible.builtin.copy: {dest: "{{ base }}/a", content: "x"}
            - ansible.legacy.command: "true"
              changed_when: false
            - ansible.builtin.include_tasks: inc.yml
            - ansible.builtin.stat: {path: "{{ base }}/a"}
              register: st
            - ansible.builtin.assert: {that: ["st.stat.exists"]}
            - ansible.posix.sysctl: {name: kernel.pid_max, value: "1", sysctl_file: "{{ base }}/s.conf"}
              when: false
            - community.postgresql.postgresql_query: {query: "select 1"}
              when: false
            - ansible.builtin.systemd_service: {name: ssh, state: started}
              when: false
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("inc.yml", "- ansible.builtin.debug: msg=included\n")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && out.text.contains("included"), "\(out.text) \(s.error ?? "")")
    }

    @Test(arguments: [
        ("    - community.general.frobnicate: {a: 1}\n", "3:7: unknown module 'community.general.frobnicate'"),
        ("    - ansible.builtin.sysctl: {name: a, value: 1}\n", "3:7: unknown module 'ansible.builtin.sysctl' (did you mean 'ansible.posix.sysctl'?)"),
        ("    - ansible.posix.copy: {dest: /x, content: a}\n", "3:7: unknown module 'ansible.posix.copy' (did you mean 'ansible.builtin.copy'?)"),
    ])
    func unknownQualifiedNamesAreNamed(tasks: String, expected: String) {
        let (file, message) = PlaybookParserTests().error(tasks)
        #expect(message == "\(file):\(expected)", "\(message)")
    }
}
