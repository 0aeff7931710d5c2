import Foundation
import Testing
@testable import Provision
import ProvisionTestSupport

/// Planning of each module against a scripted transport: what it reads, what it sends, and
/// that it sends nothing when the facts already match (or under --check).
@Suite struct ModuleTests {
    func ctx(_ t: RecordingTransport, check: Bool = false, diff: Bool = false, vars: [String: Any] = [:],
             become: String? = nil, dir: String = ".") -> ModuleContext {
        ModuleContext(host: "h", transport: t, check: check, diff: diff, becomeUser: become,
                      templater: Templater(variables: vars), playbookDir: dir)
    }
    func run(_ m: ProvisionModule.Type, _ args: [String: Any], _ c: ModuleContext) throws -> ModuleResult {
        try m.run(ModuleArgs(args, module: m.name), c)
    }
    /// Facts reply for FileFacts.gather: stat line, link target, sha256, optional content.
    func stat(_ t: RecordingTransport, _ type: String, mode: String = "644", sha: String = "", content: String? = nil) {
        var out = "\(type)|\(mode)|root|root\n\n\(sha)\n"
        if let content { out += "__CONTENT__\n\(Data(content.utf8).base64EncodedString())\n" }
        t.reply("stat -c", stdout: out)
    }

    /// Facts reply for the file module: the path's stat line (`P:`), link target (`T:`), the
    /// link / hard-link source (`S:`).
    func pathStat(_ t: RecordingTransport, _ type: String?, mode: String = "644", nlink: Int = 1, inode: Int = 7,
                  target: String = "", source: String? = nil) {
        func line(_ type: String?, _ mode: String) -> String {
            type.map { "\($0)|\(mode)|root|root|0|0|3|\(nlink)|\(inode)|1.000000000|1.000000000" } ?? "__MISSING__"
        }
        t.reply("st() { stat -c", stdout: "P:\(line(type, mode))\nT:\(target)\n" + (source.map { "S:\($0)\n" } ?? ""))
    }

    @Test func fileDirectoryCreatesOnceAndHonoursCheck() throws {
        let missing = RecordingTransport(); pathStat(missing, nil)
        let r = try run(FileModule.self, ["path": "/d", "state": "directory", "mode": "0750"], ctx(missing))
        #expect(r.changed && missing.commands.last?.hasPrefix("mkdir -p -- /d && chmod 750 -- /d && stat -c ") == true)
        let checked = RecordingTransport(); pathStat(checked, nil)
        let c = try run(FileModule.self, ["path": "/d", "state": "directory"], ctx(checked, check: true, diff: true))
        #expect(c.changed && checked.commands.count == 1 && c.diff?.contains("+state: directory") == true)
        let present = RecordingTransport(); pathStat(present, "directory", mode: "750")
        let ok = try run(FileModule.self, ["path": "/d", "state": "directory", "mode": "0750"], ctx(present))
        #expect(!ok.changed && present.commands.count == 1)
        #expect(ok.data["mode"] as? String == "0750" && ok.data["state"] as? String == "directory" && ok.data["uid"] as? Int == 0)
    }

    @Test func fileNewDirectoryGetsItsOwnerAndGroup() throws {
        // A path still to be made has no owner to compare with: chown and chgrp are always sent
        // (the etcd data directory of the cluster playbooks, owner etcd, mode 0700).
        let missing = RecordingTransport(); pathStat(missing, nil)
        let r = try run(FileModule.self, ["path": "/d", "state": "directory", "owner": "etcd", "group": "etcd", "mode": "0700"], ctx(missing))
        #expect(r.changed && missing.commands.last?.hasPrefix("mkdir -p -- /d && chmod 700 -- /d && chown etcd -- /d && chgrp etcd -- /d && stat -c ") == true)
        let present = RecordingTransport(); pathStat(present, "directory", mode: "700")
        let same = try run(FileModule.self, ["path": "/d", "state": "directory", "owner": "root", "group": "0", "mode": "0700"], ctx(present))
        #expect(!same.changed && present.commands.count == 1)
    }

    @Test func fileStateFileOnADeviceSetsItsGroup() throws {
        // The cluster playbooks' /dev/watchdog: a character device is a `file` to Ansible.
        let dev = RecordingTransport(); pathStat(dev, "character special file", mode: "600")
        let r = try run(FileModule.self, ["path": "/dev/watchdog", "state": "file", "group": "postgres", "mode": "0660"], ctx(dev))
        #expect(r.failed == false && r.changed)
        #expect(dev.commands.last?.hasPrefix("chmod 660 -- /dev/watchdog && chgrp postgres -- /dev/watchdog && stat -c ") == true)
        let dir = RecordingTransport(); pathStat(dir, "directory", mode: "755")
        #expect(try run(FileModule.self, ["path": "/d", "state": "file"], ctx(dir)).failed)
    }

