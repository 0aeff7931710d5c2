import Foundation
import Spawn
import Testing
@testable import Provision

/// `attributes` on the machine's own filesystem (ext4 under /tmp; chattr needs root, which the
/// suite has): set, added, removed, exactly; a second run changes nothing; a flag chattr does
/// not know is refused with nothing changed.
@Suite struct FileAttributesTests {
    static let runnable = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr")

    func flags(_ path: String) throws -> String {
        let r = try Spawn.run("/usr/bin/lsattr", ["-d", path], environment: ["PATH": "/usr/bin:/bin"], timeout: 10)
        // Sorted: lsattr prints its own order (`dAe`), the tests name sets.
        return String((r.stdout.split(separator: " ").first ?? "").filter { $0 != "-" }.sorted())
    }

    @Test(.enabled(if: runnable)) func flagsAreSetAddedRemovedAndLeftAlone() throws {
        let engine = EngineTests()
        let set = """
        - hosts: local
          tasks:
            - file: path={{ base }}/touched state=touch attributes=+A
            - copy: {content: "held\\n", dest: "{{ base }}/held", attributes: i}
            - lineinfile: {path: "{{ base }}/edited", line: "a line", create: true, attr: "=d"}
            - file: {path: "{{ base }}/dir", state: directory, attributes: "+A"}
        """
        let (dir, inv, file) = engine.setup(set, hosts: ["h1"])
        let base = dir.path + "/h1"
        defer {
            _ = try? Spawn.run("/usr/bin/chattr", ["-i", base + "/held"], environment: ["PATH": "/usr/bin:/bin"], timeout: 10)
            dir.remove()
        }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (first, out) = engine.run(inv, file)
        #expect(first.exitCode == 0 && first.changedTotal == 4, "\(out.text)")
        // ext4 adds `e` (extents) to every file; it is not the task's and never compared.
        #expect(try flags(base + "/touched") == "Ae")
        #expect(try flags(base + "/held") == "ei")
        #expect(try flags(base + "/edited") == "de")
        #expect(try flags(base + "/dir") == "Ae")
        let (again, out2) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.changedTotal == 0, "a second run changes nothing:\n\(out2.text)")

        // Removed, and set exactly (the immutable file first loses i, so its content can change).
        let changes = dir.write("change.yml", """
        - hosts: local
          tasks:
            - file: path={{ base }}/touched attributes=-A
            - copy: {content: "changed\\n", dest: "{{ base }}/held", attributes: "-i"}
            - lineinfile: {path: "{{ base }}/edited", line: "a line", attributes: "Ad"}
        """)
        let (removed, out3) = engine.run(inv, changes, RunOptions(diff: true))
        #expect(removed.exitCode != 0, "copy over an immutable file fails, as chattr i means:\n\(out3.text)")
        #expect(try String(contentsOfFile: base + "/held", encoding: .utf8) == "held\n")
        #expect(try flags(base + "/touched") == "e")
        _ = try Spawn.run("/usr/bin/chattr", ["-i", base + "/held"], environment: ["PATH": "/usr/bin:/bin"], timeout: 10)
        let (fixed, out4) = engine.run(inv, changes, RunOptions(diff: true))
        #expect(fixed.exitCode == 0 && fixed.changedTotal == 2, "\(out4.text)")
        #expect(out4.text.contains("+attributes: Ade") || out4.text.contains("attributes: Ade"), "--diff shows the flags:\n\(out4.text)")
        #expect(try String(contentsOfFile: base + "/held", encoding: .utf8) == "changed\n")
        #expect(try flags(base + "/edited") == "Ade")

        // A flag chattr cannot set: refused before anything changes.
        let bad = dir.write("bad.yml", """
        - hosts: local
          tasks:
            - copy: {content: "new\\n", dest: "{{ base }}/held", attributes: "+iQ"}
        """)
        let (refused, out5) = engine.run(inv, bad)
        #expect(refused.exitCode != 0 && out5.text.contains("flags chattr cannot set: Q"), "\(out5.text)")
        #expect(try String(contentsOfFile: base + "/held", encoding: .utf8) == "changed\n")
        #expect(try flags(base + "/held") == "e")
    }
}
