// The agent's own JSON and YAML (issue 14: no full Foundation in pgha) against what they replace:
// JSONSerialization and Yams write the same text and read the same values.
import AgentCore
import Foundation
import Testing
import YAML
import Yams

@Suite struct FoundationParityTests {
    static let documents = [
        #"{"b":1,"a10":2,"a2":3,"B":4,"a":5,"_x":6,"Z":8,"n1":1,"n10":2,"n2":3,"x-y":1,"x_y":2,"xy":3,"x.y":4,"X":5,"x":6}"#,
        #"{"d":2.0,"e":2.5,"f":1e20,"g":0.1,"h":-0.0,"i":1e-7,"j":123456789.123,"k":5,"t":true,"n":null,"s":"a/b\"\\\n\t\u0001é\ud83d\ude00"}"#,
        #"[1,"x",[],{},{"a":[true,false,null]}]"#,
        #"{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","tags":{"nofailover":false}}"#,
        #"{"optime": 67108864, "slots": {"n2": 123, "n10": 4}, "retain_slots": ["n2","n10"], "big": 12345678901234567}"#,
    ]

    @Test(arguments: documents) func jsonWritesWhatJSONSerializationWrote(_ text: String) throws {
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let ours = try JSONText.parse(text)
        for (sorted, slashes) in [(true, true), (true, false)] {
            var options: JSONSerialization.WritingOptions = [.sortedKeys]
            if !slashes { options.insert(.withoutEscapingSlashes) }
            let expected = String(decoding: try JSONSerialization.data(withJSONObject: foundation, options: options), as: UTF8.self)
            #expect(try JSONText.encode(ours, sortedKeys: sorted, escapeSlashes: slashes) == expected)
        }
    }

    @Test func jsonNumbersConvertAsNSNumberDid() throws {
        let d = try #require(JSONText.object(#"{"i":3,"d":2.0,"f":1.5,"t":true,"s":"x","n":null}"#))
        #expect(JSONNumber.int(d["i"]) == 3 && JSONNumber.int(d["d"]) == 2 && JSONNumber.int(d["f"]) == nil)
        #expect(JSONNumber.double(d["i"]) == 3 && JSONNumber.truncatedInt(d["f"]) == 1)
        #expect(JSONNumber.bool(d["t"]) == true && JSONNumber.bool(d["i"]) == nil && JSONNumber.bool(d["s"]) == nil)
        #expect(JSONNumber.text(d["i"]) == "3" && JSONNumber.text(d["d"]) == "2.0" && JSONNumber.text(d["t"]) == "1")
        #expect(d["n"] is JSONNull && !JSONNumber.isNumber(d["t"]) && JSONNumber.isNumber(d["f"]))
        #expect(throws: JSONError.self) { try JSONText.parse("{\"a\":}") }
        #expect(throws: JSONError.self) { try JSONText.parse("[1] x") }
    }

    static let yamlDocuments = [
        "ttl: 30\nloop_wait: 10\nmaximum_lag_on_failover: 1048576\npostgresql:\n  parameters:\n    max_connections: 200\n    shared_buffers: 128MB\n    wal_level: 'on'\n  use_pg_rewind: true\n",
        "a: yes\nb: 'true'\nc: ''\nd: ~\ne: 0x1F\nf: 1.5\ng: 017\nh: -.inf\ni: 1_000\nj: \"quoted: text\"\nk: [1, two, 3.0]\nl: {x: 1}\nm: 2026-12-07\n",
        "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\nlist:\n- *b\n- text with spaces\n- |\n  a block\n  of lines\n",
    ]

    /// Values reduced to what JSON keeps, so Yams's NSNull/Date and ours compare.
    static func comparable(_ v: Any?) -> String {
        switch v {
        case nil: return "nil"
        case is NSNull, is JSONNull: return "null"
        case let d as [String: Any]: return "{" + d.keys.sorted().map { "\($0): \(comparable(d[$0]))" }.joined(separator: ", ") + "}"
        case let d as [AnyHashable: Any]: return comparable(Dictionary(uniqueKeysWithValues: d.map { ("\($0.key)", $0.value) }))
        case let a as [Any]: return "[" + a.map(comparable).joined(separator: ", ") + "]"
        case let b as Bool: return "bool \(b)"
        case let i as Int: return "int \(i)"
        case let d as Double: return d.isNaN ? "nan" : "double \(d)"
        case let date as Date: return "date \(date.timeIntervalSince1970)"
        default: return "str \(v!)"
        }
    }

    @Test(arguments: yamlDocuments) func yamlLoadsWhatYamsLoaded(_ text: String) throws {
        let yams = try Yams.load(yaml: text)
        let ours = try YAMLText.load(text, null: JSONNull())
        var expected = Self.comparable(yams), got = Self.comparable(ours)
        // JSON has no dates: a timestamp stays its text here.
        expected = expected.replacingOccurrences(of: "date 1796601600.0", with: "str 2026-12-07")
        got = got.replacingOccurrences(of: "date 1796601600.0", with: "str 2026-12-07")
        #expect(got == expected)
    }

    static let dumped: [Any] = [
        ["ttl": 30, "loop_wait": 10, "postgresql": ["parameters": ["max_connections": 200, "wal_level": "on", "x": "", "y": "a: b", "z": "123"],
                                                     "use_pg_rewind": true] as [String: Any], "tags": ["n10", "n2"]] as [String: Any],
        [["Cluster": "demo", "Member": "n1", "TL": 1, "Lag in MB": "", "Tags": "nofailover: 1"]] as [Any],
        ["list": [1, 2.5, "three", false] as [Any], "nested": [["a": 1], ["b": "multi\nline"]] as [Any], "unicode": "é"] as [String: Any],
    ]

    @Test(arguments: 0..<dumped.count) func yamlDumpsWhatYamsDumped(_ index: Int) throws {
        let value = Self.dumped[index]
        var expected = try Yams.dump(object: value)
        expected = expected.replacingOccurrences(of: "2.5e+0", with: "2.5")  // edit-config rewrote Yams's floats so
        #expect(try YAMLText.dump(value) == expected)
    }

    @Test func yamlNodesKeepPositionsAndRefuseDuplicates() throws {
        let root = try #require(try YAMLText.compose("scope: demo\npostgresql:\n  listen: 0.0.0.0:5432\n"))
        let pairs = try #require(root.mapping)
        #expect(pairs.map { $0.key.scalar?.string } == ["scope", "postgresql"])
        let listen = try #require(pairs[1].value.mapping?.first?.value)
        #expect(listen.scalar?.string == "0.0.0.0:5432" && listen.mark == YAMLMark(line: 3, column: 11))
        #expect(try YAMLText.compose("") == nil)
        let duplicate = #expect(throws: YAMLError.self) { try YAMLText.compose("a: 1\na: 2\n") }
        #expect(duplicate?.description.contains("duplicated key(s): 'a'") == true)
        for text in ["a: [1, 2\nb: 3\n", "a: b: c\n", "a:\n  - 1\n - 2\n", "a: *nothing\n", "a: 1\n---\nb: 2\n"] {
            let yams = #expect(throws: YamlError.self) { try Yams.compose(yaml: text) }
            let ours = #expect(throws: YAMLError.self) { try YAMLText.compose(text) }
            #expect(ours?.description == yams?.description)
        }
    }
}
