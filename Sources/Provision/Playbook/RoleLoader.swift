import Foundation
import Yams

/// A reference to a role: from `roles:`, a `meta/main.yml` dependency, or
/// `include_role` / `import_role` (which may pick other files than main).
struct RoleReference {
    var name: String
    var params: [String: Any] = [:]
    var tasksFrom = "main", varsFrom = "main", defaultsFrom = "main", handlersFrom = "main"
    /// Keywords written on the reference (when, tags, vars, become, …) that flow to every task.
    var outer: TaskSpec
}

/// Loads roles as Ansible lays them out (tasks/, handlers/, defaults/, vars/, meta/, files/,
/// templates/) and expands them statically into tasks, dependencies first. One loader per
/// playbook; `beginPlay` resets what is per play (handlers collected, roles already run).
final class RoleLoader {
    private(set) var handlers: [TaskSpec] = []
    private var ran: Set<String> = []
    private var handlersLoaded: Set<String> = []
    private var stack: [String] = []

    /// The directory of the play being parsed: where include_role searches, even from a role.
    private(set) var playDirectory: String?

    func beginPlay(directory: String) { handlers = []; ran = []; handlersLoaded = []; playDirectory = directory }

    /// Ansible's order: `roles/` beside the playbook, then `ANSIBLE_ROLES_PATH` (else
    /// `roles_path` of an ansible.cfg beside the playbook), then the playbook's directory.
    static func searchPaths(dir: String) -> [String] {
        var configured: [String] = []
        if let env = ProcessInfo.processInfo.environment["ANSIBLE_ROLES_PATH"], !env.isEmpty {
            configured = env.split(separator: ":").map(String.init)
        } else if let cfg = try? String(contentsOfFile: "\(dir)/ansible.cfg", encoding: .utf8) {
            configured = configValue(cfg, section: "defaults", key: "roles_path")?.split(separator: ":").map {
                let p = ($0.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
                return p.hasPrefix("/") ? p : "\(dir)/\(p)"
            } ?? []
        }
        return ["\(dir)/roles"] + configured.map { ($0 as NSString).expandingTildeInPath } + [dir]
    }

    /// `key = value` from an INI section (Ansible's config format; `;`/`#` comments).
    static func configValue(_ text: String, section: String, key: String) -> String? {
        var current = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("[") { current = line.trimmingCharacters(in: CharacterSet(charactersIn: "[]")); continue }
            guard current == section, let eq = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            if line[..<eq].trimmingCharacters(in: .whitespaces) == key { return line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    func find(_ name: String, dir: String, extra: [String], at: SourceLocation) throws -> String {
        var isDir: ObjCBool = false
        if name.contains("/") {
            let p = name.hasPrefix("/") ? name : "\(dir)/\(name)"
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { return (p as NSString).standardizingPath }
            throw ProvisionError("role '\(name)' not found (searched: \(p))", at: at)
        }
        let paths = extra + Self.searchPaths(dir: dir)
        for base in paths {
            let p = "\(base)/\(name)"
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { return (p as NSString).standardizingPath }
        }
        throw ProvisionError("role '\(name)' not found (searched: \(paths.joined(separator: ", ")))", at: at)
    }

    /// `<role>/<sub>/<name>`, `.yml`, `.yaml`; nil when the role has none (main is optional).
    static func file(_ role: String, _ sub: String, _ name: String) -> String? {
        ["\(role)/\(sub)/\(name)", "\(role)/\(sub)/\(name).yml", "\(role)/\(sub)/\(name).yaml"].first {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    func mapping(_ role: String, _ sub: String, _ name: String, at: SourceLocation) throws -> [String: Any] {
        guard let path = Self.file(role, sub, name) else {
            if name == "main" { return [:] }
            throw ProvisionError("role \((role as NSString).lastPathComponent): \(sub) file '\(name)' not found in \(role)/\(sub)", at: at)
        }
        guard let node = try YAMLSource.load(path: path) else { return [:] }
        guard let d = YAMLSource.value(node) as? [String: Any] else {
            throw ProvisionError("\(sub)/\((path as NSString).lastPathComponent) must be a mapping", at: YAMLSource.location(node, file: path))
        }
        return d
    }

    /// The tasks a role reference runs: its dependencies' (each once per parameter set unless
    /// the role allows duplicates), then its own; `dedupe` is off for include_role/import_role.
    func expand(_ ref: RoleReference, dir: String, extra: [String] = [], parser: PlaybookParser, dedupe: Bool) throws -> [TaskSpec] {
        let at = ref.outer.location
        let path = try find(ref.name, dir: dir, extra: extra, at: at)
        guard !stack.contains(path) else { throw ProvisionError("role dependency loop: \((stack + [path]).map { ($0 as NSString).lastPathComponent }.joined(separator: " -> "))", at: at) }
        stack.append(path); defer { stack.removeLast() }
        let roleName = (path as NSString).lastPathComponent
        let meta = try mapping(path, "meta", "main", at: at)
        let key = path + "|" + Values.json(ref.params.merging(ref.outer.vars) { a, _ in a }) + "|" + ref.tasksFrom
        if dedupe {
            if !Values.truthy(meta["allow_duplicates"]) && ran.contains(key) { return [] }
            ran.insert(key)
        }
        let defaults = try mapping(path, "defaults", ref.defaultsFrom, at: at)
        var vars = try mapping(path, "vars", ref.varsFrom, at: at)
        vars["role_name"] = roleName; vars["role_path"] = path
        let scope = RoleScope(name: roleName, path: path, defaults: defaults, vars: vars)
        let metaFile = Self.file(path, "meta", "main") ?? "\(path)/meta/main.yml"
        var tasks: [TaskSpec] = []
        for dep in (meta["dependencies"] as? [Any]) ?? [] {
            let depRef = try reference(dep, at: SourceLocation(file: metaFile), parser: parser)
            tasks += try expand(depRef, dir: dir, extra: [(path as NSString).deletingLastPathComponent], parser: parser, dedupe: true)
        }
        var own: [TaskSpec] = []
        if let f = Self.file(path, "tasks", ref.tasksFrom) {
            if let root = try YAMLSource.load(path: f) { own = try parser.parseTasks(root, file: f, dir: "\(path)/tasks", handlers: false) }
        } else if ref.tasksFrom != "main" {
            throw ProvisionError("role \(roleName): tasks file '\(ref.tasksFrom)' not found in \(path)/tasks", at: at)
        }
        for i in own.indices { own[i].updateAll { if $0.role == nil { $0.role = scope } } }
        tasks += own
        if let f = Self.file(path, "handlers", ref.handlersFrom), handlersLoaded.insert(f).inserted, let root = try YAMLSource.load(path: f) {
            var hs = try parser.parseTasks(root, file: f, dir: "\(path)/handlers", handlers: true)
            for i in hs.indices { hs[i].updateAll { if $0.role == nil { $0.role = scope }; $0.vars = ref.params.merging($0.vars) { _, n in n } } }
            handlers += hs
        }
        // Role parameters are variables of the role's tasks (above its vars, as in Ansible).
        var outer = ref.outer
        outer.vars = outer.vars.merging(ref.params) { _, n in n }
        return TaskParser(file: at.file, dir: dir, handler: false, parser: parser).inherit(tasks, from: outer)
    }

    /// One entry of `roles:` or `dependencies:`: a name, or a mapping with `role` (or `name`),
    /// keywords (when, tags, vars, become, …) and any other key as a role parameter.
    func reference(_ value: Any, at: SourceLocation, parser: PlaybookParser) throws -> RoleReference {
        var outer = TaskSpec(module: "role", location: at)
        if let s = value as? String { return RoleReference(name: s, outer: outer) }
        guard var d = value as? [String: Any] else { throw ProvisionError("a role entry must be a name or a mapping with 'role'", at: at) }
        guard let name = (d.removeValue(forKey: "role") ?? d.removeValue(forKey: "name")).map({ Values.string($0) }), !name.isEmpty else {
            throw ProvisionError("a role entry needs 'role' (the role's name)", at: at)
        }
        try Self.applyKeywords(&d, to: &outer, at: at)
        return RoleReference(name: name, params: d, outer: outer)
    }

    /// Moves the task keywords Ansible allows on a role reference (or `apply:`) into `outer`.
    static func applyKeywords(_ d: inout [String: Any], to outer: inout TaskSpec, at: SourceLocation) throws {
        func err(_ k: String, _ m: String) -> ProvisionError { ProvisionError("'\(k)' \(m)", at: at) }
        if let w = d.removeValue(forKey: "when") {
            try ExpressionCheck.condition(w)
            outer.when += (w as? [Any]) ?? [w]
        }
        if let t = d.removeValue(forKey: "tags") {
            outer.tags += (t as? [Any])?.map { Values.string($0) } ?? Values.string(t).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let v = d.removeValue(forKey: "vars") {
            guard let m = v as? [String: Any] else { throw err("vars", "must be a mapping") }
            outer.vars.merge(m) { _, n in n }
        }
        if let b = d.removeValue(forKey: "become") { guard let b = b as? Bool else { throw err("become", "must be a boolean") }; outer.become = b }
        if let u = d.removeValue(forKey: "become_user") { outer.becomeUser = Values.string(u) }
        if let i = d.removeValue(forKey: "ignore_errors") { guard let b = i as? Bool else { throw err("ignore_errors", "must be a boolean") }; outer.ignoreErrors = b }
        if let e = d.removeValue(forKey: "environment") {
            guard let m = e as? [String: Any] else { throw err("environment", "must be a mapping") }
            outer.environment.merge(m) { _, n in n }
        }
        if let c = d.removeValue(forKey: "check_mode") { guard let b = c as? Bool else { throw err("check_mode", "must be a boolean") }; outer.checkMode = b }
        if let n = d.removeValue(forKey: "no_log") { guard let b = n as? Bool else { throw err("no_log", "must be a boolean") }; outer.noLog = b }
    }
}
