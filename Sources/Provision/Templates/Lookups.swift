import Foundation
import Spawn

/// `lookup(name, terms…, key=value…)` and `query(…)` (`q`), run on the controller as Ansible's
/// lookup plugins are. Each plugin returns a list; `query` and `wantlist=True` keep it, `lookup`
/// joins strings with commas (one non-string element comes back as itself), as Ansible does.
enum Lookups {
    static let plugins = ["env", "file", "password", "pipe", "lines", "vars", "varnames", "items", "list",
                          "first_found", "template", "indexed_items", "together", "dict"]

    static func call(wantList: Bool, args: [Any], named: [String: Any], variables: @escaping (String) -> Any?) throws -> Any {
        guard let kind = args.first.map({ Values.string($0) }) else { throw ProvisionError("lookup() needs a plugin name") }
        let terms = Array(args.dropFirst())
        var named = named
        let asList = wantList || Values.truthy(named.removeValue(forKey: "wantlist") ?? false)
        let ran = try run(kind, terms, named, variables)
        if asList { return ran }
        if ran.isEmpty { return ran }
        if ran.allSatisfy({ $0 is String }) { return ran.map { Values.string($0) }.joined(separator: ",") }
        return ran.count == 1 ? ran[0] : ran
    }

    static func run(_ kind: String, _ terms: [Any], _ named: [String: Any], _ variables: @escaping (String) -> Any?) throws -> [Any] {
        func strings() -> [String] { terms.flatMap { ($0 as? [Any]) ?? [$0] }.map { Values.string($0) } }
        switch kind {
        case "env":
            let env = ProcessInfo.processInfo.environment
            return strings().map { env[$0] ?? named["default"].map { Values.string($0) } ?? "" }
        case "file":
            return try strings().map { name in
                let path = try controllerFile(name, kind: "files", variables)
                guard let d = FileManager.default.contents(atPath: path) else { throw ProvisionError("lookup('file'): cannot read \(path)") }
                var text = String(decoding: d, as: UTF8.self)
                if Values.truthy(named["rstrip"] ?? true) { while let c = text.last, c.isWhitespace { text.removeLast() } }
                if Values.truthy(named["lstrip"] ?? false) { text = String(text.drop { $0 == " " || $0 == "\n" }) }
                return text
            }
        case "password": return try strings().map { try PasswordLookup.value($0) }
        case "pipe", "lines":
            var out: [Any] = []
            for command in strings() {
                let r = try Spawn.run("/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment,
                                      directory: variables("playbook_dir").map { Values.string($0) })
                guard r.status == 0 else {
                    throw ProvisionError("lookup('\(kind)'): '\(command)' exited with status \(r.status): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
                if kind == "pipe" {
                    var s = r.stdout
                    while s.hasSuffix("\n") { s.removeLast() }
                    out.append(s)
                } else {
                    out += r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(r.stdout.hasSuffix("\n") ? 1 : 0) as [Any]
                }
            }
            return out
        case "vars":
            return try strings().map { name in
                if let v = variables(name) { return v }
                if let d = named["default"] { return d }
                throw UndefinedVariableError(name: name)
            }
        case "varnames":
            let all = (variables("vars") as? [String: Any])?.keys.sorted() ?? []
            return try strings().flatMap { pattern -> [Any] in
                guard let re = try? NSRegularExpression(pattern: pattern) else { throw ProvisionError("lookup('varnames'): invalid regex '\(pattern)'") }
                return all.filter { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)).map { $0.range.location == 0 } ?? false }
            }
        case "items": return terms.flatMap { ($0 as? [Any]) ?? [$0] }.flatMap { ($0 as? [Any]) ?? [$0] }
        case "list": return terms.count == 1 ? (terms[0] as? [Any] ?? terms) : terms
        case "indexed_items":
            return terms.flatMap { ($0 as? [Any]) ?? [$0] }.enumerated().map { [$0.offset, $0.element] as [Any] }
        case "together": return together(terms)
        case "dict":
            return try terms.flatMap { t -> [Any] in
                guard let d = t as? [String: Any] else { throw ProvisionError("lookup('dict') expects a mapping, got \(Values.typeName(t))") }
                return d.keys.sorted().map { ["key": $0, "value": d[$0]!] as [String: Any] }
            }
        case "first_found": return try firstFound(terms, named, variables)
        case "template":
            return try strings().map { name in
                let path = try controllerFile(name, kind: "templates", variables)
                return try StencilTemplate(path: path).render(lookup: variables)
            }
        default:
            throw ProvisionError("lookup plugin '\(kind)' is not supported (\(plugins.joined(separator: ", ")))")
        }
    }

    /// `with_together` / `lookup('together', a, b)`: the lists side by side, the shorter ones
    /// padded with None.
    static func together(_ terms: [Any]) -> [Any] {
        let lists = (terms.count == 1 ? (terms[0] as? [Any] ?? terms) : terms).map { ($0 as? [Any]) ?? [$0] }
        let n = lists.map(\.count).max() ?? 0
        return (0..<n).map { i in lists.map { i < $0.count ? $0[i] : NSNull() } as [Any] }
    }

    /// Ansible's first_found: terms are names or `{files: [...], paths: [...], skip: bool}`;
    /// relative names are searched in the role's and the playbook's `files/` and directories.
    static func firstFound(_ terms: [Any], _ named: [String: Any], _ variables: (String) -> Any?) throws -> [Any] {
        var files: [String] = [], paths: [String] = []
        var skip = Values.truthy(named["skip"] ?? false)
        func add(_ spec: [String: Any]) {
            files += ((spec["files"] as? [Any]) ?? spec["files"].map { [$0] } ?? []).flatMap { Values.string($0).split(separator: ",").map(String.init) }
            paths += ((spec["paths"] as? [Any]) ?? spec["paths"].map { [$0] } ?? []).flatMap { Values.string($0).split(separator: ":").map(String.init) }
            if let s = spec["skip"] { skip = Values.truthy(s) }
        }
        add(named)
        for t in terms.flatMap({ ($0 as? [Any]) ?? [$0] }) {
            if let d = t as? [String: Any] { add(d) } else { files.append(Values.string(t)) }
        }
        for f in files {
            let candidates = f.hasPrefix("/") ? [f] : (paths.isEmpty ? searchPath(f, kind: "files", variables) : paths.map { "\($0)/\(f)" })
            if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return [found] }
        }
        if skip { return [] }
        throw ProvisionError("No file was found when using first_found (looked for \(files.joined(separator: ", ")))")
    }

    static func searchPath(_ name: String, kind: String, _ variables: (String) -> Any?) -> [String] {
        let role = variables("role_path").map { Values.string($0) }
        let book = variables("playbook_dir").map { Values.string($0) } ?? "."
        return (role.map { ["\($0)/\(kind)/\(name)", "\($0)/\(name)"] } ?? []) + ["\(book)/\(kind)/\(name)", "\(book)/\(name)"]
    }

    /// A controller file: absolute, else the first of `searchPath` that exists.
    static func controllerFile(_ name: String, kind: String, _ variables: (String) -> Any?) throws -> String {
        if name.hasPrefix("/") { return name }
        let candidates = searchPath(name, kind: kind, variables)
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ProvisionError("lookup: cannot find '\(name)' (looked in \(candidates.joined(separator: ", ")))")
        }
        return found
    }
}
