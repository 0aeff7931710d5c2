import Foundation

/// The filters of `{{ x | f(args) }}` (and of the template module) and the few Python string
/// and dict methods Ansible users call (`x.items()`, `s.startswith('a')`, `s.split(',')`).
/// `default` is handled by the evaluator because it must see undefined values.
enum Filters {
    static let names: Set<String> = [
        "default", "d", "join", "length", "count", "int", "float", "bool", "lower", "upper", "to_json", "to_nice_json",
        "to_yaml", "to_nice_yaml", "from_json", "b64encode", "b64decode", "regex_replace", "regex_search", "trim", "string",
        "first", "last", "replace", "list", "sort", "unique", "min", "max", "sum", "dict2items", "items2dict", "map",
        "select", "reject", "selectattr", "rejectattr", "combine", "basename", "dirname", "quote", "abs", "round",
        "capitalize", "split", "hash", "mandatory", "flatten", "difference", "union", "intersect", "zip", "keys", "values",
        "expanduser", "ternary", "dict", "regex_findall", "checksum", "sha1", "zip_longest", "extract", "format", "type_debug",
        "password_hash", "ipaddr", "ipv4", "ipv6", "ipwrap", "hwaddr", "macaddr",
    ]

    /// `ansible.builtin.to_json` → `to_json`: the collections whose filters are built in here.
    static func shortName(_ name: String) -> String {
        for prefix in ["ansible.builtin.", "ansible.utils.", "ansible.netcommon."] where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count))
        }
        return name
    }

    static func apply(_ name: String, to v: Any, args: [Any], named: [String: Any] = [:]) throws -> Any {
        func arg(_ i: Int) -> Any? { args.count > i ? args[i] : nil }
        func str(_ i: Int, _ d: String = "") -> String { arg(i).map { Values.string($0) } ?? d }
        func list() throws -> [Any] {
            if let a = v as? [Any] { return a }
            if let d = v as? [String: Any] { return d.keys.sorted() }
            if let s = v as? String { return s.map { String($0) } }
            throw ProvisionError("filter '\(name)' needs a list, got \(Values.typeName(v))")
        }
        switch name {
        case "join": return try list().map { Values.string($0) }.joined(separator: str(0))
        case "length", "count":
            if let s = v as? String { return s.count }
            if let d = v as? [String: Any] { return d.count }
            return try list().count
        case "int":
            if let b = v as? Bool { return b ? 1 : 0 }
            if let i = v as? Int { return i }
            if let d = v as? Double { return Int(d) }
            let s = Values.string(v).trimmingCharacters(in: .whitespaces)
            return Int(s) ?? Double(s).map { Int($0) } ?? (arg(0) as? Int ?? 0)
        case "float": return Values.number(v) ?? Double(Values.string(v).trimmingCharacters(in: .whitespaces)) ?? 0.0
        case "abs": if let i = v as? Int { return abs(i) }; return abs(Values.number(v) ?? 0)
        case "round": return ((Values.number(v) ?? 0) * pow(10, Double(arg(0) as? Int ?? 0))).rounded() / pow(10, Double(arg(0) as? Int ?? 0))
        case "bool":
            if let b = v as? Bool { return b }
            if let s = v as? String { return ["true", "yes", "on", "1", "y"].contains(s.lowercased().trimmingCharacters(in: .whitespaces)) }
            return Values.truthy(v)
        case "lower": return Values.string(v).lowercased()
        case "upper": return Values.string(v).uppercased()
        case "capitalize": let s = Values.string(v); return s.prefix(1).uppercased() + s.dropFirst().lowercased()
        case "trim": return Values.string(v).trimmingCharacters(in: .whitespacesAndNewlines)
        case "string": return Values.string(v)
        case "quote": return Values.shellQuote(Values.string(v))
        case "to_json": return Values.json(v)
        case "to_nice_json": return Values.json(v, pretty: true)
        case "from_json": return try Values.parseJSON(Values.string(v))
        case "to_yaml", "to_nice_yaml": return Values.yaml(v)
        case "b64encode": return Data(Values.string(v).utf8).base64EncodedString()
        case "b64decode":
            guard let d = Data(base64Encoded: Values.string(v)) else { throw ProvisionError("b64decode: not base64") }
            return String(decoding: d, as: UTF8.self)
        case "regex_replace":
            let re = try PythonRegex.compile(str(0), options: regexOptions(named))
            let s = Values.string(v)
            return re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s),
                                               withTemplate: PythonRegex.template(str(1), groups: PythonRegex.groupNumbers(str(0))))
        case "regex_search":
            let s = Values.string(v)
            guard let m = try regex(str(0)).firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
                  let r = Range(m.range, in: s) else { return NSNull() }
            return String(s[r])
        case "replace": return Values.string(v).replacingOccurrences(of: str(0), with: str(1))
        case "split": return Values.string(v).components(separatedBy: arg(0) == nil ? " " : str(0)).filter { arg(0) != nil || !$0.isEmpty }
        case "first": return try list().first ?? NSNull()
        case "last": return try list().last ?? NSNull()
        case "list": return try list()
        case "keys": return (v as? [String: Any])?.keys.sorted() ?? []
        case "values": return (v as? [String: Any]).map { d in d.keys.sorted().map { d[$0]! } } ?? []
        case "flatten":
            // Ansible: every level unless `levels`, nulls dropped unless skip_nulls=false.
            let levels = (arg(0) as? Int) ?? (named["levels"] as? Int) ?? Int.max
            let skipNulls = named["skip_nulls"].map { Values.truthy($0) } ?? true
            func flat(_ l: [Any], _ levels: Int) -> [Any] {
                l.flatMap { e -> [Any] in
                    if let a = e as? [Any], levels > 0 { return flat(a, levels - 1) }
                    return skipNulls && e is NSNull ? [] : [e]
                }
            }
            return flat(try list(), levels)
        case "sort":
            return try list().sorted { Values.compare($0, $1) == .orderedAscending }
        case "unique":
            var out: [Any] = []
            for e in try list() where !out.contains(where: { Values.equal($0, e) }) { out.append(e) }
            return out
        case "difference": let o = arg(0) as? [Any] ?? []; return try list().filter { e in !o.contains { Values.equal($0, e) } }
        case "intersect": let o = arg(0) as? [Any] ?? []; return try list().filter { e in o.contains { Values.equal($0, e) } }
        case "union": return try apply("unique", to: try list() + (arg(0) as? [Any] ?? []), args: [])
        case "zip", "zip_longest":
            let lists = [try list()] + args.map { $0 as? [Any] ?? [] }
            let n = name == "zip" ? lists.map(\.count).min() ?? 0 : lists.map(\.count).max() ?? 0
            return (0..<n).map { i in lists.map { i < $0.count ? $0[i] : (named["fillvalue"] ?? NSNull()) } as [Any] }
        case "min": return try list().min { Values.compare($0, $1) == .orderedAscending } ?? NSNull()
        case "max": return try list().max { Values.compare($0, $1) == .orderedAscending } ?? NSNull()
        case "sum":
            let l = try list()
            if l.allSatisfy({ $0 is Int }) { return l.reduce(0) { $0 + ($1 as! Int) } }
            return l.reduce(0.0) { $0 + (Values.number($1) ?? 0) }
        case "dict2items":
            guard let d = v as? [String: Any] else { throw ProvisionError("dict2items needs a mapping") }
            return d.keys.sorted().map { ["key": $0, "value": d[$0]!] as [String: Any] }
        case "items2dict":
            let key = named["key_name"].map { Values.string($0) } ?? "key", value = named["value_name"].map { Values.string($0) } ?? "value"
            var d: [String: Any] = [:]
            for case let e as [String: Any] in try list() {
                guard let k = e[key] else { throw ProvisionError("items2dict: an item has no '\(key)'") }
                d[Values.string(k)] = e[value] ?? NSNull()
            }
            return d
        case "dict": return try function("dict", args: [v])
        case "combine":
            var d = v as? [String: Any] ?? [:]
            for case let o as [String: Any] in args { d.merge(o) { _, n in n } }
            return d
        case "map":
            if let attr = named["attribute"] { return try list().map { ($0 as? [String: Any])?[Values.string(attr)] ?? NSNull() } }
            guard let f = arg(0) else { throw ProvisionError("map needs a filter name or attribute=") }
            return try list().map { try apply(Values.string(f), to: $0, args: Array(args.dropFirst())) }
        case "select", "reject":
            let keep = name == "select"
            return try list().filter { e in
                let ok = arg(0) == nil ? Values.truthy(e) : try ExpressionEvaluator(lookup: { $0 == "x" ? e : nil })
                    .test(.name("x"), str(0), Array(args.dropFirst()))
                return ok == keep
            }
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            return try list().filter { e in
                let d = e as? [String: Any] ?? [:]
                let ok = arg(1) == nil ? Values.truthy(d[str(0)]) : try ExpressionEvaluator(lookup: { $0 == "x" ? d[self.str0(args)] : nil })
                    .test(.name("x"), str(1), Array(args.dropFirst(2)))
                return ok == keep
            }
        case "basename": return (Values.string(v) as NSString).lastPathComponent
        case "dirname": return (Values.string(v) as NSString).deletingLastPathComponent
        case "hash":
            switch str(0, "sha1") {
            case "sha1": return SHA1.hex(Data(Values.string(v).utf8))
            case "sha256": return SHA256.hex(Data(Values.string(v).utf8))
            default: throw ProvisionError("hash: algorithm '\(str(0))' is not supported (sha1, sha256)")
            }
        case "sha256": return SHA256.hex(Data(Values.string(v).utf8))
        case "sha1", "checksum": return SHA1.hex(Data(Values.string(v).utf8))
        case "mandatory": return v
        case "password_hash":
            // Ansible's signature: password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None, ident=None).
            func number(_ key: String, _ i: Int) -> Int? { (named[key] ?? arg(i)).flatMap { Values.number($0) }.map { Int($0) } }
            let salt = (named["salt"] ?? arg(1)).flatMap { $0 is NSNull ? nil : Values.string($0) }
            return try PasswordHash.hash(Values.string(v), hashtype: Values.string(named["hashtype"] ?? arg(0) ?? "sha512"),
                                         salt: salt, saltSize: number("salt_size", 2), rounds: number("rounds", 3),
                                         ident: (named["ident"] ?? arg(4)).flatMap { $0 is NSNull ? nil : Values.string($0) })
        case "ipaddr": return try IPAddressFilter.apply(v, query: Values.string(named["query"] ?? arg(0) ?? ""))
        case "ipv4", "ipv6":
            return try IPAddressFilter.apply(v, query: Values.string(named["query"] ?? arg(0) ?? ""), version: name == "ipv4" ? 4 : 6)
        case "ipwrap": return IPAddressFilter.wrap(v)
        case "hwaddr", "macaddr": return try HWAddressFilter.apply(v, query: Values.string(named["query"] ?? arg(0) ?? ""))
        case "extract":
            // `key | extract(container[, morekeys])`: container[key], then each of morekeys.
            var value: Any? = arg(0)
            for k in [v] + (arg(1).map { ($0 as? [Any]) ?? [$0] } ?? []) {
                if let d = value as? [String: Any] { value = d[Values.string(k)] }
                else if let a = value as? [Any], let i = k as? Int, a.indices.contains(i < 0 ? a.count + i : i) { value = a[i < 0 ? a.count + i : i] }
                else { throw UndefinedVariableError(name: "extract: \(Values.json(k)) not found in \(Values.typeName(value))") }
            }
            return value ?? NSNull()
        case "format": return try PythonFormat.percent(Values.string(v), args).text
        case "type_debug":
            // Python's type names, as Ansible prints them for values it computed.
            switch v {
            case is NSNull: return "NoneType"
            case is Bool: return "bool"
            case is Int: return "int"
            case is Double: return "float"
            case is String: return "str"
            case is [Any]: return "list"
            case is [String: Any]: return "dict"
            default: return Values.typeName(v)
            }
        case "expanduser": return (Values.string(v) as NSString).expandingTildeInPath
        case "ternary":
            if v is NSNull, args.count > 2 { return args[2] }
            return Values.truthy(v) ? arg(0) ?? NSNull() : arg(1) ?? NSNull()
        case "regex_findall":
            let s = Values.string(v) as NSString
            let re = try PythonRegex.compile(str(0), options: regexOptions(named))
            // Python's findall: the whole match, the one group, or a list of the groups.
            return re.matches(in: s as String, range: NSRange(location: 0, length: s.length)).map { m -> Any in
                func group(_ i: Int) -> String { m.range(at: i).location == NSNotFound ? "" : s.substring(with: m.range(at: i)) }
                switch re.numberOfCaptureGroups {
                case 0: return group(0)
                case 1: return group(1)
                default: return (1...re.numberOfCaptureGroups).map(group) as [Any]
                }
            }
        default: throw ProvisionError("unknown filter '\(name)'")
        }
    }

    /// The `ignorecase=` / `multiline=` arguments of the regex filters.
    private static func regexOptions(_ named: [String: Any]) -> NSRegularExpression.Options {
        var options: NSRegularExpression.Options = []
        if Values.truthy(named["ignorecase"]) { options.insert(.caseInsensitive) }
        if Values.truthy(named["multiline"]) { options.insert(.anchorsMatchLines) }
        return options
    }

    private static func str0(_ args: [Any]) -> String { args.first.map { Values.string($0) } ?? "" }

    static func regex(_ p: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: p) } catch { throw ProvisionError("bad regular expression '\(p)'") }
    }

    /// Global functions: `range(n)` / `range(a, b[, step])`, `dict(pairs)`; `lookup` / `query`
    /// are in Lookups.swift.
    static func function(_ name: String, args: [Any]) throws -> Any {
        func int(_ i: Int) throws -> Int {
            guard i < args.count, let n = args[i] as? Int else { throw ProvisionError("\(name)() needs integer arguments") }
            return n
        }
        switch name {
        case "range":
            let (a, b) = args.count == 1 ? (0, try int(0)) : (try int(0), try int(1))
            let step = args.count > 2 ? try int(2) : 1
            guard step != 0 else { throw ProvisionError("range() step must not be 0") }
            return Array(stride(from: a, to: b, by: step)) as [Any]
        case "dict":
            // dict(list_of_pairs), as in `dict(keys | zip(values))`.
            var d: [String: Any] = [:]
            for e in args.first as? [Any] ?? [] {
                guard let pair = e as? [Any], pair.count == 2 else { throw ProvisionError("dict() needs a list of [key, value] pairs") }
                d[Values.string(pair[0])] = pair[1]
            }
            return d
        default: throw ProvisionError("unknown function '\(name)'")
        }
    }

    static func method(_ name: String, on v: Any, args: [Any]) throws -> Any {
        let s = v as? String
        switch (name, v) {
        case ("items", let d as [String: Any]): return d.keys.sorted().map { [$0, d[$0]!] as [Any] }
        case ("keys", let d as [String: Any]): return d.keys.sorted()
        case ("values", let d as [String: Any]): return d.keys.sorted().map { d[$0]! }
        case ("get", let d as [String: Any]): return d[Values.string(args.first)] ?? (args.count > 1 ? args[1] : NSNull())
        default: break
        }
        if let s {
            let a = args.first.map { Values.string($0) } ?? ""
            switch name {
            case "startswith": return s.hasPrefix(a)
            case "endswith": return s.hasSuffix(a)
            case "strip": return s.trimmingCharacters(in: .whitespacesAndNewlines)
            case "lower": return s.lowercased()
            case "upper": return s.uppercased()
            case "split": return args.isEmpty ? s.split(separator: " ").map(String.init) : s.components(separatedBy: a)
            case "replace": return s.replacingOccurrences(of: a, with: args.count > 1 ? Values.string(args[1]) : "")
            default: break
            }
        }
        throw ProvisionError("unknown method '\(name)' on a \(Values.typeName(v))")
    }
}
