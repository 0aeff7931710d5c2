import Foundation

/// Ansible's INI inventory: `[group]`, `[group:children]`, `[group:vars]`, hosts before any
/// section are ungrouped, `host key=value ...` inline. Inline values are typed like Ansible's
/// literal_eval (ints, floats, True/False, quoted strings, [lists], {dicts}); `:vars` values
/// stay strings (Ansible's documented rule).
struct INIInventoryParser {
    let file: String
    let inventory: Inventory

    func parse(_ text: String) throws {
        enum Section { case hosts(String?), children(String), vars(String) }
        var section = Section.hosts(nil)
        for (n, rawLine) in text.components(separatedBy: "\n").enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let loc = SourceLocation(file: file, line: n + 1, column: 1)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ProvisionError("unterminated section header", at: loc) }
                let header = String(line.dropFirst().dropLast())
                let parts = header.split(separator: ":", maxSplits: 1).map(String.init)
                guard let name = parts.first, !name.isEmpty else { throw ProvisionError("empty section name", at: loc) }
                switch parts.count == 2 ? parts[1] : "" {
                case "": section = .hosts(name)
                case "children": section = .children(name)
                case "vars": section = .vars(name)
                default: throw ProvisionError("unknown section type ':\(parts[1])' (expected :children or :vars)", at: loc)
                }
                inventory.addGroup(name)
                continue
            }
            switch section {
            case let .hosts(group):
                let words = try shellWords(line, at: loc)
                guard let host = words.first else { continue }
                var vars: [String: Any] = [:]
                for w in words.dropFirst() {
                    guard let eq = w.firstIndex(of: "=") else {
                        throw ProvisionError("expected key=value after host '\(host)', got '\(w)'", at: loc)
                    }
                    vars[String(w[..<eq])] = Self.literal(String(w[w.index(after: eq)...]))
                }
                for h in try inventory.expandHostRange(host, at: loc) { inventory.addHost(h, group: group, vars: vars) }
            case let .children(group):
                inventory.addGroup(line, parent: group)
            case let .vars(group):
                guard let eq = line.firstIndex(of: "=") else { throw ProvisionError("expected key=value in [\(group):vars]", at: loc) }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                    value = String(value.dropFirst().dropLast())
                }
                inventory.setGroupVars(group, [key: value])
            }
        }
    }

    /// Splits on whitespace honouring '...' and "..." quoting (quotes kept for literal typing).
    func shellWords(_ line: String, at loc: SourceLocation) throws -> [String] {
        var words: [String] = [], cur = "", quote: Character?
        for ch in line {
            if let q = quote {
                cur.append(ch)
                if ch == q { quote = nil }
            } else if ch == "'" || ch == "\"" {
                quote = ch; cur.append(ch)
            } else if ch == "#" && cur.isEmpty {
                break
            } else if ch == " " || ch == "\t" {
                if !cur.isEmpty { words.append(cur); cur = "" }
            } else {
                cur.append(ch)
            }
        }
        if quote != nil { throw ProvisionError("unterminated quote", at: loc) }
        if !cur.isEmpty { words.append(cur) }
        return words
    }

    /// Python-literal typing of an inline INI value; anything else is a string.
    static func literal(_ s: String) -> Any {
        if s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f { return String(s.dropFirst().dropLast()) }
        if let i = Int(s) { return i }
        if let d = Double(s), s.contains(".") { return d }
        switch s {
        case "True", "true": return true
        case "False", "false": return false
        case "None": return NSNull()
        default: break
        }
        if (s.hasPrefix("[") && s.hasSuffix("]")) || (s.hasPrefix("{") && s.hasSuffix("}")) {
            let json = s.replacingOccurrences(of: "'", with: "\"")
                .replacingOccurrences(of: "True", with: "true").replacingOccurrences(of: "False", with: "false")
            if let v = try? Values.parseJSON(json) { return v }
        }
        return s
    }
}
