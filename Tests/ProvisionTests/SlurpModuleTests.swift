import Foundation
import Testing
@testable import Provision

/// `slurp`: content base64-encoded, with `encoding` and `source`, read back with b64decode.
@Suite struct SlurpModuleTests {
    @Test func readsBase64AndFailsOnMissingOrDirectory() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - slurp: {src: "{{ base }}/f"}
              register: f
            - copy: {dest: "{{ base }}/copy", content: "{{ f.content | b64decode }}"}
            - ansible.builtin.slurp: {path: "{{ base }}/missing"}
              register: missing
              ignore_errors: true
            - slurp: src={{ base }}
              register: isdir
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("h1/f", "line 1\nline 2\n")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        let f = s.hostFacts["h1"]?["f"] as? [String: Any] ?? [:]
        #expect(f["content"] as? String == "bGluZSAxCmxpbmUgMgo=" && f["encoding"] as? String == "base64")
        #expect(f["source"] as? String == dir.path + "/h1/f" && f["changed"] as? Bool == false)
        #expect(dir.read("h1/copy") == "line 1\nline 2\n")
        #expect((s.hostFacts["h1"]?["missing"] as? [String: Any])?["msg"] as? String == "file not found: \(dir.path)/h1/missing")
        #expect((s.hostFacts["h1"]?["isdir"] as? [String: Any])?["msg"] as? String == "source is a directory and must be a file")
    }
}
