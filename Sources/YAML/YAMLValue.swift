// YAML ↔ plain Swift values ([String: Any], [Any], String, Int, Double, Bool, YAMLNull), resolved and
// written as Yams's `load(yaml:)` and `dump(object:)` did (YAML 1.1 booleans, ints and floats; mapping
// keys sorted; strings that would read as something else single-quoted), so edit-config and
// `list --format yaml` print what they printed.
import CLibYAML

extension YAMLText {
    /// The value of the single document in `text` (nil for an empty stream); `null` is what a null
    /// scalar becomes (the caller's null type).
    public static func load(_ text: String, null: Any) throws -> Any? {
        try compose(text).map { value($0, null: null) }
    }

    static func value(_ node: YAMLNode, null: Any) -> Any {
        switch node {
        case let .scalar(s, _): return scalarValue(s, null: null)
        case let .sequence(items, _): return items.map { value($0, null: null) }
        case let .mapping(pairs, _):
            var out: [String: Any] = [:]
            for (k, v) in pairs {
                if k.scalar?.string == "<<", k.scalar?.style == .plain {  // merge keys: the current mapping wins
                    for m in (v.sequence ?? [v]) {
                        for (mk, mv) in (value(m, null: null) as? [String: Any] ?? [:]) where out[mk] == nil { out[mk] = mv }
                    }
                    continue
                }
                let key = value(k, null: null)
                out[key as? String ?? "\(key)"] = value(v, null: null)
            }
            return out
        }
    }

    static func scalarValue(_ s: YAMLScalar, null: Any) -> Any {
        let resolved: String
        if let tag = s.tag, tag != "!" {
            resolved = tag.hasPrefix("tag:yaml.org,2002:") ? String(tag.dropFirst("tag:yaml.org,2002:".count)) : tag
        } else {
            resolved = s.style == .plain && s.tag == nil ? resolve(s.string) : "str"
        }
        switch resolved {
        case "null": return null
        case "bool": return bool(s.string) ?? s.string
        case "int": return int(s.string) ?? (double(s.string) as Any?) ?? s.string
        case "float": return double(s.string) ?? s.string
        default: return s.string
        }
    }

    /// The tag a plain scalar resolves to (Yams's default resolver): null, bool, int, float, str
    /// (timestamps stay strings: JSON has no dates).
    public static func resolve(_ s: String) -> String {
        if ["", "~", "null", "Null", "NULL"].contains(s) { return "null" }
        if bool(s) != nil { return "bool" }
        if isInt(s) { return "int" }
        if isFloat(s) { return "float" }
        return "str"
    }

