// JSON text ↔ plain Swift values ([String: Any], [Any], String, Int, Double, Bool, JSONNull), in
// place of Foundation's JSONSerialization: the agent links FoundationEssentials only (issue 14), and
// JSONSerialization, NSNumber and NSNull live in full Foundation. The output is what
// JSONSerialization wrote (numbers, escapes, `.sortedKeys` order), so keys in etcd do not change.

/// JSON's null (NSNull's place).
public struct JSONNull: Equatable, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "<null>" }
}

public struct JSONError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String, at offset: Int) { description = "invalid JSON at byte \(offset): \(message)" }
}

public enum JSONText {
    /// Parses one JSON value; integers that fit are Int, other numbers Double.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws -> Any where Bytes.Element == UInt8 {
        var reader = JSONReader(Array(bytes))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.atEnd else { throw JSONError("garbage after the value", at: reader.index) }
        return value
    }

    public static func parse(_ text: String) throws -> Any { try parse(Array(text.utf8)) }

    /// The object parsed from `text` when it is a JSON object, else nil.
    public static func object(_ text: String) -> [String: Any]? { (try? parse(text)) as? [String: Any] }

    /// JSON text of `value`; `sortedKeys` orders keys as JSONSerialization's `.sortedKeys` does,
    /// `escapeSlashes` writes "/" as "\/" as JSONSerialization does without `.withoutEscapingSlashes`.
    public static func encode(_ value: Any, sortedKeys: Bool = false, escapeSlashes: Bool = true) throws -> String {
        var out = ""
        try write(value, into: &out, sortedKeys: sortedKeys, escapeSlashes: escapeSlashes)
        return out
    }

    public static func bytes(_ value: Any, sortedKeys: Bool = false, escapeSlashes: Bool = true) throws -> [UInt8] {
        Array(try encode(value, sortedKeys: sortedKeys, escapeSlashes: escapeSlashes).utf8)
    }

    static func write(_ value: Any, into out: inout String, sortedKeys: Bool, escapeSlashes: Bool) throws {
        switch value {
        case let s as String: quote(s, into: &out, escapeSlashes: escapeSlashes)
        case let s as Substring: quote(String(s), into: &out, escapeSlashes: escapeSlashes)
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let i as Int64: out += String(i)
        case let i as Int32: out += String(i)
        case let i as UInt64: out += String(i)
        case let i as UInt32: out += String(i)
        case let d as Double: out += try number(d)
        case let f as Float: out += try number(Double(f))
        case is JSONNull: out += "null"
        case let d as [String: Any]:
            out += "{"
            let keys = sortedKeys ? d.keys.sorted(by: JSONText.keyOrder) : Array(d.keys)
            for (n, k) in keys.enumerated() {
                if n > 0 { out += "," }
                quote(k, into: &out, escapeSlashes: escapeSlashes)
                out += ":"
                try write(d[k]!, into: &out, sortedKeys: sortedKeys, escapeSlashes: escapeSlashes)
            }
            out += "}"
        case let a as [Any]:
            out += "["
            for (n, v) in a.enumerated() {
                if n > 0 { out += "," }
                try write(v, into: &out, sortedKeys: sortedKeys, escapeSlashes: escapeSlashes)
            }
            out += "]"
        default: throw JSONError("\(type(of: value)) is not a JSON value", at: 0)
        }
    }

    /// Doubles as JSONSerialization writes them: 2.0 as 2, 1e20 as 1e+20.
    static func number(_ d: Double) throws -> String {
        guard d.isFinite else { throw JSONError("\(d) is not a JSON number", at: 0) }
        let s = "\(d)"
        return s.hasSuffix(".0") ? String(s.dropLast(2)) : s
    }

    static func quote(_ s: String, into out: inout String, escapeSlashes: Bool) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += escapeSlashes ? "\\/" : "/"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    /// Punctuation in the order of Unicode's collation, before digits and letters.
    static let punctuation = Array(" _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$".unicodeScalars)

    /// `.sortedKeys` order: case-insensitive, runs of digits by value ("n2" before "n10"), then
    /// lower case before upper case, punctuation before digits and letters (what JSONSerialization
    /// gives for ASCII keys).
    public static func keyOrder(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0, j = 0
        func isDigit(_ u: Unicode.Scalar) -> Bool { u.value >= 48 && u.value <= 57 }
        func folded(_ u: Unicode.Scalar) -> UInt32 {
            if u.value >= 65 && u.value <= 90 { return 1000 + u.value + 32 }
            if u.value >= 97 && u.value <= 122 || u.value >= 48 && u.value <= 57 { return 1000 + u.value }
            if let rank = punctuation.firstIndex(of: u) { return UInt32(rank) }
            return 2000 + u.value
        }
        while i < x.count && j < y.count {
            if isDigit(x[i]) && isDigit(y[j]) {
                var m = i, n = j
                while m < x.count && isDigit(x[m]) { m += 1 }
                while n < y.count && isDigit(y[n]) { n += 1 }
                let p = x[i..<m].drop { $0 == "0" }, q = y[j..<n].drop { $0 == "0" }
                if p.count != q.count { return p.count < q.count }
                for (c, d) in zip(p, q) where c != d { return c.value < d.value }
                i = m; j = n
                continue
            }
            let c = folded(x[i]), d = folded(y[j])
            if c != d { return c < d }
            i += 1; j += 1
        }
        if (x.count - i) != (y.count - j) { return (x.count - i) < (y.count - j) }
        for (c, d) in zip(x, y) where c != d { return c.value > d.value }  // lower case first
        return false
    }
}

