import Foundation
import LineDiff

/// Unified diffs for --diff: file content (line LCS with 3 lines of context) and state
/// (key: value lines before/after).
public enum UnifiedDiff {
    public static func text(_ old: String, _ new: String, from: String = "before", to: String = "after") -> String {
        let a = lines(old), b = lines(new)
        if a == b { return "" }
        // Very large files: show a full replacement rather than spend quadratic time.
        let ops: [(Character, String)]
        if a.count * b.count > 4_000_000 {
            ops = a.map { ("-", $0) } + b.map { ("+", $0) }
        } else {
            ops = lcsOps(a, b)
        }
        var out = "--- \(from)\n+++ \(to)\n"
        var i = 0
        while i < ops.count {
            guard ops[i].0 != " " else { i += 1; continue }
            var start = max(0, i - 3), end = i
            // Extend the hunk while changes are within 6 lines of each other.
            var j = i
            while j < ops.count {
                if ops[j].0 != " " { end = j; j += 1; continue }
                var k = j
                while k < ops.count, ops[k].0 == " " { k += 1 }
                if k < ops.count, k - j <= 6 { j = k } else { break }
            }
            let stop = min(ops.count, end + 4)
            if start < 0 { start = 0 }
            let oldStart = ops[..<start].filter { $0.0 != "+" }.count + 1
            let newStart = ops[..<start].filter { $0.0 != "-" }.count + 1
            let hunk = ops[start..<stop]
            out += "@@ -\(oldStart),\(hunk.filter { $0.0 != "+" }.count) +\(newStart),\(hunk.filter { $0.0 != "-" }.count) @@\n"
            for (op, line) in hunk { out += "\(op)\(line)\n" }
            i = stop
        }
        return out
    }

    public static func state(_ before: [String: String], _ after: [String: String]) -> String {
        func render(_ d: [String: String]) -> String { d.keys.sorted().map { "\($0): \(d[$0]!)\n" }.joined() }
        return text(render(before), render(after), from: "before (state)", to: "after (state)")
    }

    static func lines(_ s: String) -> [String] {
        if s.isEmpty { return [] }
        var l = s.components(separatedBy: "\n")
        if l.last == "" { l.removeLast() }
        return l
    }

    static func lcsOps(_ a: [String], _ b: [String]) -> [(Character, String)] {
        LineDiff.ops(a, b).map { ($0.0.rawValue, $0.1) }
    }
}
