import Foundation
import Yams

/// Parses and validates a playbook completely before anything runs: YAML syntax, play and task
/// keywords, module names, module options (unknown, missing required, wrong type, bad choice).
/// Every error names file:line:column and the key. Values that are `{{ templates }}` are
/// type-checked when rendered instead.
public struct PlaybookParser {
    static let playKeys: Set<String> = ["name", "hosts", "vars", "vars_files", "serial", "max_fail_percentage",
        "any_errors_fatal", "gather_facts", "become", "become_user", "tasks", "pre_tasks", "post_tasks", "handlers",
        "tags", "remote_user", "strategy", "environment", "connection", "collections", "become_method", "roles", "force_handlers"]
    static let taskKeys: Set<String> = ["name", "when", "loop", "with_items", "loop_control", "register", "notify",
        "changed_when", "failed_when", "ignore_errors", "tags", "run_once", "delegate_to", "until", "retries", "delay",
        "no_log", "become", "become_user", "vars", "listen", "environment", "check_mode", "args", "become_method", "throttle"]

    /// Roles found while parsing (handlers they bring, roles already run in the play).
    let roles = RoleLoader()

    public init() {}

    public static func parse(path: String) throws -> Playbook {
        var seen = Set<String>()
        return Playbook(path: path, plays: try PlaybookParser().parsePlays(path: path, seen: &seen))
    }

    func parsePlays(path: String, seen: inout Set<String>) throws -> [Play] {
        let real = (path as NSString).standardizingPath
        guard seen.insert(real).inserted else { throw ProvisionError("import_playbook loop", at: SourceLocation(file: path)) }
        defer { seen.remove(real) }
        guard let root = try YAMLSource.load(path: path) else { return [] }
        guard case let .sequence(items) = root else {
            throw ProvisionError("a playbook must be a list of plays", at: YAMLSource.location(root, file: path))
        }
        let dir = (path as NSString).deletingLastPathComponent
        var plays: [Play] = []
        for item in items {
            guard let pairs = YAMLSource.pairs(item) else {
                throw ProvisionError("a play must be a mapping", at: YAMLSource.location(item, file: path))
            }
            if let imp = pairs.first(where: { ["import_playbook", "ansible.builtin.import_playbook"].contains($0.key) }) {
                let name = try scalarString(imp.value, "import_playbook", path)
                let sub = name.hasPrefix("/") ? name : (dir.isEmpty ? name : dir + "/" + name)
                guard FileManager.default.fileExists(atPath: sub) else {
                    throw ProvisionError("import_playbook: file not found: \(sub)", at: YAMLSource.location(imp.value, file: path))
                }
                plays += try parsePlays(path: sub, seen: &seen)
                continue
            }
            plays.append(try parsePlay(item, pairs, file: path, dir: dir.isEmpty ? "." : dir))
        }
        return plays
    }

