import Foundation

/// Python's `shlex.split` (POSIX mode), which Ansible's `run_command` applies to a command
/// given as a string before it execs it without a shell: whitespace separates words; '…' is
/// literal; in "…" a backslash escapes only `"` and `\`; outside quotes it escapes any
/// character. So `$0`, `*`, `|` and `;` reach the program as typed.
enum ShellWords {
    struct SplitError: Error, CustomStringConvertible {
        var description: String
    }

    static func split(_ text: String) throws -> [String] {
        var words: [String] = [], cur = "", inWord = false
        var quote: Character?
        var chars = text.makeIterator()
        while let ch = chars.next() {
            if let q = quote {
                if ch == q { quote = nil; continue }
                if q == "\"" && ch == "\\" {
                    guard let next = chars.next() else { throw SplitError(description: "no closing quotation") }
                    if next != "\"" && next != "\\" { cur.append("\\") }
                    cur.append(next)
                    continue
                }
                cur.append(ch)
            } else if ch == " " || ch == "\t" || ch.isNewline {
                if inWord { words.append(cur); cur = ""; inWord = false }
            } else if ch == "'" || ch == "\"" {
                quote = ch; inWord = true
            } else if ch == "\\" {
                guard let next = chars.next() else { throw SplitError(description: "no escaped character") }
                cur.append(next); inWord = true
            } else {
                cur.append(ch); inWord = true
            }
        }
        if quote != nil { throw SplitError(description: "no closing quotation") }
        if inWord { words.append(cur) }
        return words
    }

    /// Python's `template % value` for a one-`%s` template: `%s` becomes `value`, `%%` a `%`.
    static func format(_ template: String, _ value: String) -> String {
        var out = "", chars = template.makeIterator()
        while let ch = chars.next() {
            guard ch == "%" else { out.append(ch); continue }
            switch chars.next() {
            case "s": out += value
            case "%": out.append("%")
            case let other?: out.append("%"); out.append(other)
            case nil: out.append("%")
            }
        }
        return out
    }
}