    static func bool(_ s: String) -> Bool? {
        switch s {
        case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return true
        case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    static func all(_ s: Substring, _ allowed: (Character) -> Bool) -> Bool { !s.isEmpty && s.allSatisfy(allowed) }
    static func unsigned(_ s: String) -> (negative: Bool, body: Substring) {
        if s.first == "-" { return (true, s.dropFirst()) }
        if s.first == "+" { return (false, s.dropFirst()) }
        return (false, s[...])
    }

    static func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }

    static func isInt(_ s: String) -> Bool {
        let (_, b) = unsigned(s)
        if b.hasPrefix("0b") { return all(b.dropFirst(2)) { $0 == "0" || $0 == "1" || $0 == "_" } }
        if b.hasPrefix("0x") { return all(b.dropFirst(2)) { $0.isHexDigit || $0 == "_" } }
        if b.hasPrefix("0o") { return all(b.dropFirst(2)) { ("0"..."7").contains($0) || $0 == "_" } }
        if b.hasPrefix("0") { return all(b) { ("0"..."7").contains($0) || $0 == "_" } }
        if let f = b.first, f >= "1" && f <= "9" {
            let parts = b.split(separator: ":", omittingEmptySubsequences: false)
            guard all(parts[0], { isDigit($0) || $0 == "_" }) else { return false }
            return parts.dropFirst().allSatisfy { p in (1...2).contains(p.count) && p.allSatisfy(isDigit) && (p.count == 1 || p.first! <= "5") }
        }
        return false
    }

    static func isFloat(_ s: String) -> Bool {
        if [".nan", ".NaN", ".NAN"].contains(s) { return true }
        let (_, b) = unsigned(s)
        if [".inf", ".Inf", ".INF"].contains(b) { return true }
        if b.hasPrefix(".") {  // .5, .5e+3 (unsigned only)
            guard s.first != "-" && s.first != "+" else { return false }
            var rest = b.dropFirst()
            let mantissa = rest.prefix { isDigit($0) || $0 == "_" }
            guard !mantissa.isEmpty else { return false }
            rest = rest.dropFirst(mantissa.count)
            if rest.isEmpty { return true }
            guard rest.first == "e" || rest.first == "E" else { return false }
            rest = rest.dropFirst()
            guard rest.first == "-" || rest.first == "+" else { return false }
            return all(rest.dropFirst(), isDigit)
        }
        guard let f = b.first, isDigit(f) else { return false }
        if b.contains(":") {  // sexagesimal 1:30.5
            let parts = b.split(separator: ":", omittingEmptySubsequences: false)
            guard all(parts[0], { isDigit($0) || $0 == "_" }), let last = parts.last, parts.count >= 2 else { return false }
            for p in parts.dropFirst().dropLast() where !((1...2).contains(p.count) && p.allSatisfy(isDigit)) { return false }
            guard let dot = last.firstIndex(of: ".") else { return false }
            let sec = last[..<dot]
            return (1...2).contains(sec.count) && sec.allSatisfy(isDigit) && last[last.index(after: dot)...].allSatisfy { isDigit($0) || $0 == "_" }
        }
        var rest = b.drop { isDigit($0) || $0 == "_" }
        if rest.first == "." { rest = rest.dropFirst().drop { isDigit($0) || $0 == "_" } }
        if rest.isEmpty { return true }
        guard rest.first == "e" || rest.first == "E" else { return false }
        rest = rest.dropFirst()
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        return all(rest, isDigit)
    }

    static func int(_ s: String) -> Int? {
        guard isInt(s) else { return nil }
        let (negative, b) = unsigned(s)
        let body = b.filter { $0 != "_" }
        var value: Int?
        if body.hasPrefix("0b") { value = Int(body.dropFirst(2), radix: 2) }
        else if body.hasPrefix("0x") { value = Int(body.dropFirst(2), radix: 16) }
        else if body.hasPrefix("0o") { value = Int(body.dropFirst(2), radix: 8) }
        else if body.hasPrefix("0") && body.count > 1 { value = Int(body.dropFirst(), radix: 8) }
        else if body.contains(":") {
            value = body.split(separator: ":").reduce(0 as Int?) { acc, p in acc.flatMap { a in Int(p).map { a * 60 + $0 } } }
        } else { value = Int(body) }
        return value.map { negative ? -$0 : $0 }
    }

    static func double(_ s: String) -> Double? {
        if [".nan", ".NaN", ".NAN"].contains(s) { return .nan }
        let (negative, b) = unsigned(s)
        if [".inf", ".Inf", ".INF"].contains(b) { return negative ? -.infinity : .infinity }
        let body = b.filter { $0 != "_" }
        var value: Double?
        if body.contains(":") {
            value = body.split(separator: ":").reduce(0 as Double?) { acc, p in acc.flatMap { a in Double(p).map { a * 60 + $0 } } }
        } else { value = Double(body.hasPrefix(".") ? "0" + body : body) }
        return value.map { negative ? -$0 : $0 }
    }
}

// MARK: - Writing

extension YAMLText {
    /// `value` as a YAML document (block style, keys sorted, libyaml's emitter as Yams set it up).
    /// `isNull` says which values are the caller's null.
    public static func dump(_ value: Any, isNull: @escaping (Any) -> Bool = { _ in false }) throws -> String {
        let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
        emitter.initialize(to: yaml_emitter_t())
        yaml_emitter_initialize(emitter)
        defer { yaml_emitter_delete(emitter); emitter.deallocate() }
        var output: [UInt8] = []
        return try withUnsafeMutablePointer(to: &output) { out -> String in
            yaml_emitter_set_output(emitter, { context, buffer, size in
                guard let context, let buffer else { return 0 }
                context.assumingMemoryBound(to: [UInt8].self).pointee.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
                return 1
            }, out)
            yaml_emitter_set_canonical(emitter, 0)
            yaml_emitter_set_indent(emitter, 0)
            yaml_emitter_set_width(emitter, 0)
            yaml_emitter_set_unicode(emitter, 0)
            yaml_emitter_set_break(emitter, YAML_LN_BREAK)
            let writer = Writer(emitter: emitter, isNull: isNull)
            var event = yaml_event_t()
            yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
            try writer.emit(&event)
            yaml_document_start_event_initialize(&event, nil, nil, nil, 1)
            try writer.emit(&event)
            try writer.write(value)
            yaml_document_end_event_initialize(&event, 1)
            try writer.emit(&event)
            yaml_stream_end_event_initialize(&event)
            try writer.emit(&event)
            yaml_emitter_flush(emitter)
            return String(decoding: out.pointee, as: UTF8.self)
        }
    }