    func parsePlay(_ node: Node, _ pairs: [(key: String, keyNode: Node, value: Node)], file: String, dir: String) throws -> Play {
        var play = Play(name: "", hosts: "", directory: dir, location: YAMLSource.location(node, file: file))
        var pre: [TaskSpec] = [], main: [TaskSpec] = [], post: [TaskSpec] = [], roleTasks: [TaskSpec] = []
        var sawHosts = false
        var prompted: [String: Any] = [:]
        roles.beginPlay(directory: dir)
        // `roles:` first, whatever the key order: they run before `tasks:`, and a dependency
        // an include_role in the tasks also has must count as already run.
        let ordered = pairs.filter { $0.key == "roles" } + pairs.filter { $0.key != "roles" }
        for p in ordered {
            let at = YAMLSource.location(p.value, file: file)
            switch p.key {
            case "name": play.name = try scalarString(p.value, "name", file)
            case "hosts":
                sawHosts = true
                if case let .sequence(s) = p.value { play.hosts = s.compactMap(\.string).joined(separator: ",") }
                else { play.hosts = try scalarString(p.value, "hosts", file) }
            case "vars": play.vars = try mapping(p.value, "vars", file)
            case "vars_files": play.varsFiles = try stringList(p.value, "vars_files", file)
            case "vars_prompt": prompted = try varsPrompt(p.value, at)
            case "serial": play.serial = try serial(p.value, file)
            case "max_fail_percentage":
                guard let n = Values.number(YAMLSource.value(p.value)) else { throw ProvisionError("'max_fail_percentage' must be a number", at: at) }
                play.maxFailPercentage = n
            case "any_errors_fatal": play.anyErrorsFatal = try boolean(p.value, p.key, file)
            case "force_handlers": play.forceHandlers = try boolean(p.value, p.key, file)
            case "gather_facts": play.gatherFacts = try boolean(p.value, p.key, file)
            case "become": play.become = try boolean(p.value, p.key, file)
            case "become_user": play.becomeUser = try scalarString(p.value, p.key, file)
            case "become_method": try becomeMethod(p.value, file)
            case "remote_user": play.remoteUser = try scalarString(p.value, p.key, file)
            case "connection": play.connection = try scalarString(p.value, p.key, file)
            case "tags": play.tags = try stringList(p.value, "tags", file)
            case "environment": play.environment = try environment(p.value, file)
            case "tasks": main = try parseTasks(p.value, file: file, dir: dir, handlers: false)
            case "pre_tasks": pre = try parseTasks(p.value, file: file, dir: dir, handlers: false)
            case "post_tasks": post = try parseTasks(p.value, file: file, dir: dir, handlers: false)
            case "handlers": play.handlers = try parseTasks(p.value, file: file, dir: dir, handlers: true)
            case "roles":
                guard case let .sequence(entries) = p.value else {
                    if p.value.null != nil { continue }
                    throw ProvisionError("'roles' must be a list of roles", at: at)
                }
                for e in entries {
                    let ref = try roles.reference(YAMLSource.value(e), at: YAMLSource.location(e, file: file), parser: self)
                    roleTasks += try roles.expand(ref, dir: dir, parser: self, dedupe: true)
                }
            default:
                guard Self.playKeys.contains(p.key) else {
                    throw ProvisionError("unknown play keyword '\(p.key)'", at: YAMLSource.location(p.keyNode, file: file))
                }
            }
        }
        // Never interactive: a prompt's `default` becomes a play var (`-e` still overrides it).
        play.vars = prompted.merging(play.vars) { _, v in v }
        guard sawHosts, !play.hosts.isEmpty else { throw ProvisionError("play has no 'hosts'", at: play.location) }
        if play.name.isEmpty { play.name = play.hosts }
        // As in Ansible: pre_tasks, then roles (dependencies first), then tasks, then post_tasks.
        play.tasks = pre + roleTasks + main + post
        play.handlers += roles.handlers
        let playTags = play.tags
        for i in play.tasks.indices { play.tasks[i].updateAll { $0.tags += playTags } }
        let playEnvironment = play.environment
        for i in play.tasks.indices { play.tasks[i].updateAll { $0.environment = playEnvironment.merging($0.environment) { _, n in n } } }
        for i in play.handlers.indices { play.handlers[i].updateAll { $0.environment = playEnvironment.merging($0.environment) { _, n in n } } }
        // Like Ansible: notifying a handler the play does not have is an error before the run.
        let handlerNames = Set(play.handlers.flatMap { [$0.name ?? ""] + $0.listen })
        for t in (play.tasks + play.handlers).flatMap(\.flattened) {
            for n in t.notify where !handlerNames.contains(n) && !n.contains("{{") {
                throw ProvisionError("task '\(t.displayName)' notifies '\(n)', which is not a handler of this play", at: t.location)
            }
        }
        return play
    }

    func parseTasks(_ node: Node, file: String, dir: String, handlers: Bool) throws -> [TaskSpec] {
        if node.null != nil, case .scalar = node { return [] }
        guard case let .sequence(items) = node else {
            throw ProvisionError("expected a list of tasks", at: YAMLSource.location(node, file: file))
        }
        var tasks: [TaskSpec] = []
        for item in items { tasks += try TaskParser(file: file, dir: dir, handler: handlers, parser: self).parse(item) }
        return tasks
    }

    // MARK: typed scalar helpers (errors at the value's position, naming the key)

