import Foundation
import Testing
@testable import Provision

/// `mode:` octal or symbolic, as chmod reads symbolic modes.
@Suite struct FileModeTests {
    @Test(arguments: [
        ("u=rw,g=r,o=r", 0o000, false, 0o644),
        ("u=rwx,g=rx,o=", 0o777, true, 0o750),
        ("u+x", 0o644, false, 0o744),
        ("go-w", 0o666, false, 0o644),
        ("a+X", 0o644, false, 0o644),
        ("a+X", 0o644, true, 0o755),
        ("a+X", 0o744, false, 0o755),
        ("+x", 0o600, false, 0o711),
        ("u+s,g+s,+t", 0o755, true, 0o7755),
        ("o=", 0o1777, true, 0o770),
        ("u=rw,go=", 0o4755, false, 0o600),
    ] as [(String, Int, Bool, Int)])
    func symbolicModesApplyAsChmodDoes(spec: String, current: Int, directory: Bool, expected: Int) throws {
        #expect(try FileMode.apply(spec, to: UInt32(current), directory: directory) == UInt32(expected))
    }

    @Test func parsesOctalSymbolicAndRefusesTheRest() {
        #expect(FileMode.parse("0644") == .octal(0o644) && FileMode.parse(420) == .octal(0o644) && FileMode.parse("755") == .octal(0o755))
        #expect(FileMode.parse("u=rw,g=r") == .symbolic("u=rw,g=r"))
        for bad in ["rw-r--r--", "u=q", "0999", "preserve", "u", ""] { #expect(FileMode.parse(bad) == nil, "\(bad)") }
    }

    @Test func playbookWithSymbolicModesIsIdempotent() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - file: path={{ base }} state=directory mode=u=rwx,g=rx,o=
            - copy: {dest: "{{ base }}/f", content: x, mode: "u=rw,g=r,o=r"}
            - copy: {dest: "{{ base }}/g", content: y}
            - file: {path: "{{ base }}/g", mode: "u+x,go-r"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0 && s.recap["h1"]?.changed == 4, "\(out.text)")
        var st = stat()
        stat(dir.path + "/h1", &st)
        #expect(st.st_mode & 0o7777 == 0o750)
        stat(dir.path + "/h1/f", &st)
        #expect(st.st_mode & 0o7777 == 0o644)
        stat(dir.path + "/h1/g", &st)
        #expect(st.st_mode & 0o7777 == 0o700)
        let (again, out2) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.changedTotal == 0, "\(out2.text)")
    }
}
