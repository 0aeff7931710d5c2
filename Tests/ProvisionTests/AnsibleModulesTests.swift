import Fixtures
import Foundation
import Testing
@testable import Provision

/// Modules as Ansible's documentation uses them (ping, tempfile, find, fetch, raw, script,
/// wait_for_connection, uri, get_url, unarchive, cron), run as playbooks on local hosts, with a
/// second run where the module is idempotent.
@Suite struct AnsibleModulesTests {
    let engine = EngineTests()

    @Test func pingTempfileFindFetch() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - ping:
              register: p
            - tempfile: {state: directory, suffix: build}
              register: tmp
            - file: {path: "{{ base }}/sub", state: directory}
            - copy: {dest: "{{ base }}/a.conf", content: "port = 1\\n"}
            - copy: {dest: "{{ base }}/b.txt", content: "x"}
            - copy: {dest: "{{ base }}/.hidden.conf", content: "x"}
            - copy: {dest: "{{ base }}/sub/c.conf", content: "port = 2\\n"}
            - find: {paths: "{{ base }}", patterns: "*.conf"}
              register: top
            - find: {paths: "{{ base }}", patterns: "*.conf", recurse: true, contains: "port = 2"}
              register: deep
            - find: {paths: ["{{ base }}", "{{ base }}/nope"], file_type: directory}
              register: dirs
            - fetch: {src: "{{ base }}/a.conf", dest: "{{ playbook_dir }}/fetched"}
              register: fetched
            - fetch: {src: "{{ base }}/b.txt", dest: "{{ playbook_dir }}/flat/", flat: true}
            - fetch: {src: "{{ base }}/missing", dest: "{{ playbook_dir }}/x", fail_on_missing: false}
              register: missing
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        let base = dir.path + "/h1"
        #expect((engine.facts(s, "p") as? [String: Any])?["ping"] as? String == "pong")
        let tmp = Values.string((engine.facts(s, "tmp") as? [String: Any])?["path"])
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var isDir: ObjCBool = false
        #expect(tmp.hasSuffix("build") && tmp.contains("/ansible.") && FileManager.default.fileExists(atPath: tmp, isDirectory: &isDir) && isDir.boolValue)
        func paths(_ name: String) -> [String] {
            ((engine.facts(s, name) as? [String: Any])?["files"] as? [[String: Any]] ?? []).map { Values.string($0["path"]) }
        }
        #expect(paths("top") == [base + "/a.conf"])
        #expect(paths("deep") == [base + "/sub/c.conf"])
        #expect(paths("dirs") == [base + "/sub"])
        let dirs = engine.facts(s, "dirs") as? [String: Any] ?? [:]
        #expect((dirs["skipped_paths"] as? [String: Any])?.keys.sorted() == [base + "/nope"] && dirs["matched"] as? Int == 1)
        #expect(((engine.facts(s, "top") as? [String: Any])?["files"] as? [[String: Any]])?.first?["mode"] as? String == "0644")
        let fetchedTo = dir.path + "/fetched/h1" + base + "/a.conf"
        #expect(FileManager.default.contents(atPath: fetchedTo) == Data("port = 1\n".utf8))
        #expect((engine.facts(s, "fetched") as? [String: Any])?["checksum"] as? String == SHA1.hex(Data("port = 1\n".utf8)))
        #expect(dir.read("flat/b.txt") == "x")
        #expect((engine.facts(s, "missing") as? [String: Any])?["changed"] as? Bool == false)
        // Again: only tempfile changes (it makes a new one every run, as in Ansible).
        let (again, out2) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.changedTotal == 1, "\(out2.text)")
        let tmp2 = Values.string((engine.facts(again, "tmp") as? [String: Any])?["path"])
        try? FileManager.default.removeItem(atPath: tmp2)
        let (_, bad) = PlaybookParserTests().error("    - find: {paths: /tmp, file_type: socket}\n")
        #expect(bad.contains("3:7: find: option 'file_type' must be one of any, directory, file, link, got 'socket'")
            || bad.contains("find: option 'file_type' must be one of"), "\(bad)")
    }

    @Test func rawScriptWaitForConnectionAndDelegateFacts() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - raw: echo raw $((1 + 1))
              register: r
            - script: setup.sh one "two words"
              args: {creates: "{{ base }}.done"}
              register: s
            - wait_for_connection: {timeout: 5}
            - set_fact: {seen_from: "{{ inventory_hostname }}"}
              delegate_to: h2
              delegate_facts: true
              when: inventory_hostname == 'h1'
        """)
        defer { dir.remove() }
        dir.write("files/setup.sh", "#!/bin/sh\necho \"$1|$2\" > \"$BASE.args\"\necho ran; touch \"$BASE.done\"\n")
        chmod(dir.path + "/files/setup.sh", 0o755)
        // The script finds its output path through the environment (BASE) set per host.
        let play = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "      register: s\n",
            with: "      register: s\n      environment: {BASE: \"{{ base }}\"}\n")
        try play.write(toFile: file, atomically: true, encoding: .utf8)
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect((engine.facts(s, "r") as? [String: Any])?["stdout"] as? String == "raw 2")
        #expect((engine.facts(s, "s") as? [String: Any])?["stdout"] as? String == "ran" && dir.read("h1.done") == "")
        #expect(dir.read("h1.args") == "one|two words\n" && dir.read("h2.args") == "one|two words\n")
        #expect(engine.facts(s, "seen_from", host: "h2") as? String == "h1" && engine.facts(s, "seen_from", host: "h1") == nil)
        // Again: the script is skipped by creates; raw is always a change.
        let (again, out2) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.recap["h1"]?.changed == 1, "\(out2.text)")
        #expect((engine.facts(again, "s") as? [String: Any])?["changed"] as? Bool == false)
    }

    @Test func uriAgainstALoopbackHTTPServer() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("www/data.json", #"{"a": 1, "b": [true]}"#)
        let port = try freePort()
        let server = try Daemon(name: "http", executable: "/usr/bin/python3",
                                arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir.path + "/www"],
                                logPath: dir.path + "/http.log")
        defer { server.stop(grace: 1) }
        #expect(waitUntil(timeout: 10) { portAccepts(port) })
        let (pdir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - uri: {url: "http://127.0.0.1:\(port)/data.json", return_content: true}
              register: got
            - uri: {url: "http://127.0.0.1:\(port)/missing"}
              register: missing
              ignore_errors: true
            - uri: {url: "http://127.0.0.1:\(port)/missing", status_code: [200, 404]}
            - uri: {url: "http://127.0.0.1:\(port)/data.json", method: POST, body_format: json, body: {x: 1}}
              check_mode: true
              register: posted
            - get_url: {url: "http://127.0.0.1:\(port)/data.json", dest: "{{ base }}.json", mode: "0600"}
              register: dl
            - get_url: {url: "http://127.0.0.1:\(port)/data.json", dest: "{{ base }}.json"}
              register: dl2
            - get_url: {url: "http://127.0.0.1:\(port)/data.json", dest: "{{ base }}.bad", checksum: "sha256:00"}
              register: bad
              ignore_errors: true
            - get_url: {url: "http://127.0.0.1:\(port)/data.json", dest: "{{ base }}.json", force: true, checksum: "sha1:\(SHA1.hex(Data(#"{"a": 1, "b": [true]}"#.utf8)))"}
              register: forced
        """, hosts: ["h1"])
        defer { pdir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.changedTotal == 1, "\(out.text)")
        func r(_ name: String) -> [String: Any] { engine.facts(s, name) as? [String: Any] ?? [:] }
        #expect(r("dl")["changed"] as? Bool == true && r("dl")["status_code"] as? Int == 200 && pdir.read("h1.json") == #"{"a": 1, "b": [true]}"#)
        var st = stat()
        stat(pdir.path + "/h1.json", &st)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(r("dl2")["changed"] as? Bool == false && r("dl2")["msg"] as? String == "file already exists")
        #expect(r("bad")["failed"] as? Bool == true && pdir.read("h1.bad") == nil, "\(r("bad"))")
        #expect((r("bad")["msg"] as? String)?.hasPrefix("The checksum for \(pdir.path)/h1.bad did not match 00") == true)
        #expect(r("forced")["changed"] as? Bool == false && r("forced")["failed"] as? Bool == false, "\(r("forced"))")
        let got = engine.facts(s, "got") as? [String: Any] ?? [:]
        #expect(got["status"] as? Int == 200 && (got["json"] as? [String: Any])?["a"] as? Int == 1, "\(got)")
        #expect((got["content"] as? String)?.contains("\"b\"") == true && (got["content_type"] as? String)?.contains("json") == true)
        #expect((engine.facts(s, "missing") as? [String: Any])?["msg"] as? String == "Status code was 404 and not [200]: HTTP Error 404")
        #expect((engine.facts(s, "posted") as? [String: Any])?["skipped"] as? Bool == true)
    }

    @Test func unarchiveCopiedAndRemoteTarballs() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - file: {path: "{{ base }}/a", state: directory}
            - file: {path: "{{ base }}/b", state: directory}
            - unarchive: {src: app.tgz, dest: "{{ base }}/a", list_files: true}
              register: copied
            - unarchive: {src: "{{ playbook_dir }}/files/app.tgz", dest: "{{ base }}/b", remote_src: true}
            - unarchive: {src: app.zip, dest: "{{ base }}/b"}
              register: zipped
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("src/sub/f.txt", "hi\n")
        dir.write("src/g.txt", "x\n")
        try FileManager.default.createDirectory(atPath: dir.path + "/files", withIntermediateDirectories: true)
        _ = try runTool("/usr/bin/tar", ["-czf", dir.path + "/files/app.tgz", "-C", dir.path + "/src", "."])
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.recap["h1"]?.changed == 4, "\(out.text)")
        #expect(dir.read("h1/a/sub/f.txt") == "hi\n" && dir.read("h1/b/g.txt") == "x\n")
        #expect(((engine.facts(s, "copied") as? [String: Any])?["files"] as? [String])?.contains("./sub/f.txt") == true)
        #expect(((engine.facts(s, "zipped") as? [String: Any])?["msg"] as? String)?.contains("zip archives are not supported") == true)
        let (again, out2) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.changedTotal == 0, "\(out2.text)")
        dir.write("h1/a/g.txt", "changed\n")
        let (third, out3) = engine.run(inv, file)
        #expect(third.changedTotal == 1 && dir.read("h1/a/g.txt") == "x\n", "\(out3.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix(".provision-archive") }.isEmpty)
    }

    @Test func cronJobsInACronFile() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - cron: {name: backup, minute: "0", hour: "2", job: /usr/local/bin/backup, cron_file: "{{ base }}.cron"}
            - cron: {name: tidy, special_time: daily, job: /usr/local/bin/tidy, user: postgres, cron_file: "{{ base }}.cron"}
            - cron: {name: gone, job: /bin/true, cron_file: "{{ base }}.cron", state: absent}
              register: listed
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.recap["h1"]?.changed == 2, "\(out.text)")
        #expect(dir.read("h1.cron") == "#Ansible: backup\n0 2 * * * root /usr/local/bin/backup\n#Ansible: tidy\n@daily postgres /usr/local/bin/tidy\n")
        #expect((engine.facts(s, "listed") as? [String: Any])?["jobs"] as? [String] == ["backup", "tidy"])
        let (again, out2) = engine.run(inv, file)
        #expect(again.changedTotal == 0, "\(out2.text)")
        let edit = dir.write("edit.yml", """
        - hosts: local
          tasks:
            - cron: {name: backup, minute: "30", hour: "3", job: /usr/local/bin/backup, disabled: true, cron_file: "{{ base }}.cron"}
            - cron: {name: tidy, cron_file: "{{ base }}.cron", state: absent}
        """)
        let (edited, out3) = engine.run(inv, edit)
        #expect(edited.changedTotal == 2, "\(out3.text)")
        #expect(dir.read("h1.cron") == "#Ansible: backup\n#30 3 * * * root /usr/local/bin/backup\n")
    }
}
