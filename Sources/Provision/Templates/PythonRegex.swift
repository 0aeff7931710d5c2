import Foundation

/// Python `re` syntax (what Ansible content is written in) read by NSRegularExpression: named
/// groups `(?P<n>…)` / `(?P=n)`, and `re.sub` replacement strings (`\1`, `\g<1>`, `\g<name>`,
/// `\n`, `\\`) turned into Foundation templates (`$1`, a name by its group number, literal `$`
/// escaped: Foundation's templates know numbers only).
enum PythonRegex {
    static func compile(_ pattern: String, options: NSRegularExpression.Options = []) throws -> NSRegularExpression {
        let icu = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
            .replacingOccurrences(of: #"\(\?P=(\w+)\)"#, with: #"\\k<$1>"#, options: .regularExpression)
        do { return try NSRegularExpression(pattern: icu, options: options) } catch {
            throw ProvisionError("bad regular expression '\(pattern)'")
        }
    }

    /// Capturing groups' numbers by name, counted as the regex engine does: every unescaped `(`
    /// outside a character class that is not `(?…` opens a group, except `(?P<n>` and `(?<n>`.
    static func groupNumbers(_ pattern: String) -> [String: Int] {
        let chars = Array(pattern)
        var names: [String: Int] = [:], count = 0, i = 0, inClass = false
        while i < chars.count {
            let c = chars[i]
            if c == "\\" { i += 2; continue }
            if inClass { if c == "]" { inClass = false }; i += 1; continue }
            if c == "[" { inClass = true; i += 1; continue }
            if c == "(" {
                let rest = String(chars[(i + 1)...])
                if !rest.hasPrefix("?") { count += 1 }
                else if let r = rest.range(of: #"^\?P?<(\w+)>"#, options: .regularExpression) {
                    count += 1
                    let name = rest[r].drop { $0 != "<" }.dropFirst().dropLast()
                    names[String(name)] = count
                }
            }
            i += 1
        }
        return names
    }

    static func template(_ replacement: String, groups: [String: Int] = [:]) -> String {
        let chars = Array(replacement)
        var out = "", i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "$" { out += "\\$"; i += 1; continue }
            guard c == "\\", i + 1 < chars.count else { out.append(c); i += 1; continue }
            let n = chars[i + 1]
            if n == "0" { out += "\u{0}"; i += 2; continue }  // Python: `\0` is NUL, not the whole match
            if n.isASCII, n.isNumber {
                var j = i + 1, digits = ""
                while j < chars.count, j < i + 3, chars[j].isASCII, chars[j].isNumber { digits.append(chars[j]); j += 1 }
                out += "$\(digits)"; i = j; continue
            }
            if n == "g", i + 2 < chars.count, chars[i + 2] == "<", let close = chars[(i + 3)...].firstIndex(of: ">") {
                let name = String(chars[(i + 3)..<close])
                out += "$\(Int(name) ?? groups[name] ?? 0)"
                i = close + 1; continue
            }
            switch n {
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            case "\\": out += "\\\\"
            default: out += "\\\\"; out.append(n)
            }
            i += 2
        }
        return out
    }
}
