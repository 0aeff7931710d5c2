import Foundation
import Testing
@testable import Provision

@Suite struct InventoryTests {
    static let yaml = """
    all:
      vars:
        level: all
        from_all: 1
      hosts:
        solo:
      children:
        db:
          vars:
            level: db
          hosts:
            db1: {ansible_host: 10.0.0.1, level: host}
            db2:
          children:
            db_east:
              vars: {level: db_east}
              hosts:
                db2:
        web:
          hosts:
            web[01:03]:
    """

    @Test func yamlFormatAndPrecedence() throws {
        let dir = TempDir(); defer { dir.remove() }
        dir.write("hosts.yml", Self.yaml)
        dir.write("group_vars/all.yml", "from_all: 2\nlab: {bridge: br0}\n")
        dir.write("host_vars/db2.yml", "own: yes\n")
        let inv = try Inventory.load(path: dir.path)
        #expect(inv.hostNames == ["solo", "db1", "db2", "web01", "web02", "web03"])
        // host > group
        #expect(inv.variables(forHost: "db1")["level"] as? String == "host")
        // child group > parent group > all
        #expect(inv.variables(forHost: "db2")["level"] as? String == "db_east")
        #expect(inv.variables(forHost: "web01")["level"] as? String == "all")
        // group_vars/all.yml merges into all's vars; host_vars too; YAML 1.1 `yes` is a bool
        #expect(inv.variables(forHost: "solo")["from_all"] as? Int == 2)
        #expect((inv.variables(forHost: "solo")["lab"] as? [String: Any])?["bridge"] as? String == "br0")
        #expect(inv.variables(forHost: "db2")["own"] as? Bool == true)
        #expect(inv.groups["ungrouped"]?.hosts == ["solo"])
        #expect(inv.groupNames(forHost: "db2") == ["db", "db_east"])
        #expect(inv.hosts(inGroup: "db") == ["db1", "db2"])
    }

    @Test func iniFormat() throws {
        let dir = TempDir(); defer { dir.remove() }
        let file = dir.write("hosts.ini", """
        loose ansible_connection=local
        [db]
        db1 ansible_host=10.0.0.1 ansible_port=2222 weight=1.5 primary=True name="a b" tags='[1, 2]'
        db2
        [db:vars]
        port=5432
        [cluster:children]
        db
        [cluster:vars]
        scope=main
        """)
        let inv = try Inventory.load(path: file)
        let v = inv.variables(forHost: "db1")
        #expect(v["ansible_port"] as? Int == 2222)
        #expect(v["weight"] as? Double == 1.5)
        #expect(v["primary"] as? Bool == true)
        #expect(v["name"] as? String == "a b")
        #expect(v["tags"] as? String == "[1, 2]")
        // [group:vars] values stay strings, as in Ansible
        #expect(v["port"] as? String == "5432")
        #expect(v["scope"] as? String == "main")
        #expect(inv.groups["ungrouped"]?.hosts == ["loose"])
        #expect(inv.groupNames(forHost: "db2") == ["cluster", "db"])
        #expect(inv.groups["all"]?.children.contains("db") == false)
        #expect(inv.graph().contains("  |--@cluster:\n  |  |--@db:\n  |  |  |--db1"))
    }

    @Test func hostsOnlyINIWithoutSuffixIsINI() throws {
        // `ansible -i inv`: a file named without .ini holding host lines and no [group] is INI
        // (Ansible's YAML plugin refuses it, the INI plugin reads it); a YAML file stays YAML.
        let dir = TempDir(); defer { dir.remove() }
        let file = dir.write("inv", "localhost ansible_connection=local\nweb1 ansible_host=10.0.0.5\n")
        let inv = try Inventory.load(path: file)
        #expect(inv.hostNames == ["localhost", "web1"])
        #expect(inv.variables(forHost: "localhost")["ansible_connection"] as? String == "local")
        #expect(inv.variables(forHost: "web1")["ansible_host"] as? String == "10.0.0.5")
        let yaml = dir.write("inv2", "all:\n  hosts:\n    db1:\n")
        #expect(try Inventory.load(path: yaml).hostNames == ["db1"])
        let bad = dir.write("bad.yml", "localhost ansible_connection=local\n")
        #expect(throws: ProvisionError.self) { try Inventory.load(path: bad) }
    }