    @Test func fileRecurseFixesOwnershipOnlyWhenSomethingDiffers() throws {
        // The owner matches at the top and differs below.
        let t = RecordingTransport(); pathStat(t, "directory", mode: "700"); t.reply("find", stdout: "/d/x\n")
        let r = try run(FileModule.self, ["path": "/d", "state": "directory", "owner": "root", "recurse": true], ctx(t))
        #expect(r.changed && t.commands.last?.hasPrefix("chown -R root -- /d && stat -c ") == true)
        let ok = RecordingTransport(); pathStat(ok, "directory", mode: "700")
        #expect(try !run(FileModule.self, ["path": "/d", "state": "directory", "owner": "root", "recurse": true], ctx(ok)).changed)
        #expect(ok.commands.count == 2)
    }

    @Test func fileLinkAbsentAndTouch() throws {
        let t = RecordingTransport(); pathStat(t, "symbolic link", mode: "777", target: "/a", source: "regular file|644|root|root|0|0|3|1|9|1.0|1.0")
        #expect(try !run(FileModule.self, ["path": "/l", "src": "/a", "state": "link"], ctx(t)).changed)
        let t2 = RecordingTransport(); pathStat(t2, "symbolic link", mode: "777", target: "/old", source: "regular file|644|root|root|0|0|3|1|9|1.0|1.0")
        #expect(try run(FileModule.self, ["path": "/l", "src": "/a", "state": "link"], ctx(t2)).changed)
        #expect(t2.commands.last?.hasPrefix("ln -sfn -- /a /l && stat -c ") == true)
        let t3 = RecordingTransport(); pathStat(t3, nil)
        #expect(try !run(FileModule.self, ["path": "/x", "state": "absent"], ctx(t3)).changed && t3.commands.count == 1)
        let t4 = RecordingTransport(); pathStat(t4, "regular file")
        #expect(try !run(FileModule.self, ["path": "/x", "state": "touch"], ctx(t4)).changed)
    }

    @Test(arguments: [
        ("202401020304.05", "%Y%m%d%H%M.%S", "2024-01-02 03:04:05"),
        ("2024-01-02 3:04 PM", "%Y-%m-%d %I:%M %p", "2024-01-02 15:04:00"),
        ("02 Jan 2024", "%d %b %Y", "2024-01-02 00:00:00"),
        ("12:30", "%H:%M", "1900-01-01 12:30:00"),
    ])
    func fileTimesParseAsPythonStrptime(_ text: String, _ format: String, _ wall: String) {
        #expect(TimeSpec.parse(text, format) == wall)
    }

    @Test func fileTimesRefuseWhatTheFormatDoesNotMatch() {
        #expect(TimeSpec.parse("2024-01-02", "%Y%m%d%H%M.%S") == nil && TimeSpec.parse("202401020304.05x", "%Y%m%d%H%M.%S") == nil)
    }

    @Test func copyComparesChecksumsAndWritesAtomically() throws {
        let same = RecordingTransport(); stat(same, "regular file", sha: SHA256.hex(Data("hi\n".utf8)))
        let ok = try run(CopyModule.self, ["dest": "/f", "content": "hi\n"], ctx(same))
        #expect(!ok.changed && same.puts.isEmpty)
        let differ = RecordingTransport(); stat(differ, "regular file", mode: "600", sha: "00")
        differ.files["/f"] = Data("old\n".utf8)
        let ch = try run(CopyModule.self, ["dest": "/f", "content": "hi\n"], ctx(differ, diff: true))
        #expect(ch.changed && differ.puts == [RecordingTransport.Put(path: "/f", data: Data("hi\n".utf8), mode: 0o600)])
        // The new file replaced the old one: the old owner is set again.
        #expect(differ.commands.last == "chown root:root /f")
        let owned = RecordingTransport()
        owned.reply("stat -c", stdout: "regular file|600|postgres|postgres\n\n00\n")
        _ = try run(CopyModule.self, ["dest": "/f", "content": "new\n", "owner": "postgres", "group": "postgres"], ctx(owned))
        #expect(owned.puts.count == 1 && owned.commands.last == "chown postgres:postgres /f", "\(owned.commands)")
        #expect(ch.diff?.contains("-old\n+hi\n") == true)
        let check = RecordingTransport(); stat(check, "regular file", sha: "00")
        #expect(try run(CopyModule.self, ["dest": "/f", "content": "x"], ctx(check, check: true)).changed && check.puts.isEmpty)
        let mode = RecordingTransport(); stat(mode, "regular file", mode: "644", sha: SHA256.hex(Data("x".utf8)))
        #expect(try run(CopyModule.self, ["dest": "/f", "content": "x", "mode": "0600", "owner": "postgres"], ctx(mode)).changed)
        #expect(mode.puts.isEmpty && mode.commands.last == "chown postgres /f && chmod 600 /f")
    }

