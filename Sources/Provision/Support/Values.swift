import Foundation

/// Plain variable values are `String`, `Int`, `Double`, `Bool`, `NSNull`, `[Any]` and
/// `[String: Any]` (what YAML and JSON give). These helpers give them Jinja/Python semantics.
public enum Values {
    /// Python truthiness: false, 0, "", [], {}, null are false; "false"/"no" strings too
    /// (Ansible's `bool` coercion of `when: "{{ x }}"`-style strings).
    public static func truthy(_ value: Any?) -> Bool {
        guard let value, !(value is NSNull) else { return false }
        switch value {
        case let b as Bool: return b
        case let i as Int: return i != 0
        case let d as Double: return d != 0
        case let s as String:
            let l = s.trimmingCharacters(in: .whitespaces).lowercased()
            return !(l.isEmpty || l == "false" || l == "no" || l == "0" || l == "off" || l == "none")
        case let a as [Any]: return !a.isEmpty
        case let m as [String: Any]: return !m.isEmpty
        default: return true
        }
    }

    /// String form used when a value is interpolated into text: scalars as themselves,
    /// lists and mappings as compact JSON (Ansible prints Python reprs; JSON is the portable choice).
    public static func string(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "" }
        switch value {
        case let s as String: return s
        case let b as Bool: return b ? "True" : "False"
        case let i as Int: return String(i)
        case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
        default: return json(value)
        }
    }

    /// Compact JSON with sorted keys (stable output for diffs and tests).
    public static func json(_ value: Any?, pretty: Bool = false) -> String {
        var out = ""
        writeJSON(value, into: &out, pretty: pretty, indent: 0)
        return out
    }

    private static func writeJSON(_ value: Any?, into out: inout String, pretty: Bool, indent: Int) {
        let pad = pretty ? String(repeating: "    ", count: indent + 1) : ""
        let end = pretty ? String(repeating: "    ", count: indent) : ""
        let nl = pretty ? "\n" : ""
        let sep = pretty ? ": " : ": "
        switch value {
        case nil, is NSNull: out += "null"
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let d as Double: out += d.isFinite ? String(d) : "null"
        case let s as String: out += quote(s)
        case let a as [Any]:
            if a.isEmpty { out += "[]"; return }
            out += "[" + nl
            for (n, e) in a.enumerated() {
                out += pad
                writeJSON(e, into: &out, pretty: pretty, indent: indent + 1)
                out += n < a.count - 1 ? (pretty ? "," : ", ") : ""
                out += nl
            }
            out += end + "]"
        case let m as [String: Any]:
            if m.isEmpty { out += "{}"; return }
            out += "{" + nl
            let keys = m.keys.sorted()
            for (n, k) in keys.enumerated() {
                out += pad + quote(k) + sep
                writeJSON(m[k]!, into: &out, pretty: pretty, indent: indent + 1)
                out += n < keys.count - 1 ? (pretty ? "," : ", ") : ""
                out += nl
            }
            out += end + "}"
        default: out += quote("\(value!)")
        }
    }

    static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            default:
                if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
            }
        }
        return r + "\""
    }

    /// Parses JSON text into plain values (numbers become Int when integral).
    public static func parseJSON(_ text: String) throws -> Any {
        let obj = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return normalize(obj)
    }

    /// Converts Foundation objects (NSNumber, NSDictionary...) into the plain value types.
    public static func normalize(_ value: Any) -> Any {
        switch value {
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return n.boolValue }
            if n.doubleValue == n.doubleValue.rounded(), !"\(n)".contains(".") { return n.intValue }
            return n.doubleValue
        case let a as [Any]: return a.map(normalize)
        case let m as [String: Any]: return m.mapValues(normalize)
        default: return value
        }
    }

    /// Python-like equality across the plain types (1 == 1.0, lists/mappings element-wise).
    public static func equal(_ a: Any?, _ b: Any?) -> Bool {
        let a = a ?? NSNull(), b = b ?? NSNull()
        switch (a, b) {
        case (is NSNull, is NSNull): return true
        case let (x as Bool, y as Bool): return x == y
        case (is Bool, _), (_, is Bool): return false
        case let (x as String, y as String): return x == y
        default: break
        }
        if let x = number(a), let y = number(b) { return x == y }
        if let x = a as? [Any], let y = b as? [Any] {
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        }
        if let x = a as? [String: Any], let y = b as? [String: Any] {
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        }
        return false
    }

    /// Numeric value of Int/Double (not Bool, not String).
    public static func number(_ v: Any?) -> Double? {
        if v is Bool { return nil }
        if let i = v as? Int { return Double(i) }
        if let d = v as? Double { return d }
        return nil
    }

    /// Ordering for <, <=, >, >=: numbers with numbers, strings with strings; nil otherwise.
    public static func compare(_ a: Any?, _ b: Any?) -> ComparisonResult? {
        if let x = number(a), let y = number(b) {
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        if let x = a as? String, let y = b as? String {
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        return nil
    }

    /// Name of a value's type for error messages.
    public static func typeName(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return "null"
        case is Bool: return "bool"
        case is Int: return "int"
        case is Double: return "float"
        case is String: return "string"
        case is [Any]: return "list"
        case is [String: Any]: return "mapping"
        default: return "\(type(of: v!))"
        }
    }

    /// YAML rendering (block style) used by the to_yaml filter and --diff of state.
    public static func yaml(_ value: Any?, indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case let a as [Any]:
            if a.isEmpty { return pad + "[]\n" }
            return a.map { e -> String in
                if isCollection(e), !isEmpty(e) {
                    let inner = yaml(e, indent: indent + 1)
                    return pad + "- " + inner.dropFirst(pad.count + 2)
                }
                return pad + "- " + yamlScalar(e) + "\n"
            }.joined()
        case let m as [String: Any]:
            if m.isEmpty { return pad + "{}\n" }
            return m.keys.sorted().map { k -> String in
                let v = m[k]!
                if isCollection(v), !isEmpty(v) { return pad + yamlKey(k) + ":\n" + yaml(v, indent: indent + 1) }
                return pad + yamlKey(k) + ": " + yamlScalar(v) + "\n"
            }.joined()
        default:
            return pad + yamlScalar(value) + "\n"
        }
    }

    private static func isCollection(_ v: Any) -> Bool { v is [Any] || v is [String: Any] }
    private static func isEmpty(_ v: Any) -> Bool { (v as? [Any])?.isEmpty ?? (v as? [String: Any])?.isEmpty ?? false }
    private static func yamlKey(_ k: String) -> String { yamlScalar(k) }
    private static func yamlScalar(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return "null"
        case let b as Bool: return b ? "true" : "false"
        case let a as [Any] where a.isEmpty: return "[]"
        case let m as [String: Any] where m.isEmpty: return "{}"
        case let s as String:
            let plain = !s.isEmpty && s.range(of: #"^[A-Za-z_/.][A-Za-z0-9_ ./=-]*$"#, options: .regularExpression) != nil
                && !s.hasSuffix(" ") && !["true", "false", "yes", "no", "null", "on", "off", "~"].contains(s.lowercased())
            return plain ? s : quote(s)
        default: return string(v)
        }
    }

    /// Shell-quotes a string for `sh -c` (single quotes; embedded quotes closed and escaped).
    public static func shellQuote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }), s.allSatisfy(\.isASCII) {
            return s
        }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