    func scalarString(_ node: Node, _ key: String, _ file: String) throws -> String {
        guard case .scalar = node else { throw ProvisionError("'\(key)' must be a string", at: YAMLSource.location(node, file: file)) }
        return Values.string(YAMLSource.value(node))
    }

    func boolean(_ node: Node, _ key: String, _ file: String) throws -> Bool {
        let v = YAMLSource.value(node)
        if let b = v as? Bool { return b }
        throw ProvisionError("'\(key)' must be a boolean (true/false), got '\(Values.string(v))'", at: YAMLSource.location(node, file: file))
    }

    /// `vars_prompt` entries' defaults by name; the run never prompts (documented in playbooks.md).
    func varsPrompt(_ node: Node, _ at: SourceLocation) throws -> [String: Any] {
        guard let entries = YAMLSource.value(node) as? [Any] else { throw ProvisionError("'vars_prompt' must be a list", at: at) }
        let known: Set<String> = ["name", "prompt", "default", "private", "confirm", "encrypt", "salt_size", "salt", "unsafe"]
        var vars: [String: Any] = [:]
        for entry in entries {
            guard let e = entry as? [String: Any], let name = e["name"] as? String, !name.isEmpty else {
                throw ProvisionError("each 'vars_prompt' entry needs a 'name'", at: at)
            }
            for k in e.keys where !known.contains(k) { throw ProvisionError("vars_prompt '\(name)': unknown option '\(k)'", at: at) }
            if e["encrypt"] != nil { throw ProvisionError("vars_prompt '\(name)': 'encrypt' is not supported", at: at) }
            if let d = e["default"] { vars[name] = d }
        }
        return vars
    }

    func mapping(_ node: Node, _ key: String, _ file: String) throws -> [String: Any] {
        if node.null != nil, case .scalar = node { return [:] }
        guard let d = YAMLSource.value(node) as? [String: Any] else {
            throw ProvisionError("'\(key)' must be a mapping", at: YAMLSource.location(node, file: file))
        }
        return d
    }

    /// Become goes through sudo (runuser when connected as root): `become_method: sudo` is
    /// accepted, anything else refused before the run.
    func becomeMethod(_ node: Node, _ file: String) throws {
        let m = try scalarString(node, "become_method", file)
        guard m == "sudo" || m.contains("{{") else {
            throw ProvisionError("become_method '\(m)' is not supported (sudo)", at: YAMLSource.location(node, file: file))
        }
    }

    /// `environment:`: a mapping of shell variable names to scalar values (or templates).
    func environment(_ node: Node, _ file: String) throws -> [String: Any] {
        let env = try mapping(node, "environment", file)
        for (k, v) in env.sorted(by: { $0.key < $1.key }) {
            guard k.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw ProvisionError("'environment': '\(k)' is not a shell variable name", at: YAMLSource.location(node, file: file))
            }
            guard !(v is [Any]) && !(v is [String: Any]) else {
                throw ProvisionError("'environment': '\(k)' must be a scalar, got \(Values.typeName(v))", at: YAMLSource.location(node, file: file))
            }
        }
        return env
    }

    func stringList(_ node: Node, _ key: String, _ file: String) throws -> [String] {
        switch YAMLSource.value(node) {
        case let s as String: return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case let a as [Any] where a.allSatisfy({ !($0 is [Any]) && !($0 is [String: Any]) }): return a.map { Values.string($0) }
        case is NSNull: return []
        default: throw ProvisionError("'\(key)' must be a string or a list of strings", at: YAMLSource.location(node, file: file))
        }
    }

    func serial(_ node: Node, _ file: String) throws -> [SerialStep] {
        let at = YAMLSource.location(node, file: file)
        func one(_ v: Any) throws -> SerialStep {
            if let i = v as? Int, i > 0 { return .count(i) }
            if let s = v as? String, s.hasSuffix("%"), let p = Double(s.dropLast()), p > 0 { return .percent(p) }
            throw ProvisionError("'serial' must be a positive number, a percentage like '30%', or a list of those", at: at)
        }
        let v = YAMLSource.value(node)
        if let list = v as? [Any] { guard !list.isEmpty else { throw ProvisionError("'serial' list is empty", at: at) }; return try list.map(one) }
        return [try one(v)]
    }
}
