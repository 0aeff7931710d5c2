import Foundation
import Glibc

/// The older `with_*` loops whose items are computed from their value, as Ansible's nested,
/// sequence and subelements lookups document them.
enum LoopLookups {
    /// `with_nested: [[a, b], [1, 2]]` → `[a, 1], [a, 2], [b, 1], [b, 2]`.
    static func nested(_ value: Any) throws -> [Any] {
        guard let lists = value as? [Any], !lists.isEmpty else {
            throw ProvisionError("with_nested requires a non-empty list of lists, got \(Values.typeName(value))")
        }
        var product: [[Any]] = [[]]
        for term in lists {
            let options = term as? [Any] ?? [term]
            product = product.flatMap { prefix in options.map { prefix + [$0] } }
        }
        return product
    }

    /// `with_sequence: start=1 end=5 stride=1 format=node%02d` or the shortcut `[start-]end[/stride][:format]`;
    /// `count=N` instead of `end`. Items are strings, as in Ansible.
    static func sequence(_ value: Any) throws -> [Any] {
        let text = Values.string(value).trimmingCharacters(in: .whitespaces)
        var start = 1, stride = 1, end: Int?, count: Int?, format = "%d"
        if text.contains("=") {
            let known = ["start", "end", "count", "stride", "format"]
            for word in text.split(separator: " ", omittingEmptySubsequences: true) {
                let kv = word.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, known.contains(kv[0]) else {
                    throw ProvisionError("with_sequence: unknown or malformed option '\(word)' (\(known.joined(separator: ", ")))")
                }
                switch kv[0] {
                case "format": format = kv[1]
                case "start": start = try integer(kv[1], "start")
                case "end": end = try integer(kv[1], "end")
                case "count": count = try integer(kv[1], "count")
                default: stride = try integer(kv[1], "stride")
                }
            }
        } else {
            var rest = Substring(text)
            if let colon = rest.firstIndex(of: ":") { format = String(rest[rest.index(after: colon)...]); rest = rest[..<colon] }
            if let slash = rest.firstIndex(of: "/") { stride = try integer(String(rest[rest.index(after: slash)...]), "stride"); rest = rest[..<slash] }
            if let dash = rest.dropFirst().firstIndex(of: "-") {
                start = try integer(String(rest[..<dash]), "start"); rest = rest[rest.index(after: dash)...]
            }
            guard !rest.isEmpty else { throw ProvisionError("with_sequence: '\(text)' names no end") }
            end = try integer(String(rest), "end")
        }
        if let c = count {
            guard end == nil else { throw ProvisionError("with_sequence: can't specify both count and end") }
            guard c > 0 else { return [] }
            end = start + (c - 1) * stride
        }
        guard let last = end else { throw ProvisionError("with_sequence: must specify count or end in '\(text)'") }
        guard stride != 0 else { return [] }
        if stride > 0 && last < start { throw ProvisionError("with_sequence: to count backwards make stride negative ('\(text)')") }
        if stride < 0 && last > start { throw ProvisionError("with_sequence: to count forward don't make stride negative ('\(text)')") }
        return try Swift.stride(from: start, through: last, by: stride).map { try formatted($0, format) }
    }

    /// `with_subelements: [users, authorized_keys, {skip_missing: true}]` → `[user, key]` per key.
    static func subelements(_ value: Any) throws -> [Any] {
        guard let terms = value as? [Any], terms.count == 2 || terms.count == 3 else {
            throw ProvisionError("with_subelements expects [list, 'subkey'] or [list, 'subkey', {skip_missing: bool}], got \(Values.json(value))")
        }
        guard let outer = terms[0] as? [Any] else { throw ProvisionError("with_subelements: the first term must be a list, got \(Values.typeName(terms[0]))") }
        guard let path = terms[1] as? String, !path.isEmpty else { throw ProvisionError("with_subelements: the second term must be a key name") }
        var skipMissing = false
        if terms.count == 3 {
            guard let flags = terms[2] as? [String: Any] else { throw ProvisionError("with_subelements: the third term must be a mapping of flags") }
            for k in flags.keys where k != "skip_missing" { throw ProvisionError("with_subelements: unknown flag '\(k)' (skip_missing)") }
            skipMissing = flags["skip_missing"] as? Bool ?? false
        }
        var items: [Any] = []
        for element in outer {
            var node: Any? = element
            for key in path.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
            guard let found = node else {
                if skipMissing { continue }
                throw ProvisionError("with_subelements: could not find '\(path)' key in iterated item \(Values.json(element))")
            }
            guard let list = found as? [Any] else { throw ProvisionError("with_subelements: the key '\(path)' should point to a list, got \(Values.typeName(found))") }
            items += list.map { [element, $0] as [Any] }
        }
        return items
    }

    /// `with_fileglob: ["*.conf"]`: controller files (not directories) matching each pattern, sorted;
    /// a relative pattern is looked up in `files/` beside the playbook, then beside the playbook.
    static func fileglob(_ value: Any, playbookDir: String) throws -> [Any] {
        let patterns = (value as? [Any] ?? [value]).map { Values.string($0) }
        var found: [String] = []
        for pattern in patterns {
            let bases = pattern.hasPrefix("/") ? [""] : [playbookDir + "/files/", playbookDir + "/"]
            for base in bases {
                let matches = glob(base + pattern)
                if !matches.isEmpty { found += matches; break }
            }
        }
        return found
    }

    private static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var paths: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            guard let p = g.gl_pathv[i].map({ String(cString: $0) }) else { continue }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { paths.append(p) }
        }
        return paths.sorted()
    }

    private static func integer(_ s: String, _ what: String) throws -> Int {
        let t = s.lowercased()
        let n = t.hasPrefix("0x") ? Int(t.dropFirst(2), radix: 16) : t.hasPrefix("0o") ? Int(t.dropFirst(2), radix: 8) : Int(t)
        guard let v = n else { throw ProvisionError("with_sequence: can't parse \(what)='\(s)' as an integer") }
        return v
    }

    /// Python's `%` with one integer (`%d`, `%02d`, `%x`, `%o`, literal `%%`).
    private static func formatted(_ n: Int, _ format: String) throws -> String {
        let (text, used) = try PythonFormat.percent(format, [n, n])
        guard used == 1 else { throw ProvisionError("with_sequence: format '\(format)' \(used == 0 ? "has no %d-style field" : "takes one number")") }
        return text
    }
}
