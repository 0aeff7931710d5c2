import Foundation
import Testing
@testable import Provision

/// `k=v` argument strings split as Ansible documents it: quotes, backslash escapes and
/// `{{ }}` / `{% %}` / `{# #}` blocks keep words whole.
@Suite struct ArgumentSplitterTests {
    @Test(arguments: [
        ("a=b c=d", false, ["a": "b", "c": "d"], nil),
        ("a=\"b c\" d='e f'", false, ["a": "b c", "d": "e f"], nil),
        ("path={{ root }}/etc state=directory mode=0755", false, ["path": "{{ root }}/etc", "state": "directory", "mode": "0755"], nil),
        ("msg={{ x | default('a b') }} other=1", false, ["msg": "{{ x | default('a b') }}", "other": "1"], nil),
        ("a={% if x %}yes{% else %}no{% endif %} b=2", false, ["a": "{% if x %}yes{% else %}no{% endif %}", "b": "2"], nil),
        // Like Ansible: a block ends at its `%}`, so a space between two blocks splits the word.
        ("a={% if x %}yes no{% endif %}", false, ["a": "{% if x %}yes"], "no{% endif %}"),
        ("a={# a comment #}b", false, ["a": "{# a comment #}b"], nil),
        ("a=\"say \\\"hi\\\"\"", false, ["a": "say \"hi\""], nil),
        ("a=x\\ty b=c\\\\d", false, ["a": "x\ty", "b": "c\\d"], nil),
        ("a=b=c", false, ["a": "b=c"], nil),
        ("a\\=b", false, [:], "a=b"),
        ("=x", false, [:], "=x"),
        ("flush_handlers", false, [:], "flush_handlers"),
        ("echo foo=bar chdir=/tmp creates=/x", true, ["chdir": "/tmp", "creates": "/x"], "echo foo=bar"),
        ("echo \"a  b\" 'c  d' {{ x ~ '  y' }}", true, [:], "echo \"a  b\" 'c  d' {{ x ~ '  y' }}"),
        ("echo a\necho b", true, [:], "echo a\necho b"),
        ("echo one \\\n two", true, [:], "echo one  two"),
        ("if true; then\n  echo   \"x\"\nfi", true, [:], "if true; then\n  echo   \"x\"\nfi"),
        ("echo a chdir=/tmp   b", true, ["chdir": "/tmp"], "echo a b"),
        ("  spaced   out=1  ", false, ["out": "1"], "spaced"),
    ] as [(String, Bool, [String: String], String?)])
    func splitsLikeAnsible(text: String, command: Bool, options: [String: String], free: String?) throws {
        let parsed = try ArgumentSplitter.parse(text, commandStyle: command)
        #expect(parsed.options == options)
        #expect(parsed.freeForm == free)
    }

    @Test(arguments: ["a=\"b", "a='b c", "a={{ b", "a={% if x", "a={# c", "a={{ b }"])
    func unbalancedQuotesOrBlocksAreErrors(text: String) {
        #expect(throws: ArgumentSplitter.SplitError.self) { try ArgumentSplitter.parse(text, commandStyle: false) }
    }

    @Test func splitErrorNamesFileLineColumnAndModule() {
        let (file, message) = PlaybookParserTests().error("    - file: path=\"/x state=directory\n")
        #expect(message.hasPrefix(file + ":3:13: file: failed at splitting arguments"), "\(message)")
    }

    @Test func repositoryPlaybooksStillParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("playbooks").path
        let files = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".yml") }
        #expect(!files.isEmpty)
        for f in files { #expect(throws: Never.self) { try PlaybookParser.parse(path: root + "/" + f) } }
    }

    @Test func keyValuePlaybookRunsAsAnsibleWouldRunIt() throws {
        let engine = EngineTests()
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars: {greeting: "hello world"}
          tasks:
            - file: path={{ base }}/etc state=directory mode=0755
            - copy: dest={{ base }}/etc/a.txt content="{{ greeting }}\\n" mode=0640
            - lineinfile: path={{ base }}/etc/l.conf line="name = '{{ greeting | upper }}'" create=yes
            - shell: echo foo=bar > out.txt chdir={{ base }}/etc
            - command: touch {{ base }}/etc/once creates={{ base }}/etc/once
            - debug: msg="{{ 'a b' | upper }}"
            - meta: flush_handlers
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        var st = stat()
        stat(dir.path + "/h1/etc", &st)
        #expect(st.st_mode & 0o7777 == 0o755)
        stat(dir.path + "/h1/etc/a.txt", &st)
        #expect(st.st_mode & 0o7777 == 0o640)
        #expect(dir.read("h1/etc/a.txt") == "hello world\n")
        #expect(dir.read("h1/etc/l.conf") == "name = 'HELLO WORLD'\n")
        #expect(dir.read("h1/etc/out.txt") == "foo=bar\n")
        #expect(out.text.contains("A B"))
        let (again, _) = engine.run(inv, file)
        #expect(again.recap["h1"]?.changed == 1)  // only the shell task
    }
}
