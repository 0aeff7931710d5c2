// Ansible roles: layout, search path, precedence, dependencies and include_role, parsed for
// real from files and run over a loopback sshd.
import Fixtures
import Foundation
import Testing
@testable import Provision

@Suite(.serialized)
struct RoleTests {
    /// A playbook with pre_tasks, two roles sharing a dependency, include_role and a handler.
    static func writeRoles(_ dir: TempDir) -> String {
        let log = "changed_when: false"
        dir.write("play/roles/dep/tasks/main.yml", "- shell: echo dep-{{ role_name }} >> {{ base }}/order\n  \(log)\n")
        dir.write("play/roles/web/meta/main.yml", "dependencies:\n  - dep\n")
        dir.write("play/roles/web/defaults/main.yml", "color: default\nsize: small\n")
        dir.write("play/roles/web/vars/main.yml", "port_v: role\n")
        dir.write("play/roles/web/files/motd.txt", "from role files\n")
        dir.write("play/roles/web/templates/web.conf.j2", "color={{ color }} size={{ size }} port={{ port_v }} role={{ role_name }} path={{ role_path }}\n")
        dir.write("play/roles/web/handlers/main.yml", "- name: restart web\n  shell: echo handler-{{ role_name }} >> {{ base }}/order\n")
        dir.write("play/roles/web/tasks/main.yml", """
            - copy: {src: motd.txt, dest: "{{ base }}/motd"}
              notify: restart web
            - template: {src: web.conf.j2, dest: "{{ base }}/web.conf"}
            - shell: echo web >> {{ base }}/order
              \(log)

            """)
        dir.write("play/roles/db/meta/main.yml", "dependencies: [{role: dep}]\n")
        dir.write("play/roles/db/defaults/main.yml", "flavour: plain\n")
        dir.write("play/roles/db/tasks/main.yml", "- shell: echo db >> {{ base }}/order\n  \(log)\n")
        dir.write("play/roles/db/tasks/extra.yml", "- shell: echo db-extra-{{ flavour }}-{{ port_v | default('none') }} >> {{ base }}/order\n  \(log)\n")
        return dir.write("play/site.yml", """
            - hosts: ssh
              tasks:
                - include_role: {name: db, tasks_from: extra.yml}
                - shell: echo task >> {{ base }}/order
                  \(log)
              roles:
                - web
                - {role: db, tags: [dbt]}
              pre_tasks:
                - shell: echo pre >> {{ base }}/order
                  \(log)

            """)
    }

    @Test func rolesRunOverSSHWithPrecedenceDependenciesHandlersAndFiles() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let file = Self.writeRoles(dir)
        try FileManager.default.createDirectory(atPath: dir.path + "/h1", withIntermediateDirectories: true)
        let inv = Inventory()
        var vars: [String: Any] = ["base": dir.path + "/h1", "color": "inventory", "port_v": "inventory"]
        for (k, v) in sshd.inventoryVariables { vars[k] = v }
        inv.addHost("h1", group: "ssh", vars: vars)
        func run() -> (RunSummary, CapturingOutput) {
            let out = CapturingOutput()
            let runner = PlaybookRunner(inventory: inv, options: RunOptions(), output: out)
            defer { runner.close() }
            return (runner.run(playbookPath: file), out)
        }
        let (first, out) = run()
        #expect(first.exitCode == 0, "\(out.text)")
        #expect(first.recap["h1"]?.changed == 3, "\(out.text)")  // copy, template, handler
        // pre_tasks, the shared dependency once and first, the roles, include_role, tasks, handler.
        #expect(dir.read("h1/order") == "pre\ndep-dep\nweb\ndb\ndb-extra-plain-inventory\ntask\nhandler-web\n")
        #expect(dir.read("h1/motd") == "from role files\n")
        // Defaults lose to inventory vars; role vars win over them (and stay in their role).
        #expect(dir.read("h1/web.conf") == "color=inventory size=small port=role role=web path=\(dir.path)/play/roles/web\n")

