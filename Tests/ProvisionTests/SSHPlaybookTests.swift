// The engine over real SSH: two sshd endpoints on 127.0.0.1 (both this machine), a playbook using
// every module, run for real, again (changed=0, nothing touched) and under --check; unreachable
// and host-key-mismatch hosts are reported while the other host completes.
import Fixtures
import Foundation
import Testing
@testable import Provision

@Suite(.serialized)
struct SSHPlaybookTests {
    /// Every module. Accounts go one host at a time (both "hosts" are this machine, and
    /// useradd/groupadd refuse to run while another holds /etc/passwd's lock).
    static let everyModule = """
    - name: files, commands and control over ssh
      hosts: ssh
      gather_facts: true
      vars: {greeting: hello}
      handlers:
        - name: note change
          command: touch {{ base }}/handled
      tasks:
        - file: {path: "{{ base }}/etc", state: directory, mode: "0750"}
        - copy: {dest: "{{ base }}/etc/a.txt", content: "{{ greeting }} {{ inventory_hostname }}\\n", mode: "0600"}
          notify: note change
        - template: {src: t.j2, dest: "{{ base }}/etc/t.conf", mode: "0644"}
        - lineinfile: {path: "{{ base }}/etc/l.conf", regexp: "^port", line: "port = 5432", create: true}
        - blockinfile: {path: "{{ base }}/etc/b.conf", create: true, block: "x = 1\\ny = 2"}
        - meta: flush_handlers
        - command: touch {{ base }}/once
          args: {creates: "{{ base }}/once"}
        - shell: echo $((6*7))
          register: answer
          changed_when: false
          check_mode: false
        - set_fact: {answer_value: "{{ answer.stdout }}"}
        - assert: {that: ["answer_value | int == 42"]}
        - assert: {that: ["ansible_service_mgr is defined"]}
        - debug: {msg: "answer is {{ answer_value }}"}
        - fail: {msg: "an expected failure"}
          ignore_errors: true
        - package: {name: openssh-server, state: present}
        - command: sysctl -n kernel.pid_max
          register: pid_max
          changed_when: false
          check_mode: false
        - sysctl: {name: kernel.pid_max, value: "{{ pid_max.stdout }}", sysctl_file: "{{ base }}/sysctl.conf"}
        - wait_for: {host: 127.0.0.1, port: "{{ ansible_port }}", timeout: 5}
        - wait_for: {path: "{{ base }}", timeout: 5}
        # PID 1 on the test machine is not systemd, so systemctl cannot work here; the module's
        # planning is unit-tested, and on systemd hosts (labs) this task runs.
        - service: {name: ssh, state: started}
          when: ansible_service_mgr == 'systemd'
        # No Postgres on the bare test machine; the agent and cluster tests run real queries.
        - postgresql_query: {query: "select 1"}
          when: postgres_available | default(false)

    - name: accounts, one host at a time
      hosts: ssh
      serial: 1
      gather_facts: false
      tasks:
        - group: {name: "{{ group_name }}", state: present}
        - user: {name: "{{ user_name }}", group: "{{ group_name }}", system: true, create_home: false, shell: /usr/sbin/nologin}
    """

    func inventory(_ endpoints: [(String, SSHD)], dir: TempDir, extra: [String: [String: Any]] = [:]) -> Inventory {
        let inv = Inventory()
        for (name, sshd) in endpoints {
            var vars: [String: Any] = ["base": dir.path + "/" + name]
            for (k, v) in sshd.inventoryVariables { vars[k] = v }
            vars.merge(extra[name] ?? [:]) { _, new in new }
            inv.addHost(name, group: "ssh", vars: vars)
        }
        return inv
    }

    func run(_ inv: Inventory, _ file: String, check: Bool = false) -> (RunSummary, CapturingOutput) {
        let out = CapturingOutput()
        let runner = PlaybookRunner(inventory: inv, options: RunOptions(check: check), output: out)
        defer { runner.close() }
        return (runner.run(playbookPath: file), out)
    }