    @Test func templateRendersWithHostVariablesAndRejectsUndefined() throws {
        let dir = TempDir(); defer { dir.remove() }
        dir.write("templates/t.j2", "port={{ port }}\n{% for u in users %}{{ u }}\n{% endfor %}")
        let t = RecordingTransport(); t.reply("stat -c", stdout: "__MISSING__\n")
        let r = try run(TemplateModule.self, ["src": "t.j2", "dest": "/etc/x"], ctx(t, vars: ["port": 5432, "users": ["a", "b"]], dir: dir.path))
        #expect(r.changed && t.puts.first?.data == Data("port=5432\na\nb\n".utf8) && t.puts.first?.mode == 0o644)
        #expect(throws: UndefinedVariableError(name: "users", location: dir.path + "/templates/t.j2:2")) {
            try run(TemplateModule.self, ["src": "t.j2", "dest": "/etc/x"], ctx(RecordingTransport(), vars: ["port": 1], dir: dir.path))
        }
    }

    @Test func lineinfileReplacesInsertsOrLeavesAlone() throws {
        let conf = "a = 1\nport = 5432\n"
        let same = RecordingTransport(); stat(same, "regular file", content: conf)
        #expect(try !run(LineInFileModule.self, ["path": "/c", "regexp": "^port", "line": "port = 5432"], ctx(same)).changed)
        #expect(same.puts.isEmpty)
        let repl = RecordingTransport(); stat(repl, "regular file", content: conf)
        #expect(try run(LineInFileModule.self, ["path": "/c", "regexp": "^port", "line": "port = 6000"], ctx(repl)).changed)
        #expect(repl.puts.first?.data == Data("a = 1\nport = 6000\n".utf8))
        let ins = RecordingTransport(); stat(ins, "regular file", content: conf)
        _ = try run(LineInFileModule.self, ["path": "/c", "line": "b = 2", "insertafter": "^a ="], ctx(ins))
        #expect(ins.puts.first?.data == Data("a = 1\nb = 2\nport = 5432\n".utf8))
        let del = RecordingTransport(); stat(del, "regular file", content: conf)
        _ = try run(LineInFileModule.self, ["path": "/c", "regexp": "^a", "state": "absent"], ctx(del))
        #expect(del.puts.first?.data == Data("port = 5432\n".utf8))
    }

    @Test func blockinfileInsertsAndReplacesBetweenMarkers() throws {
        let t = RecordingTransport(); stat(t, "regular file", content: "top\n")
        _ = try run(BlockInFileModule.self, ["path": "/c", "block": "x\ny\n"], ctx(t))
        let withBlock = "top\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n"
        #expect(t.puts.first?.data == Data(withBlock.utf8))
        let again = RecordingTransport(); stat(again, "regular file", content: withBlock)
        #expect(try !run(BlockInFileModule.self, ["path": "/c", "block": "x\ny\n"], ctx(again)).changed)
        let rm = RecordingTransport(); stat(rm, "regular file", content: withBlock)
        _ = try run(BlockInFileModule.self, ["path": "/c", "state": "absent"], ctx(rm))
        #expect(rm.puts.first?.data == Data("top\n".utf8))
    }

    @Test func commandCreatesCheckModeAndFailure() throws {
        let t = RecordingTransport(); t.reply("initdb", stdout: "__PROVISION_SKIP__ /pg exists\n")
        let skip = try run(CommandModule.self, ["cmd": "initdb /pg", "creates": "/pg"], ctx(t))
        #expect(!skip.changed && t.commands == ["if [ -e /pg ]; then echo __PROVISION_SKIP__ /pg exists; exit 0; fi; initdb /pg"])
        let fail = RecordingTransport(); fail.reply("false", exit: 3, stderr: "boom\n")
        let f = try run(ShellModule.self, ["cmd": "false"], ctx(fail))
        #expect(f.failed && f.data["rc"] as? Int == 3 && f.data["stderr"] as? String == "boom")
        let chk = RecordingTransport()
        let c = try run(CommandModule.self, ["cmd": "rm -rf /"], ctx(chk, check: true))
        #expect(c.skipped && chk.commands.isEmpty)
    }

    @Test func becomeWrapsCommandsInSudo() throws {
        let t = RecordingTransport()
        _ = try run(CommandModule.self, ["cmd": "whoami"], ctx(t, become: "postgres"))
        #expect(t.commands == ["sudo -n -H -u postgres sh -c whoami"])
        let root = RecordingTransport()
        _ = try CommandModule.run(ModuleArgs(["cmd": "whoami"], module: "command"),
                                  ModuleContext(host: "h", transport: root, becomeUser: "postgres", connectedAsRoot: true))
        #expect(root.commands == ["runuser -u postgres -- sh -c whoami"])
    }

    @Test func packageInstallsOnlyWhatIsMissing() throws {
        let t = RecordingTransport()
        t.reply("dpkg-query", stdout: "haproxy\tinstall ok installed\t2.6\netcd-server\tunknown ok not-installed\t\n__POLICY__\n")
        let r = try run(PackageModule.self, ["name": ["haproxy", "etcd-server"]], ctx(t))
        #expect(r.changed && t.commands.last == "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server")
        let none = RecordingTransport(); none.reply("dpkg-query", stdout: "haproxy\tinstall ok installed\t2.6\n__POLICY__\n")
        #expect(try !run(PackageModule.self, ["name": "haproxy"], ctx(none)).changed && none.commands.count == 1)
        let gone = RecordingTransport(); gone.reply("dpkg-query", stdout: "__POLICY__\n")
        #expect(try !run(PackageModule.self, ["name": "haproxy", "state": "absent"], ctx(gone)).changed)
    }

    @Test func serviceStartsEnablesOnlyWhenNeeded() throws {
        let t = RecordingTransport(); t.reply("is-active", stdout: "inactive\ndisabled\n")
        let r = try run(ServiceModule.self, ["name": "etcd", "state": "started", "enabled": true], ctx(t))
        #expect(r.changed && t.commands.last == "systemctl start etcd && systemctl enable etcd")
        let ok = RecordingTransport(); ok.reply("is-active", stdout: "active\nenabled\n")
        #expect(try !run(ServiceModule.self, ["name": "etcd", "state": "started", "enabled": "yes"], ctx(ok)).changed)
        #expect(ok.commands.count == 1)
        let rs = RecordingTransport(); rs.reply("is-active", stdout: "active\nenabled\n")
        #expect(try run(ServiceModule.self, ["name": "etcd", "state": "restarted", "daemon_reload": true], ctx(rs)).changed)
        #expect(rs.commands == ["systemctl daemon-reload", "systemctl is-active etcd 2>/dev/null; systemctl is-enabled etcd 2>/dev/null; true", "systemctl restart etcd"])
    }

    @Test func userAndGroup() throws {
        let t = RecordingTransport(); t.reply("getent passwd", stdout: "__GROUPS__\n")
        #expect(try run(UserModule.self, ["name": "pgha", "system": true, "shell": "/bin/false"], ctx(t)).changed)
        #expect(t.commands.last == "useradd -s /bin/false -r -M pgha")
        let ok = RecordingTransport(); ok.reply("getent passwd", stdout: "pgha:x:998:998::/home/pgha:/bin/false\n__GROUPS__\npgha\npgha\n")
        #expect(try !run(UserModule.self, ["name": "pgha", "shell": "/bin/false"], ctx(ok)).changed)
        let g = RecordingTransport(); g.reply("getent group", stdout: "pg:x:120:\n")
        #expect(try !run(GroupModule.self, ["name": "pg"], ctx(g)).changed)
        #expect(try run(GroupModule.self, ["name": "pg", "gid": 130], ctx(g)).changed && g.commands.last == "groupmod -g 130 pg")
    }

    @Test func sysctlWritesFileAndAppliesLiveValue() throws {
        let t = RecordingTransport(); t.reply("stat -c", stdout: "__MISSING__\n"); t.reply("sysctl -n", stdout: "0\n")
        let r = try run(SysctlModule.self, ["name": "vm.swappiness", "value": 1], ctx(t))
        #expect(r.changed && t.puts.first?.data == Data("vm.swappiness = 1\n".utf8) && t.commands.last == "sysctl -q -w vm.swappiness=1")
        let same = RecordingTransport(); stat(same, "regular file", content: "vm.swappiness = 1\n"); same.reply("sysctl -n", stdout: "1\n")
        #expect(try !run(SysctlModule.self, ["name": "vm.swappiness", "value": "1"], ctx(same)).changed && same.puts.isEmpty)
    }

    @Test func waitForPollsInOneRoundTrip() throws {
        let t = RecordingTransport()
        #expect(try !run(WaitForModule.self, ["port": 5432, "timeout": 5], ctx(t)).failed)
        #expect(t.commands.count == 1 && t.commands[0].contains("/proc/net/tcp") && t.commands[0].contains(":1538\\ 0A"))
        let f = RecordingTransport(); f.reply("[ -e", exit: 1)
        #expect(try run(WaitForModule.self, ["path": "/run/x", "timeout": 1], ctx(f)).failed)
    }

    @Test func postgresqlQueryReturnsRowsAsMappings() throws {
        let t = RecordingTransport(); t.reply("psql", stdout: "[{\"name\":\"a\",\"n\":1}]\n")
        let r = try run(PostgresqlQueryModule.self, ["query": "SELECT name, n FROM t WHERE name = %s", "positional_args": ["o'k"]], ctx(t))
        let rows = r.data["rows"] as? [[String: Any]]
        #expect(rows?.first?["name"] as? String == "a" && rows?.first?["n"] as? Int == 1 && !r.changed)
        #expect(t.commands[0].contains("runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -d postgres"))
        #expect(r.data["query"] as? String == "SELECT name, n FROM t WHERE name = 'o''k'")
        let ddl = RecordingTransport()
        #expect(try run(PostgresqlQueryModule.self, ["query": "CREATE ROLE x"], ctx(ddl, check: true)).changed && ddl.commands.isEmpty)
    }

    @Test func controlModules() throws {
        let c = ctx(RecordingTransport(), vars: ["x": 2, "name": "pg"])
        #expect(try !run(AssertModule.self, ["that": ["x == 2", "name is defined"]], c).failed)
        let f = try run(AssertModule.self, ["that": "x > 5", "fail_msg": "too small"], c)
        #expect(f.failed && f.msg == "too small")
        #expect(throws: UndefinedVariableError.self) { try run(AssertModule.self, ["that": "nope == 1"], c) }
        #expect(try run(DebugModule.self, ["var": "x + 1"], c).msg == "x + 1 = 3")
        #expect(try run(SetFactModule.self, ["y": 3], c).facts?["y"] as? Int == 3)
        #expect(try run(FailModule.self, ["msg": "stop"], c).failed)
    }

    @Test func factsComeFromOneRoundTrip() throws {
        let t = RecordingTransport()
        t.reply("os-release", stdout: "hostname=db1\nos_id=debian\nos_version=12\ncpus=2\nmemtotal_kb=2048000\ninit=systemd\naddr=lo 127.0.0.1\naddr=host0 10.0.0.11\n")
        let r = try run(SetupModule.self, [:], ctx(t))
        #expect(t.commands.count == 1)
        #expect(r.facts?["ansible_hostname"] as? String == "db1" && r.facts?["ansible_os_family"] as? String == "Debian")
        #expect(r.facts?["ansible_service_mgr"] as? String == "systemd" && r.facts?["ansible_memtotal_mb"] as? Int == 2000)
        #expect((r.facts?["ansible_default_ipv4"] as? [String: Any])?["address"] as? String == "10.0.0.11")
    }

    @Test func hostnameSetsOnlyWhenItDiffers() throws {
        let same = RecordingTransport(); same.reply("hostname;", stdout: "db1\ndb1\nsystemd\n")
        let r = try run(HostnameModule.self, ["name": "db1"], ctx(same))
        #expect(!r.changed && same.commands.count == 1)
        let systemd = RecordingTransport(); systemd.reply("hostname;", stdout: "old\nold\nsystemd\n")
        #expect(try run(HostnameModule.self, ["name": "db1.lab"], ctx(systemd)).changed)
        #expect(systemd.commands.last == "hostnamectl set-hostname db1.lab")
        let plain = RecordingTransport(); plain.reply("hostname;", stdout: "db1\nold\nother\n")
        let p = try run(HostnameModule.self, ["name": "db1"], ctx(plain))
        #expect(p.changed && plain.commands.last == "printf '%s\\n' db1 > /etc/hostname && hostname db1", "\(plain.commands)")
        let checked = RecordingTransport(); checked.reply("hostname;", stdout: "old\nold\nsystemd\n")
        #expect(try run(HostnameModule.self, ["name": "db1"], ctx(checked, check: true)).changed && checked.commands.count == 1)
        #expect(try run(HostnameModule.self, ["name": "bad name"], ctx(RecordingTransport())).failed)
    }
}
