import Foundation
import Testing
@testable import Provision

@Suite struct PlaybookParserTests {
    /// Parses `body` (after a standard play header) and returns the error text.
    func error(_ tasks: String, header: String = "- hosts: all\n  tasks:\n") -> (String, String) {
        let dir = TempDir(); defer { dir.remove() }
        let file = dir.write("play.yml", header + tasks)
        do {
            _ = try PlaybookParser.parse(path: file)
            return (file, "no error")
        } catch {
            return (file, "\(error)")
        }
    }

    @Test(arguments: [
        ("    - name: a\n      copyy: {dest: /x}\n", "4:7: unknown module or task keyword 'copyy'"),
        ("    - copy: {dset: /x, content: a}\n", "3:14: copy: unknown option 'dset'"),
        ("    - file: {state: directory}\n", "3:7: file: missing required option 'path'"),
        ("    - file: {path: /x, state: gone}\n", "3:24: file: option 'state' must be one of"),
        ("    - command: echo\n      retries: many\n", "4:16: 'retries' must be a non-negative integer"),
        ("    - command: echo\n      ignore_errors: perhaps\n", "4:22: 'ignore_errors' must be a boolean"),
        ("    - copy: {dest: [1], content: a}\n", "3:14: copy: option 'dest' must be string, got list"),
        ("    - command: echo\n      shell: echo\n", "4:7: task has two modules, 'command' and 'shell'"),
        ("    - name: x\n      when: a\n", "3:7: task has no module"),
        ("    - copy: {dest: /x, content: [a\n", "YAML syntax error"),
        ("    - copy: dest=/x bogus=1\n", "3:13: copy: unknown option 'bogus'"),
        ("    - user: {name: u, uid: abc}\n", "3:23: user: option 'uid' must be int, got string"),
        ("    - debug: {msg: \"{{ x | frobnicate }}\"}\n", "3:15: debug: option 'msg': unknown filter 'frobnicate'"),
        ("    - command: echo\n      when: x ==\n", "4:13: 'when': expression 'x ==': unexpected end of expression"),
        ("    - command: echo\n      notify: nobody\n", "3:7: task 'command' notifies 'nobody', which is not a handler of this play"),
        ("    - assert: {that: [\"a and or b\"]}\n", "3:16: assert: option 'that': expression 'a and or b': unexpected 'or'"),
    ])
    func validationErrorsNameFileLineColumn(tasks: String, expected: String) {
        let (file, message) = error(tasks)
        #expect(message.hasPrefix(file + ":"), "\(message)")
        #expect(message.contains(expected), "\(message)")
    }

    @Test func unknownPlayKeywordAndMissingHosts() {
        let (file, m1) = error("", header: "- hosts: all\n  taskz: []\n")
        #expect(m1 == "\(file):2:3: unknown play keyword 'taskz'")
        let (file2, m2) = error("", header: "- name: p\n  tasks: []\n")
        #expect(m2 == "\(file2):1:3: play has no 'hosts'")
    }

    @Test func parsesKeywordsKeyValueArgsIncludesAndImports() throws {
        let dir = TempDir(); defer { dir.remove() }
        dir.write("inc.yml", "- name: included\n  debug: msg=hi\n")
        dir.write("other.yml", "- hosts: db\n  tasks: [{command: 'true'}]\n")
        let file = dir.write("play.yml", """
        - name: main
          hosts: web:&prod
          serial: [1, "50%"]
          max_fail_percentage: 20
          become: true
          vars: {a: 1}
          tasks:
            - name: run it
              ansible.builtin.command: echo hi creates=/tmp/x
              register: out
              when: a == 1
              notify: [h1]
              loop: [1, 2]
              loop_control: {loop_var: n}
              until: out.rc == 0
              retries: 2
              delay: 0
              tags: [t1]
              no_log: true
            - include_tasks: inc.yml
              when: a == 2
            - block:
                - copy: dest=/tmp/y content=z mode=0600
              become_user: postgres
          handlers:
            - name: h1
              command: 'true'
        - import_playbook: other.yml
        """)
        let pb = try PlaybookParser.parse(path: file)
        #expect(pb.plays.count == 2)
        let p = pb.plays[0]
        #expect(p.serial == [.count(1), .percent(50)])
        #expect(p.maxFailPercentage == 20 && p.become)
        let t = p.tasks[0]
        #expect(t.module == "command" && t.args["cmd"] as? String == "echo hi" && t.args["creates"] as? String == "/tmp/x")
        #expect(t.register == "out" && t.notify == ["h1"] && t.loopVar == "n" && t.retries == 2 && t.noLog && t.tags == ["t1"])
        #expect(p.tasks[1].name == "included" && p.tasks[1].when.count == 1)
        #expect(p.tasks[2].module == "copy" && p.tasks[2].becomeUser == "postgres" && p.tasks[2].args["mode"] as? String == "0600")
        #expect(p.handlers.first?.name == "h1")
        #expect(pb.plays[1].hosts == "db")
    }
}
