import Foundation
import Testing
@testable import Provision

/// `vars_prompt` never prompts: defaults become play vars, `-e` overrides them.
@Suite struct VarsPromptTests {
    let engine = EngineTests()

    @Test func promptDefaultsBecomePlayVarsAndExtraVarsWin() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars_prompt:
            - {name: release, prompt: "Which release?", default: "1.0", private: false}
            - {name: color, prompt: "Color?", default: red}
          tasks:
            - copy: {dest: "{{ base }}.out", content: "{{ release }} {{ color }}"}
        """, hosts: ["h1"])
        defer { dir.remove() }
        var options = RunOptions()
        options.extraVars = ["color": "blue"]
        let (s, out) = engine.run(inv, file, options)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.out") == "1.0 blue")
    }

    @Test func badPromptsAreRefusedBeforeTheRun() throws {
        for (entry, message) in [("{prompt: x}", "needs a 'name'"), ("{name: p, encrypt: sha512_crypt}", "'encrypt' is not supported"),
                                 ("{name: p, bogus: 1}", "unknown option 'bogus'")] {
            let dir = TempDir(); defer { dir.remove() }
            let file = dir.write("play.yml", "- hosts: all\n  vars_prompt: [\(entry)]\n  tasks: []\n")
            #expect { _ = try PlaybookParser.parse(path: file) } throws: { "\($0)".hasPrefix(file + ":2:") && "\($0)".contains(message) }
        }
    }
}