/// Numbers and booleans out of parsed JSON (or YAML) values, converting as NSNumber did: an
/// integral Double is an Int, an Int is a Double, 0 and 1 are booleans.
public enum JSONNumber {
    public static func int(_ v: Any?) -> Int? {
        switch v {
        case let i as Int: return i
        case let i as Int64: return Int(exactly: i)
        case let d as Double: return Int(exactly: d)
        default: return nil
        }
    }

    public static func int64(_ v: Any?) -> Int64? {
        switch v {
        case let i as Int: return Int64(i)
        case let i as Int64: return i
        case let d as Double: return Int64(exactly: d)
        default: return nil
        }
    }

    public static func double(_ v: Any?) -> Double? {
        switch v {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let i as Int64: return Double(i)
        case let b as Bool: return b ? 1 : 0
        default: return nil
        }
    }

    /// Truncating, as NSNumber's intValue does (for values used as counts and priorities).
    public static func truncatedInt(_ v: Any?) -> Int? {
        switch v {
        case let i as Int: return i
        case let i as Int64: return Int(truncatingIfNeeded: i)
        case let d as Double: return d.isFinite && abs(d) < 9.2e18 ? Int(d) : nil
        case let b as Bool: return b ? 1 : 0
        default: return nil
        }
    }

    public static func truncatedInt64(_ v: Any?) -> Int64? {
        switch v {
        case let i as Int: return Int64(i)
        case let i as Int64: return i
        case let d as Double: return d.isFinite && abs(d) < 9.2e18 ? Int64(d) : nil
        case let b as Bool: return b ? 1 : 0
        default: return nil
        }
    }

    public static func bool(_ v: Any?) -> Bool? {
        switch v {
        case let b as Bool: return b
        case let i as Int where i == 0 || i == 1: return i == 1
        case let d as Double where d == 0 || d == 1: return d == 1
        default: return nil
        }
    }

    /// A number (not a boolean, not a string).
    public static func isNumber(_ v: Any?) -> Bool { v is Int || v is Int64 || v is Double }

    /// A number as NSNumber described it (1.0 as "1.0"), nil when `v` is no number; booleans as 1 / 0.
    public static func text(_ v: Any?) -> String? {
        switch v {
        case let b as Bool: return b ? "1" : "0"
        case let i as Int: return String(i)
        case let i as Int64: return String(i)
        case let d as Double: return "\(d)"
        default: return nil
        }
    }
}

struct JSONReader {
    let bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func expect(_ literal: String, _ value: Any) throws -> Any {
        let l = Array(literal.utf8)
        guard index + l.count <= bytes.count, Array(bytes[index..<index + l.count]) == l else {
            throw JSONError("unexpected character", at: index)
        }
        index += l.count
        return value
    }

    mutating func value(depth: Int) throws -> Any {
        guard depth < 512 else { throw JSONError("nested too deeply", at: index) }
        guard index < bytes.count else { throw JSONError("unexpected end", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var out: [String: Any] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return out }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw JSONError("expected a key", at: index) }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw JSONError("expected ':'", at: index) }
                index += 1
                skipSpace()
                out[key] = try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw JSONError("unexpected end", at: index) }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return out }
                throw JSONError("expected ',' or '}'", at: index)
            }
        case UInt8(ascii: "["):
            index += 1
            var out: [Any] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return out }
            while true {
                skipSpace()
                out.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw JSONError("unexpected end", at: index) }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return out }
                throw JSONError("expected ',' or ']'", at: index)
            }
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): return try expect("true", true)
        case UInt8(ascii: "f"): return try expect("false", false)
        case UInt8(ascii: "n"): return try expect("null", JSONNull())
        default: return try number()
        }
    }

    mutating func number() throws -> Any {
        let start = index
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digitsStart = index
        while index < bytes.count {
            let c = bytes[index]
            if c >= 0x30 && c <= 0x39 { index += 1; continue }
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                integral = false; index += 1; continue
            }
            break
        }
        guard index > digitsStart, bytes[digitsStart] >= 0x30 && bytes[digitsStart] <= 0x39 else {
            throw JSONError("unexpected character", at: start)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let i = Int(text) { return i }
        guard let d = Double(text) else { throw JSONError("invalid number \(text)", at: start) }
        return d
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw JSONError("invalid \\u escape", at: index)
        }
        index += 4
        return v
    }

    mutating func string() throws -> String {
        index += 1  // the opening quote
        var out = [UInt8]()
        while true {
            guard index < bytes.count else { throw JSONError("unterminated string", at: index) }
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { break }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard index < bytes.count else { throw JSONError("unterminated string", at: index) }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    index += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw JSONError("invalid surrogate pair", at: index) }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(v) else { throw JSONError("invalid \\u escape", at: index) }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw JSONError("invalid escape", at: index - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
