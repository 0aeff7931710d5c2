import Foundation
import Testing
@testable import Provision

/// Filters and tests Ansible content leans on, with the results Ansible's documentation gives.
@Suite struct FilterTests {
    static let vars: [String: Any] = [
        "nested": [1, [2, [3, NSNull()]], 4] as [Any], "keys": ["a", "b"], "vals": [1, 2],
        "pairs": [["name": "a", "v": 1], ["name": "b", "v": 2]] as [Any], "text": "k1=v1 k2=v2",
        "ok": ["changed": false, "failed": false] as [String: Any], "bad": ["changed": false, "failed": true] as [String: Any],
        "done": ["changed": true, "failed": false] as [String: Any], "skip": ["changed": false, "skipped": true] as [String: Any],
        "yes": true, "none": NSNull(),
    ]
    let t = Templater(variables: FilterTests.vars)

    func render(_ s: String) throws -> String { Values.json(try t.render(s)) }

    @Test(arguments: [
        ("{{ nested | flatten }}", "[1, 2, 3, 4]"),
        ("{{ nested | flatten(levels=1) }}", "[1, 2, [3, null], 4]"),
        ("{{ nested | flatten(1) }}", "[1, 2, [3, null], 4]"),
        ("{{ keys | zip(vals) | list }}", #"[["a", 1], ["b", 2]]"#),
        ("{{ keys | zip(vals, ['x', 'y']) }}", #"[["a", 1, "x"], ["b", 2, "y"]]"#),
        ("{{ dict(keys | zip(vals)) }}", #"{"a": 1, "b": 2}"#),
        ("{{ keys | zip(vals) | dict }}", #"{"a": 1, "b": 2}"#),
        ("{{ pairs | items2dict(key_name='name', value_name='v') }}", #"{"a": 1, "b": 2}"#),
        ("{{ [{'key': 'x', 'value': 9}] | items2dict }}", #"{"x": 9}"#),
        ("{{ text | regex_findall('k\\\\d') }}", #"["k1", "k2"]"#),
        // An unknown escape keeps its backslash in a Jinja string, so one backslash is enough.
        ("{{ text | regex_findall('k\\d') }}", #"["k1", "k2"]"#),
        ("{{ '12' is match('^\\d+$') }}", "true"),
        ("{{ 'a\\.b' }}", #""a\\.b""#),
        ("{{ text | regex_findall('(k\\\\d)=(v\\\\d)') }}", #"[["k1", "v1"], ["k2", "v2"]]"#),
        ("{{ text | regex_findall('=(v\\\\d)') }}", #"["v1", "v2"]"#),
        ("{{ 'K1' | regex_findall('k1', ignorecase=true) }}", #"["K1"]"#),
        ("{{ 'port=5432' | regex_replace('^(?P<k>\\\\w+)=(\\\\d+)$', '\\\\g<k> is \\\\2 ($)') }}", #""port is 5432 ($)""#),
        ("{{ 'A\nb' | regex_replace('^b', 'B', multiline=true) | regex_replace('a', 'x', ignorecase=true) }}", #""x\nB""#),
        ("{{ 'abc' | hash('sha1') }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | hash }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | checksum }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | hash('sha256') }}", #""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
        ("{{ yes | ternary('on', 'off') }}", #""on""#),
        ("{{ (1 > 2) | ternary('on', 'off') }}", #""off""#),
        ("{{ none | ternary('on', 'off', 'unset') }}", #""unset""#),
        ("{{ keys | mandatory }}", #"["a", "b"]"#),
        ("{{ [ok is succeeded, ok is success, ok is successful, bad is failed, done is changed, skip is skipped, ok is not changed] }}",
         "[true, true, true, true, true, true, true]"),
    ])
    func filtersAndTests(template: String, json: String) throws {
        #expect(try render(template) == json)
    }

    @Test func expanduserAndMandatoryErrors() throws {
        #expect(try t.render("{{ '~/x' | expanduser }}") as? String == NSHomeDirectory() + "/x")
        #expect(try t.render("{{ '/abs/~x' | expanduser }}") as? String == "/abs/~x")
        #expect(throws: ProvisionError.self) { try t.render("{{ missing | mandatory }}") }
        do { _ = try t.render("{{ missing | mandatory('set missing with -e') }}") } catch {
            #expect("\(error)".contains("set missing with -e"))
        }
        do { _ = try t.render("{{ missing | mandatory }}") } catch {
            #expect("\(error)".contains("Mandatory variable 'missing' not defined."))
        }
        #expect(throws: ProvisionError.self) { try t.condition("'text' is changed") }
    }
}
