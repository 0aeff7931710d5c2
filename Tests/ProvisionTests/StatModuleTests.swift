import Foundation
import Testing
@testable import Provision

/// `stat` as Ansible documents its result, on real files.
@Suite struct StatModuleTests {
    @Test func reportsFileDirectoryLinkAndMissing() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - stat: {path: "{{ base }}/f"}
              register: f
            - stat: {path: "{{ base }}"}
              register: d
            - stat: {path: "{{ base }}/l"}
              register: l
            - stat: {path: "{{ base }}/l", follow: true, checksum_algorithm: sha256}
              register: followed
            - stat: {path: "{{ base }}/f", get_checksum: false}
              register: nosum
            - stat: path={{ base }}/missing
              register: missing
            - stat: {path: "{{ base }}/dangling", follow: true}
              register: dangling_followed
            - stat: {path: "{{ base }}/dangling"}
              register: dangling
            - assert:
                that:
                  - f.stat.exists and f.stat.isreg and not f.stat.isdir
                  - d.stat.isdir and not missing.stat.exists
                  - l.stat.islnk and followed.stat.isreg
                  - f is not changed
        """, hosts: ["h1"])
        defer { dir.remove() }
        let base = dir.path + "/h1"
        dir.write("h1/f", "abc")
        chmod(base + "/f", 0o640)
        try FileManager.default.createSymbolicLink(atPath: base + "/l", withDestinationPath: "f")
        try FileManager.default.createSymbolicLink(atPath: base + "/dangling", withDestinationPath: "nowhere")
        let (s, out) = engine.run(inv, file, RunOptions(check: true))
        #expect(s.exitCode == 0 && s.changedTotal == 0, "\(out.text)")
        func stat(_ name: String) -> [String: Any] { (s.hostFacts["h1"]?[name] as? [String: Any])?["stat"] as? [String: Any] ?? [:] }
        let f = stat("f")
        #expect(f["mode"] as? String == "0640" && f["size"] as? Int == 3 && f["path"] as? String == base + "/f")
        #expect(f["uid"] as? Int == Int(getuid()) && f["pw_name"] as? String == String(cString: getpwuid(getuid())!.pointee.pw_name))
        #expect(f["gid"] as? Int == Int(getgid()) && f["gr_name"] as? String != nil)
        #expect(f["checksum"] as? String == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(f["islnk"] as? Bool == false && f["rusr"] as? Bool == true && f["roth"] as? Bool == false)
        let mtime = try FileManager.default.attributesOfItem(atPath: base + "/f")[.modificationDate] as! Date
        #expect(abs((f["mtime"] as? Double ?? 0) - mtime.timeIntervalSince1970) < 1)
        #expect(stat("d")["isdir"] as? Bool == true && stat("d")["checksum"] == nil)
        let l = stat("l")
        #expect(l["islnk"] as? Bool == true && l["lnk_source"] as? String == base + "/f" && l["lnk_target"] as? String == "f")
        #expect(l["checksum"] == nil)
        #expect(stat("followed")["checksum"] as? String == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(stat("nosum")["checksum"] == nil)
        #expect(stat("missing").count == 1 && stat("missing")["exists"] as? Bool == false)
        #expect(stat("dangling_followed")["exists"] as? Bool == false)
        #expect(stat("dangling")["islnk"] as? Bool == true && stat("dangling")["lnk_target"] as? String == "nowhere")
    }
}