        try FileManager.default.removeItem(atPath: dir.path + "/h1/order")
        let (second, out2) = run()
        #expect(second.exitCode == 0 && second.changedTotal == 0, "\(out2.text)")
        #expect(dir.read("h1/order") == "pre\ndep-dep\nweb\ndb\ndb-extra-plain-inventory\ntask\n")
    }

    func parse(_ dir: TempDir, _ play: String) throws -> Playbook {
        try PlaybookParser.parse(path: dir.write("pb/site.yml", play))
    }

    func roleNames(_ pb: Playbook) -> [String] { pb.plays[0].tasks.map { $0.role?.name ?? "-" } }

    @Test func roleNotFoundNamesThePathsSearchedAndTheReference() throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            _ = try parse(dir, "- hosts: all\n  roles:\n    - nosuch\n")
            Issue.record("expected an error")
        } catch let e as ProvisionError {
            #expect(e.message.contains("role 'nosuch' not found"))
            #expect(e.message.contains("\(dir.path)/pb/roles"))
            #expect(e.location?.file.hasSuffix("pb/site.yml") == true && e.location?.line == 3)
        }
        do {
            _ = try parse(dir, "- hosts: all\n  tasks:\n    - name: x\n      include_role: {name: gone}\n")
            Issue.record("expected an error")
        } catch let e as ProvisionError {
            #expect(e.message.contains("role 'gone' not found") && e.location?.line == 4)
        }
    }

    @Test func rolesPathFromAnsibleCfgBesideThePlaybook() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("shared/r1/tasks/main.yml", "- debug: {msg: hi}\n")
        dir.write("pb/ansible.cfg", "[defaults]\nroles_path = ../shared\n")
        let pb = try parse(dir, "- hosts: all\n  roles: [r1]\n")
        #expect(roleNames(pb) == ["r1"])
        #expect(pb.plays[0].tasks[0].role?.path == "\(dir.path)/shared/r1")
    }

    @Test func duplicatesRunOncePerParameterSetUnlessAllowed() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("pb/roles/x/tasks/main.yml", "- debug: {msg: x}\n")
        dir.write("pb/roles/y/tasks/main.yml", "- debug: {msg: y}\n")
        dir.write("pb/roles/y/meta/main.yml", "allow_duplicates: true\n")
        let pb = try parse(dir, """
            - hosts: all
              roles: [x, x, {role: x, p: 1}, y, y]
              tasks:
                - import_role: {name: x}

            """)
        #expect(roleNames(pb) == ["x", "x", "y", "y", "x"])
        #expect(pb.plays[0].tasks[1].vars["p"] as? Int == 1)
    }

    @Test func includeRolePicksOtherFilesAndApplyKeywords() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("pb/roles/r/tasks/other.yml", "- debug: {msg: o}\n")
        dir.write("pb/roles/r/vars/alt.yml", "v: alt\n")
        dir.write("pb/roles/r/defaults/alt.yml", "d: alt\n")
        dir.write("pb/roles/r/handlers/alt.yml", "- name: h\n  debug: {msg: h}\n")
        let pb = try parse(dir, """
            - hosts: all
              tasks:
                - include_role: {name: r, tasks_from: other, vars_from: alt, defaults_from: alt, handlers_from: alt, apply: {tags: [t1]}}
                  when: go

            """)
        let t = pb.plays[0].tasks[0]
        #expect(t.role?.vars["v"] as? String == "alt" && t.role?.defaults["d"] as? String == "alt")
        #expect(t.tags == ["t1"] && t.when.map { Values.string($0) } == ["go"])
        #expect(pb.plays[0].handlers.map(\.name) == ["h"])
        #expect(throws: ProvisionError.self) { try parse(dir, "- hosts: all\n  tasks:\n    - include_role: {name: r, tasks_from: nope}\n") }
    }

    @Test func dependencyLoopIsRefused() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("pb/roles/a/meta/main.yml", "dependencies: [b]\n")
        dir.write("pb/roles/b/meta/main.yml", "dependencies: [a]\n")
        #expect(throws: ProvisionError.self) { try parse(dir, "- hosts: all\n  roles: [a]\n") }
    }
}
