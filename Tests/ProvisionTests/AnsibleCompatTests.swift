import Foundation
import Testing
@testable import Provision

/// Lookups, filters, loops, keywords and result keys written the way Ansible's documentation writes
/// them, run as playbooks on local hosts (real files, real commands).
@Suite struct AnsibleCompatTests {
    let engine = EngineTests()

    @Test func lookupsFiltersAndRaw() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars: {a: 1, b_one: x, b_two: y, users: {al: {uid: 1}, bo: {uid: 2}}}
          tasks:
            - set_fact:
                piped: "{{ lookup('pipe', 'echo hi; echo there') }}"
                lined: "{{ query('lines', 'echo a; echo b') }}"
                v: "{{ lookup('vars', 'a') }}"
                vdef: "{{ lookup('vars', 'nope', default='d') }}"
                names: "{{ lookup('varnames', '^b_') }}"
                itemsq: "{{ query('items', [1, [2, 3]]) }}"
                listed: "{{ lookup('list', ['p', 'q'], wantlist=True) }}"
                found: "{{ lookup('first_found', ['missing.txt', 'present.txt']) }}"
                templated: "{{ lookup('template', 't.j2') }}"
                fileread: "{{ lookup('file', 'present.txt') }}"
                extracted: "{{ ['al', 'bo'] | map('extract', users, 'uid') | list }}"
                formatted: "{{ '%s-%03d %.1f %%' | format('x', 7, 3.14159) }}"
                types: "{{ [1, 'a', 1.5, true, [], {}] | map('type_debug') | list }}"
                rawed: "{% raw %}{{ not_a_var }}{% endraw %}"
                tags: "{{ ansible_run_tags }}"
                managed: "{{ ansible_managed }}"
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("files/present.txt", "here\n")
        dir.write("templates/t.j2", "{{ a }}{% raw %}\n{{ b }} {% if %}{% endraw %}\nend\n")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(engine.facts(s, "piped") as? String == "hi\nthere")
        #expect(engine.facts(s, "lined") as? [String] == ["a", "b"])
        #expect(engine.facts(s, "v") as? Int == 1 && engine.facts(s, "vdef") as? String == "d")
        #expect(engine.facts(s, "names") as? String == "b_one,b_two")
        #expect(engine.facts(s, "itemsq") as? [Int] == [1, 2, 3] && engine.facts(s, "listed") as? [String] == ["p", "q"])
        #expect(engine.facts(s, "found") as? String == dir.path + "/files/present.txt")
        #expect(engine.facts(s, "templated") as? String == "1\n{{ b }} {% if %}end\n")
        #expect(engine.facts(s, "fileread") as? String == "here")
        #expect(engine.facts(s, "extracted") as? [Int] == [1, 2])
        #expect(engine.facts(s, "formatted") as? String == "x-007 3.1 %")
        #expect(engine.facts(s, "types") as? [String] == ["int", "str", "float", "bool", "list", "dict"])
        #expect(engine.facts(s, "rawed") as? String == "{{ not_a_var }}")
        #expect(engine.facts(s, "tags") as? [String] == ["all"] && engine.facts(s, "managed") as? String == "Ansible managed")
        let bad = dir.write("bad.yml", "- hosts: local\n  tasks:\n    - debug: {msg: \"{{ lookup('nosuch', 'x') }}\"}\n")
        let (b, bout) = engine.run(inv, bad)
        #expect(b.exitCode == 2 && bout.text.contains("lookup plugin 'nosuch' is not supported"), "\(bout.text)")
    }

    @Test func olderLoopKeywords() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - shell: echo {{ item.0 }}{{ item.1 | default('-', true) }} >> {{ base }}.together
              with_together: [[a, b, c], [1, 2]]
            - shell: echo {{ item.0 }}={{ item.1 }} >> {{ base }}.indexed
              with_indexed_items: [x, y]
            - shell: cat {{ item }} >> {{ base }}.first
              with_first_found: [missing.txt, present.txt]
            - debug: {msg: "{{ item }}"}
              with_first_found: {files: [nothing.txt], skip: true}
              register: none_found
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("files/present.txt", "here\n")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.together") == "a1\nb2\nc-\n" && dir.read("h1.indexed") == "0=x\n1=y\n")
        #expect(dir.read("h1.first") == "here\n")
        #expect((engine.facts(s, "none_found") as? [String: Any])?["skipped"] as? Bool == true)
    }

    @Test func addHostAndGroupByReachLaterPlays() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - add_host: {name: extra, groups: [made], ansible_connection: local, base: "{{ base }}-extra"}
              register: added
            - group_by: {key: "kind_{{ inventory_hostname }}"}
        - hosts: made
          tasks:
            - copy: {dest: "{{ base }}", content: "{{ groups['made'] | join(',') }}"}
        - hosts: kind_h2
          tasks:
            - copy: {dest: "{{ base }}.grouped", content: "{{ group_names | sort | join(',') }}"}
        """)
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1-extra") == "extra")
        #expect(dir.read("h2.grouped") == "kind_h2,local" && dir.read("h1.grouped") == nil)
        #expect(s.recap["h1"]?.changed == 2 && s.recap["h2"]?.changed == 2 && s.recap["extra"]?.changed == 1, "\(out.text)")
    }

    @Test func forceHandlersClearHostErrorsAndIgnoreUnreachable() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          force_handlers: true
          tasks:
            - copy: {dest: "{{ base }}.a", content: x}
              notify: h
            - command: "false"
              when: inventory_hostname == 'h1'
          handlers:
            - name: h
              copy: {dest: "{{ base }}.handled", content: y}
        """)
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 2 && s.failedHosts == ["h1"], "\(out.text)")
        #expect(dir.read("h1.handled") == "y" && dir.read("h2.handled") == "y")

        let cleared = dir.write("cleared.yml", """
        - hosts: all
          tasks:
            - command: "false"
              when: inventory_hostname == 'h1'
            - meta: clear_host_errors
            - meta: reset_connection
            - copy: {dest: "{{ base }}.after", content: x}
              ignore_unreachable: true
            - copy: {dest: "{{ base }}.later", content: x}
        """)
        inv.addHost("dead", vars: ["ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_timeout": 2,
                                   "base": dir.path + "/dead", "ssh_known_hosts_file": dir.path + "/known_hosts"])
        let (c, cout) = engine.run(inv, cleared)
        #expect(dir.read("h1.after") == "x" && dir.read("h1.later") == "x" && dir.read("h2.after") == "x", "\(cout.text)")
        #expect(c.recap["h1"]?.failed == 1 && c.exitCode == 2)
        // The ignored unreachable is ok + ignored and the host stays; the next task's counts.
        #expect(c.recap["dead"]?.unreachable == 1 && c.recap["dead"]?.ignored == 1, "\(cout.text)")
    }

    @Test func timeoutAndDiffKeywords() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - shell: sleep 5; touch {{ base }}.slept
              timeout: 1
              register: slow
              ignore_errors: true
            - copy: {dest: "{{ base }}.d", content: "fresh line\\n"}
              diff: true
            - copy: {dest: "{{ base }}.quiet", content: "hidden line\\n"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        // The command was killed at its timeout: the file it would write after 5 s never appears.
        Thread.sleep(forTimeInterval: 5)
        #expect(s.exitCode == 0 && dir.read("h1.slept") == nil, "\(out.text)")
        #expect((engine.facts(s, "slow") as? [String: Any])?["msg"] as? String
            == "The shell action failed to execute in the expected time frame (1) and was terminated")
        #expect(out.text.contains("+fresh line") && !out.text.contains("+hidden line"), "\(out.text)")
        let (_, bad) = PlaybookParserTests().error("    - command: id\n      timeout: soon\n")
        #expect(bad.contains("4:16: 'timeout' must be a positive number of seconds"), "\(bad)")
    }

    @Test func resultKeysAsAnsibleReturnsThem() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - copy: {dest: "{{ base }}.c", content: "abc", mode: "0640"}
              register: c
            - lineinfile: {path: "{{ base }}.l", line: "a = 1", create: true}
              register: l1
            - lineinfile: {path: "{{ base }}.l", regexp: "^a", line: "a = 2"}
              register: l2
            - lineinfile: {path: "{{ base }}.l", line: "a = 2"}
              register: l3
            - lineinfile: {path: "{{ base }}.l", regexp: "^a", state: absent}
              register: l4
            - lineinfile: {path: "{{ base }}.l", line: "z", mode: "0600"}
            - lineinfile: {path: "{{ base }}.l", line: "z", mode: "0640"}
              register: l5
            - blockinfile: {path: "{{ base }}.b", block: "x", create: true}
              register: b1
            - blockinfile: {path: "{{ base }}.b", block: "y"}
              register: b2
            - blockinfile: {path: "{{ base }}.b", state: absent}
              register: b3
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        func r(_ name: String) -> [String: Any] { engine.facts(s, name) as? [String: Any] ?? [:] }
        #expect(r("c")["checksum"] as? String == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(r("c")["state"] as? String == "file" && r("c")["mode"] as? String == "0640" && r("c")["size"] as? Int == 3)
        #expect(r("l1")["msg"] as? String == "line added" && r("l2")["msg"] as? String == "line replaced")
        #expect(r("l3")["msg"] as? String == "" && r("l3")["changed"] as? Bool == false)
        #expect(r("l4")["msg"] as? String == "1 line(s) removed" && r("l4")["backup"] as? String == "")
        #expect(r("l5")["msg"] as? String == "ownership, perms or SE linux context changed" && r("l5")["changed"] as? Bool == true)
        #expect(r("b1")["msg"] as? String == "File created" && r("b2")["msg"] as? String == "Block inserted")
        #expect(r("b3")["msg"] as? String == "Block removed")
        var st = stat()
        stat(dir.path + "/h1.l", &st)
        #expect(st.st_mode & 0o777 == 0o640)
    }

}