    @Test(arguments: [
        ("all", ["solo", "db1", "db2", "web01", "web02", "web03"]),
        ("db", ["db1", "db2"]),
        ("db:web01", ["db1", "db2", "web01"]),
        ("db,web01", ["db1", "db2", "web01"]),
        ("db:&db_east", ["db2"]),
        ("db:!db_east", ["db1"]),
        ("web0*", ["web01", "web02", "web03"]),
        ("web0[12]", ["web01", "web02"]),
        ("~^db\\d$", ["db1", "db2"]),
        ("!web", ["solo", "db1", "db2"]),
        ("nothing", []),
    ])
    func patterns(pattern: String, expected: [String]) throws {
        let dir = TempDir(); defer { dir.remove() }
        let inv = try Inventory.load(path: dir.write("inv.yml", Self.yaml))
        #expect(try inv.hosts(matching: pattern) == expected)
    }

    @Test func yamlErrorNamesFileLineColumn() throws {
        let dir = TempDir(); defer { dir.remove() }
        let file = dir.write("hosts.yml", "all:\n  hosts:\n    a: {x: 1\n  vars: [\n")
        #expect {
            try Inventory.load(path: file)
        } throws: { error in
            "\(error)".hasPrefix(file + ":") && "\(error)".contains("YAML syntax error")
        }
        let bad = dir.write("bad.yml", "all:\n  hostz: {}\n")
        #expect { try Inventory.load(path: bad) } throws: { "\($0)" == "\(bad):2:3: unknown key 'hostz' in group 'all' (expected hosts, children, vars)" }
    }

    @Test func listJSONShape() throws {
        let dir = TempDir(); defer { dir.remove() }
        let inv = try Inventory.load(path: dir.write("inv.yml", Self.yaml))
        let list = inv.listJSON()
        let meta = (list["_meta"] as? [String: Any])?["hostvars"] as? [String: Any]
        #expect((meta?["db1"] as? [String: Any])?["ansible_host"] as? String == "10.0.0.1")
        #expect((list["db"] as? [String: Any])?["children"] as? [String] == ["db_east"])
        #expect((list["all"] as? [String: Any])?["children"] as? [String] == ["ungrouped", "db", "web"])
    }

    @Test func connectorBuildsTargetsFromVariables() throws {
        let vars: [String: Any] = ["ansible_host": "127.0.0.1", "ansible_port": 2201, "ansible_user": "deploy",
                                   "ansible_ssh_private_key_file": "/k/id", "ssh_known_hosts_file": "/k/known",
                                   "host_key_checking": "accept-new"]
        let t = Connector.sshTarget(forHost: "h", variables: vars)
        #expect(t == SSHTarget(address: "127.0.0.1", port: 2201, user: "deploy", privateKeyFiles: ["/k/id"],
                               knownHostsFile: "/k/known", hostKeyPolicy: .acceptNew))
        let d = Connector.sshTarget(forHost: "h2", variables: [:])
        #expect(d.address == "h2" && d.port == 22 && d.user == Connector.currentUser() && d.hostKeyPolicy == .strict)
        #expect(d.knownHostsFile.hasSuffix("/.ssh/known_hosts"))
        // One long-lived shell per host by default; Ansible's spellings of false turn it off.
        #expect(d.persistentShell)
        for off: Any in ["false", "no", "0", "off", "False", "OFF", false, 0] {
            #expect(!Connector.sshTarget(forHost: "h", variables: ["provision_persistent_shell": off]).persistentShell, "\(off)")
        }
        for on: Any in ["true", "yes", true] {
            #expect(Connector.sshTarget(forHost: "h", variables: ["provision_persistent_shell": on]).persistentShell, "\(on)")
        }
        let local = try Connector.transport(forHost: "l", variables: ["ansible_connection": "local"])
        #expect(local is LocalTransport)
    }

    @Test func localTransportRunsAndPutsAtomically() throws {
        let dir = TempDir(); defer { dir.remove() }
        let t = LocalTransport(hostName: "localhost")
        let r = try t.run("cat; echo err >&2; exit 3", input: Data("hello".utf8))
        #expect(r == CommandResult(exitStatus: 3, stdout: "hello", stderr: "err\n"))
        try t.put(Data("x".utf8), to: dir.path + "/f", mode: 0o640)
        #expect(try t.get(dir.path + "/f") == Data("x".utf8))
        #expect(try t.get(dir.path + "/missing") == nil)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.path + "/f")
        #expect((attrs[.posixPermissions] as? Int) == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f"])
    }
}