    /// inode, mtime and mode of every file under `root`.
    func snapshot(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        for rel in FileManager.default.subpaths(atPath: root) ?? [] {
            var st = stat()
            lstat(root + "/" + rel, &st)
            out[rel] = "\(st.st_ino) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_mode)"
        }
        return out
    }

    /// With exec channels, and with one long-lived shell per host (provision_persistent_shell).
    @Test(arguments: [false, true])
    func everyModuleTwiceOverSSHThenCheckChangesNothing(persistentShell: Bool) throws {
        let (sshd1, sshd2) = (try SSHD(), try SSHD())
        defer { sshd1.stop(); sshd2.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let tag = "pv" + UUID().uuidString.prefix(6).lowercased()
        var accounts: [String: [String: Any]] = [:]
        for h in ["h1", "h2"] {
            accounts[h] = ["user_name": "\(tag)u\(h)", "group_name": "\(tag)g\(h)"]
            if persistentShell { accounts[h]!["provision_persistent_shell"] = "true" }
            try FileManager.default.createDirectory(atPath: dir.path + "/" + h, withIntermediateDirectories: true)
        }
        defer {
            for h in ["h1", "h2"] {
                _ = try? runTool("/usr/sbin/userdel", ["\(tag)u\(h)"])
                _ = try? runTool("/usr/sbin/groupdel", ["\(tag)g\(h)"])
            }
        }
        let inv = inventory([("h1", sshd1), ("h2", sshd2)], dir: dir, extra: accounts)
        let file = dir.write("play/site.yml", Self.everyModule)
        dir.write("play/templates/t.j2", "name={{ inventory_hostname }}\nanswer={{ 40 + 2 }}\n")
        let hostsRoot = dir.path

        // --check on a fresh machine: reports changes, touches nothing, creates no account.
        let before = snapshot(hostsRoot)
        let (dry, dryOut) = run(inv, file, check: true)
        #expect(dry.exitCode == 0, "\(dryOut.text)")
        #expect((dry.recap["h1"]?.changed ?? 0) > 0)
        #expect(snapshot(hostsRoot) == before)
        #expect(getpwnam("\(tag)uh1") == nil && getgrnam("\(tag)gh1") == nil)

        let (first, firstOut) = run(inv, file)
        #expect(first.exitCode == 0, "\(firstOut.text)")
        for h in ["h1", "h2"] {
            #expect(first.recap[h]?.changed == 10, "\(h): \(String(describing: first.recap[h]))\n\(firstOut.text)")
            #expect(first.recap[h]?.ignored == 1 && first.recap[h]?.failed == 0)
            #expect(dir.read("\(h)/etc/a.txt") == "hello \(h)\n")
            #expect(dir.read("\(h)/etc/t.conf") == "name=\(h)\nanswer=42\n")
            #expect(dir.read("\(h)/sysctl.conf")?.hasPrefix("kernel.pid_max = ") == true)
            #expect(FileManager.default.fileExists(atPath: "\(dir.path)/\(h)/handled"))
            #expect(getpwnam("\(tag)u\(h)") != nil && getgrnam("\(tag)g\(h)") != nil)
        }
        #expect(firstOut.text.contains("answer is 42"))

        let settled = snapshot(hostsRoot)
        let (second, secondOut) = run(inv, file)
        #expect(second.exitCode == 0 && second.changedTotal == 0, "\(secondOut.text)")
        #expect(snapshot(hostsRoot) == settled)

        let (recheck, recheckOut) = run(inv, file, check: true)
        #expect(recheck.exitCode == 0 && recheck.changedTotal == 0, "\(recheckOut.text)")
        #expect(snapshot(hostsRoot) == settled)
    }

    /// Ansible content as written for Ansible: FQCN, `k=v` strings, stat / slurp / replace, a
    /// listen-only handler, retries without until, a task in check mode.
    static let ansibleContent = """
    - hosts: ssh
      handlers:
        - listen: conf changed
          ansible.builtin.file: path={{ base }}/handled state=touch
      tasks:
        - ansible.builtin.file: path={{ base }}/etc state=directory mode=0750
        - ansible.builtin.copy: dest={{ base }}/etc/pg.conf force=no content="port = 5432\\nlisten = 'localhost'\\n"
        - ansible.builtin.replace: path={{ base }}/etc/pg.conf regexp="^port = (54\\\\d\\\\d)$" replace="port = 1\\\\1"
          register: replaced
          notify: conf changed
        - ansible.builtin.stat: path={{ base }}/etc/pg.conf
          register: st
        - ansible.builtin.slurp: src={{ base }}/etc/pg.conf
          register: conf
        - ansible.builtin.shell: test -e {{ base }}/etc || exit 1
          retries: 2
          delay: 0
          changed_when: false
        - ansible.builtin.copy: dest={{ base }}/never content=x
          check_mode: true
        - ansible.builtin.fetch: src={{ base }}/etc/pg.conf dest={{ base }}/fetched/ flat=yes
        - ansible.builtin.assert:
            that:
              - replaced is not changed or replaced.msg == '1 replacements made'
              - st.stat.exists and st.stat.isreg and st.stat.mode == '0644'
              - st.stat.checksum == (conf.content | b64decode | hash('sha1'))
              - "'port = 15432' in (conf.content | b64decode)"
    """

    /// Also against an sshd without the SFTP subsystem (copy, replace and fetch then send and
    /// read files over exec channels), and with one long-lived shell for the commands.
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func ansibleContentRunsUnchangedOverSSH(withSFTP: Bool, persistentShell: Bool) throws {
        let sshd = try SSHD(withSFTP: withSFTP)
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let inv = inventory([("h1", sshd)], dir: dir, extra: persistentShell ? ["h1": ["provision_persistent_shell": "true"]] : [:])
        let file = dir.write("p.yml", Self.ansibleContent)
        let (first, out) = run(inv, file)
        #expect(first.exitCode == 0, "\(out.text) \(first.error ?? "")")
        #expect(dir.read("h1/etc/pg.conf") == "port = 15432\nlisten = 'localhost'\n")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/h1/handled") && dir.read("h1/never") == nil)
        #expect(dir.read("h1/fetched/pg.conf") == "port = 15432\nlisten = 'localhost'\n")
        let (second, out2) = run(inv, file)
        #expect(second.exitCode == 0, "\(out2.text)")
        #expect(second.recap["h1"]?.changed == 1)  // only the check-mode copy reports a change
    }

    static let small = """
    - hosts: ssh
      tasks:
        - file: {path: "{{ base }}", state: directory}
        - copy: {dest: "{{ base }}/a.txt", content: "hi\\n"}
    """

    @Test func unreachableHostIsReportedWhileTheOtherCompletes() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let inv = inventory([("up", sshd), ("down", sshd)], dir: dir,
                            extra: ["down": ["ansible_port": String(try freePort()), "ansible_timeout": "2"]])
        let (summary, out) = run(inv, dir.write("p.yml", Self.small))
        #expect(summary.exitCode == 4, "\(out.text)")
        #expect(summary.unreachableHosts == ["down"])
        #expect(summary.recap["up"]?.changed == 2 && summary.recap["up"]?.unreachable == 0)
        #expect(dir.read("up/a.txt") == "hi\n" && dir.read("down/a.txt") == nil)
        #expect(out.text.contains("unreachable: [down]") && out.text.contains("Connection refused"))
    }

