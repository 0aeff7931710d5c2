// lineinfile and blockinfile place new text by the same rules (Ansible's documentation):
// last match of insertafter/insertbefore, BOF/EOF, no match → EOF, the two options exclusive.
import Foundation
import Testing
@testable import Provision
import ProvisionTestSupport

@Suite struct InsertionRuleTests {
    static let file = "a = 1\n# marker\nb = 2\n# marker\nc = 3\n"

    /// Options → the line index new text starts at in `file`'s five lines.
    static let table: [([String: String], Int)] = [
        ([:], 5),
        (["insertafter": "EOF"], 5),
        (["insertbefore": "BOF"], 0),
        (["insertafter": "^# marker"], 4),   // after the last match
        (["insertbefore": "^# marker"], 3),  // before the last match
        (["insertafter": "^nothing"], 5),    // no match: EOF
        (["insertbefore": "^nothing"], 5),
    ]

    func placed(_ m: ProvisionModule.Type, _ options: [String: String], text: [String: Any]) throws -> [String] {
        let t = RecordingTransport()
        t.reply("stat -c", stdout: "regular file|644|root|root\n\n\n__CONTENT__\n\(Data(Self.file.utf8).base64EncodedString())\n")
        var args: [String: Any] = ["path": "/c"].merging(text) { $1 }
        for (k, v) in options { args[k] = v }
        _ = try m.run(ModuleArgs(args, module: m.name), ModuleContext(host: "h", transport: t, check: false, diff: false, becomeUser: nil,
                                                                      templater: Templater(variables: [:]), playbookDir: "."))
        let written = String(decoding: try #require(t.puts.first?.data), as: UTF8.self)
        return written.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test(arguments: table) func bothModulesInsertAtTheSamePlace(_ options: [String: String], _ index: Int) throws {
        let line = try placed(LineInFileModule.self, options, text: ["line": "new"])
        #expect(line.firstIndex(of: "new") == index, "lineinfile \(options): \(line)")
        let block = try placed(BlockInFileModule.self, options, text: ["block": "new"])
        #expect(block.firstIndex(of: "# BEGIN ANSIBLE MANAGED BLOCK") == index, "blockinfile \(options): \(block)")
    }

    @Test func insertafterAndInsertbeforeExcludeEachOther() {
        let both = ["insertafter": "^a", "insertbefore": "^c"]
        let line = #expect(throws: ProvisionError.self) { try placed(LineInFileModule.self, both, text: ["line": "new"]) }
        let block = #expect(throws: ProvisionError.self) { try placed(BlockInFileModule.self, both, text: ["block": "new"]) }
        #expect(line?.message.contains("insertafter") == true && block?.message.contains("insertafter") == true)
    }
}
