import Foundation
import Testing
@testable import Provision

/// `replace`: Python-style regexps and backreferences, after/before sections, backup, the
/// "N replacements made" message, idempotence and --check.
@Suite struct ReplaceModuleTests {
    static let original = """
    # listen
    listen_addresses = 'localhost'
    port = 5432
    [section]
    port = 5433
    port = 5434
    [end]
    port = 5435

    """

    @Test func replacesWithBackreferencesInSections() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - replace:
                path: "{{ base }}/pg.conf"
                regexp: "^listen_addresses = '(?P<addr>.*)'$"
                replace: "listen_addresses = '*' # was \\\\g<addr>"
                backup: true
              register: named
            - replace: {path: "{{ base }}/pg.conf", regexp: '^port = (54\\d\\d)$', replace: 'port = 1\\1', after: '\\[section\\]', before: '\\[end\\]'}
              register: sectioned
            - replace: {path: "{{ base }}/pg.conf", regexp: '^# (\\w+)$', replace: '; \\1 $1'}
            - replace: {path: "{{ base }}/pg.conf", regexp: 'nomatch', replace: 'x'}
              register: none
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("h1/pg.conf", Self.original)
        let (dry, _) = engine.run(inv, file, RunOptions(check: true))
        #expect(dry.exitCode == 0 && dir.read("h1/pg.conf") == Self.original)
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1/pg.conf") == """
        ; listen $1
        listen_addresses = '*' # was localhost
        port = 5432
        [section]
        port = 15433
        port = 15434
        [end]
        port = 5435

        """)
        func result(_ n: String) -> [String: Any] { s.hostFacts["h1"]?[n] as? [String: Any] ?? [:] }
        #expect(result("sectioned")["msg"] as? String == "2 replacements made" && result("sectioned")["changed"] as? Bool == true)
        #expect(result("named")["msg"] as? String == "1 replacements made")
        let backup = try #require(result("named")["backup_file"] as? String)
        #expect(backup.hasPrefix(dir.path + "/h1/pg.conf.") && backup.hasSuffix("~"))
        #expect(FileManager.default.contents(atPath: backup).map { String(decoding: $0, as: UTF8.self) } == Self.original)
        #expect(result("none")["changed"] as? Bool == false && result("none")["msg"] as? String == "")
        let (again, _) = engine.run(inv, file)
        #expect(again.exitCode == 0 && again.changedTotal == 0)
    }

    @Test func missingFileFails() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - replace: {path: "{{ base }}/nope", regexp: a, replace: b}
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 2 && out.text.contains("Path \(dir.path)/h1/nope does not exist !"), "\(out.text)")
    }
}