    @Test func hostKeyMismatchIsRefusedWithBothFingerprints() throws {
        let (good, bad) = (try SSHD(), try SSHD())
        defer { good.stop(); bad.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        // `bad`'s known_hosts names good's host key for bad's address: a changed key.
        let forged = dir.write("known_hosts_forged",
                               "[127.0.0.1]:\(bad.port) \(try publicKeyLine(good.hostKey + ".pub"))\n")
        let inv = inventory([("good", good), ("bad", bad)], dir: dir,
                            extra: ["bad": ["ssh_known_hosts_file": forged, "host_key_checking": "accept-new"]])
        let (summary, out) = run(inv, dir.write("p.yml", Self.small))
        #expect(summary.exitCode == 4, "\(out.text)")
        #expect(summary.unreachableHosts == ["bad"] && summary.recap["good"]?.changed == 2)
        let (expected, actual) = (try good.hostKeyFingerprint(), try bad.hostKeyFingerprint())
        #expect(out.text.contains(expected) && out.text.contains(actual))
        #expect(out.text.contains("HOST KEY MISMATCH"))
        #expect(dir.read("bad/a.txt") == nil)
        #expect(try String(contentsOfFile: forged, encoding: .utf8).split(separator: "\n").count == 1)
    }

    static let asyncPlaybook = """
    - hosts: ssh
      gather_facts: false
      tasks:
        - file: {path: "{{ base }}", state: directory}
        - command: sleep 1 && echo waited
          async: 10
          poll: 2
          register: waited
        - assert: {that: ["waited.stdout == 'waited'", "waited.finished == 1", "waited is changed"]}
        - shell: sleep 1; echo done > {{ base }}/bg; echo out; echo err >&2; exit 3
          async: 30
          poll: 0
          register: job
        - stat: {path: "{{ base }}/bg"}
          register: early
        - copy: {dest: "{{ base }}/jid", content: "{{ job.ansible_job_id }}"}
        - assert: {that: ["job.ansible_job_id is defined", "job.started == 1", "job.finished == 0", "not early.stat.exists"]}
        - async_status: {jid: "{{ job.ansible_job_id }}"}
          register: status
          until: status.finished
          retries: 40
          delay: 0.25
          failed_when: false
        - assert: {that: ["status.rc == 3", "status.stdout == 'out'", "status.stderr == 'err'", "status.attempts > 1"]}
        - async_status: {jid: "{{ job.ansible_job_id }}", mode: cleanup}
        - command: sleep 5
          async: 1
          poll: 1
          register: slow
          ignore_errors: true
        - assert: {that: ["slow is failed", "'async task did not complete within the requested time - 1s' == slow.msg"]}
    """

    /// async / poll as Ansible documents them: poll > 0 waits (and fails past `async`), poll: 0
    /// returns at once with a job id that async_status reads until finished; both transports.
    @Test(arguments: [false, true])
    func asyncAndPollOverSSH(persistentShell: Bool) throws {
        let sshd = try SSHD(port: persistentShell ? 26151 : 26150)
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let inv = inventory([("h1", sshd)], dir: dir, extra: persistentShell ? ["h1": ["provision_persistent_shell": "true"]] : [:])
        let started = Date()
        let (summary, out) = run(inv, dir.write("p.yml", Self.asyncPlaybook))
        #expect(summary.exitCode == 0, "\(out.text) \(summary.error ?? "")")
        #expect(summary.recap["h1"]?.failed == 0 && summary.recap["h1"]?.ignored == 1, "\(out.text)")
        #expect(dir.read("h1/bg") == "done\n")
        #expect(Date().timeIntervalSince(started) < 20)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: NSHomeDirectory() + "/.ansible_async")) ?? []
        let jid = try #require(dir.read("h1/jid"))
        #expect(jid.range(of: #"^[0-9]{12}\.[0-9]+$"#, options: .regularExpression) != nil)
        #expect(!leftovers.contains { $0.hasPrefix(jid) })  // mode: cleanup removed its files

        let refused = dir.write("bad.yml", """
            - hosts: ssh
              tasks:
                - copy: {dest: /tmp/x, content: x}
                  async: 5
                  poll: 0
            """)
        let (bad, badOut) = run(inv, refused)
        #expect(bad.exitCode != 0)
        #expect((bad.error ?? badOut.text).contains("'poll: 0' (fire and forget) is supported for command and shell"))
    }
}
