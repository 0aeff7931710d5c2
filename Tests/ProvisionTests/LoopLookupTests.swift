import Foundation
import Testing
@testable import Provision

/// `with_nested`, `with_sequence` and `with_subelements`, run as playbooks on a local host, and
/// their bad input as errors that name the problem.
@Suite struct LoopLookupTests {
    let engine = EngineTests()

    @Test func olderLoopsMakeTheItemsAnsibleDocuments() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          vars:
            users:
              - {name: al, keys: [k1, k2]}
              - {name: bob, keys: [k3]}
              - {name: cy}
          tasks:
            - shell: echo {{ item.0 }}{{ item.1 }} >> {{ base }}.nested
              with_nested: [[a, b], [1, 2]]
            - shell: echo {{ item }} >> {{ base }}.seq
              with_sequence: start=1 end=3 format=node%02d
            - shell: echo {{ item }} >> {{ base }}.short
              with_sequence: 4-8/2
            - shell: echo {{ item }} >> {{ base }}.count
              with_sequence: start=10 count=2 stride=5 format=%x
            - shell: echo {{ item.0.name }}={{ item.1 }} >> {{ base }}.sub
              with_subelements: ["{{ users }}", keys, {skip_missing: true}]
            - debug: {msg: "{{ item }}"}
              with_subelements: ["{{ users }}", keys]
              ignore_errors: true
        """, hosts: ["h1"])
        defer { dir.remove() }
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.nested") == "a1\na2\nb1\nb2\n")
        #expect(dir.read("h1.seq") == "node01\nnode02\nnode03\n")
        #expect(dir.read("h1.short") == "4\n6\n8\n")
        #expect(dir.read("h1.count") == "a\nf\n")
        #expect(dir.read("h1.sub") == "al=k1\nal=k2\nbob=k3\n")
        #expect(out.text.contains("could not find 'keys' key"), "\(out.text)")
    }

    @Test func badSequencesAreErrorsThatSayWhy() throws {
        #expect(try LoopLookups.sequence("count=0") as? [String] == [])
        #expect(try LoopLookups.sequence("5-1/-2") as? [String] == ["5", "3", "1"])
        #expect(try LoopLookups.sequence("0x0a-0x0c:%%%03d") as? [String] == ["%010", "%011", "%012"])
        let cases = ["start=1", "end=3 count=2", "5-1", "stride=1 end=x", "bogus=1 end=2", "end=2 format=plain"]
        let expected = ["must specify count or end", "both count and end", "count backwards", "can't parse end='x'",
                        "unknown or malformed option 'bogus=1'", "has no %d-style field"]
        for (text, message) in zip(cases, expected) {
            #expect { _ = try LoopLookups.sequence(text) } throws: { ($0 as? ProvisionError)?.message.contains(message) == true }
        }
        #expect { _ = try LoopLookups.nested([]) } throws: { _ in true }
        #expect { _ = try LoopLookups.subelements([[["k": 1]], "k"]) } throws: { ($0 as? ProvisionError)?.message.contains("should point to a list") == true }
    }

    @Test func fileglobListsControllerFilesBesideThePlaybook() throws {
        let (dir, inv, file) = engine.setup("""
        - hosts: local
          tasks:
            - shell: basename {{ item }} >> {{ base }}.glob
              with_fileglob: ["*.conf", "none/*"]
            - shell: basename {{ item }} >> {{ base }}.top
              with_fileglob: "*.yml"
        """, hosts: ["h1"])
        defer { dir.remove() }
        dir.write("files/b.conf", "b"); dir.write("files/a.conf", "a"); dir.write("files/sub.conf/x", "dir, not a file")
        let (s, out) = engine.run(inv, file)
        #expect(s.exitCode == 0, "\(out.text)")
        #expect(dir.read("h1.glob") == "a.conf\nb.conf\n")
        #expect(dir.read("h1.top") == "play.yml\n")
    }

    @Test func loopKeywordsAreCheckedWhenParsed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let file = dir.write("play.yml", "- hosts: all\n  tasks:\n    - debug: {msg: x}\n      with_sequence: [1, 2]\n")
        #expect { _ = try PlaybookParser.parse(path: file) } throws: {
            "\($0)".hasPrefix(file + ":4:") && "\($0)".contains("'with_sequence' must be a string")
        }
    }
}