    struct Writer {
        let emitter: UnsafeMutablePointer<yaml_emitter_t>
        let isNull: (Any) -> Bool

        func emit(_ event: inout yaml_event_t) throws {
            guard yaml_emitter_emit(emitter, &event) == 1 else {
                throw YAMLError(description: emitter.pointee.problem.map { String(cString: $0) } ?? "YAML emitter error")
            }
        }

        func scalar(_ text: String, tag: String, style: yaml_scalar_style_t = YAML_ANY_SCALAR_STYLE) throws {
            var event = yaml_event_t()
            var value = Array(text.utf8CString), tagBytes = Array(("tag:yaml.org,2002:" + tag).utf8CString)
            value.withUnsafeMutableBytes { v in
                tagBytes.withUnsafeMutableBytes { t in
                    _ = yaml_scalar_event_initialize(&event, nil, t.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                     v.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(text.utf8.count), 1, 1, style)
                }
            }
            try emit(&event)
        }

        func write(_ value: Any) throws {
            var event = yaml_event_t()
            switch value {
            case let s as String:
                // A string that would read back as another type is quoted (Yams: single quotes).
                try scalar(s, tag: "str", style: YAMLText.resolve(s) == "str" ? YAML_ANY_SCALAR_STYLE : YAML_SINGLE_QUOTED_SCALAR_STYLE)
            case let b as Bool: try scalar(b ? "true" : "false", tag: "bool")
            case let i as Int: try scalar(String(i), tag: "int")
            case let i as Int64: try scalar(String(i), tag: "int")
            case let d as Double:
                // People write 2.5, not Yams's 2.5e+0 (edit-config rewrote those; now they are written so).
                let text = d.isNaN ? ".nan" : d.isInfinite ? (d < 0 ? "-.inf" : ".inf") : "\(d)"
                try scalar(text, tag: "float")
            case let a as [Any]:
                var tag = Array("tag:yaml.org,2002:seq".utf8CString)
                tag.withUnsafeMutableBytes { t in
                    _ = yaml_sequence_start_event_initialize(&event, nil, t.baseAddress?.assumingMemoryBound(to: UInt8.self), 1, YAML_ANY_SEQUENCE_STYLE)
                }
                try emit(&event)
                for item in a { try write(item) }
                yaml_sequence_end_event_initialize(&event)
                try emit(&event)
            case let d as [String: Any]:
                var tag = Array("tag:yaml.org,2002:map".utf8CString)
                tag.withUnsafeMutableBytes { t in
                    _ = yaml_mapping_start_event_initialize(&event, nil, t.baseAddress?.assumingMemoryBound(to: UInt8.self), 1, YAML_ANY_MAPPING_STYLE)
                }
                try emit(&event)
                for k in d.keys.sorted() {
                    try write(k)
                    try write(d[k]!)
                }
                yaml_mapping_end_event_initialize(&event)
                try emit(&event)
            case _ where isNull(value): try scalar("null", tag: "null")
            default: throw YAMLError(description: "Failed to represent \(value)")
            }
        }
    }
}
