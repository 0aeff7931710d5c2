import Foundation
import Yams

/// Parses one task (or handler) node into `TaskSpec`s: `include_tasks`/`import_tasks` and
/// `block` expand in place (their `when`/`tags`/`vars`/`become` apply to every inner task).
struct TaskParser {
    let file: String
    let dir: String
    let handler: Bool
    let parser: PlaybookParser

    func loc(_ n: Node) -> SourceLocation { YAMLSource.location(n, file: file) }

    func parse(_ node: Node) throws -> [TaskSpec] {
        guard let pairs = YAMLSource.pairs(node) else { throw ProvisionError("a task must be a mapping", at: loc(node)) }
        var task = TaskSpec(module: "", location: loc(node))
        var moduleKey: (name: String, keyNode: Node, value: Node, action: ActionForm?)?
        var include: (file: String, at: SourceLocation)?
        var roleInclude: (options: [String: Any], at: SourceLocation)?
        var block: [TaskSpec]?
        var rescue: [TaskSpec] = [], always: [TaskSpec] = []
        var recovery: (key: String, at: SourceLocation)?
        var extraArgs: [String: Any] = [:]
        for var p in pairs {
            // `ansible.builtin.include_tasks` and friends are the task keywords themselves.
            for prefix in ["ansible.builtin.", "ansible.legacy."] where p.key.hasPrefix(prefix) {
                let short = String(p.key.dropFirst(prefix.count))
                if ["include_tasks", "import_tasks", "include_role", "import_role"].contains(short) { p.key = short }
            }
            let v = YAMLSource.value(p.value)
            do {
                switch p.key {
                case "when", "changed_when", "failed_when", "until", "that": try ExpressionCheck.condition(v)
                case "name", "loop", "with_items", "with_list", "with_dict", "with_nested", "with_sequence", "with_subelements", "with_fileglob", "with_together", "with_indexed_items", "with_first_found", "vars", "delegate_to", "args", "become_user", "environment":
                    try ExpressionCheck.templates(in: v)
                default: break
                }
            } catch let e as ProvisionError {
                throw ProvisionError("'\(p.key)': \(e.message)", at: loc(p.value))
            }
            switch p.key {
            case "name": task.name = try parser.scalarString(p.value, "name", file)
            case "when": task.when = v is [Any] ? v as! [Any] : [try condition(p)]
            case "changed_when": task.changedWhen = try condition(p)
            case "failed_when": task.failedWhen = try condition(p)
            case "until": task.until = try condition(p)
            case "loop", "with_items", "with_list", "with_dict", "with_nested", "with_sequence", "with_subelements", "with_fileglob",
                 "with_together", "with_indexed_items", "with_first_found":
                guard task.loop == nil else { throw ProvisionError("duplicate loop in task: '\(task.loopStyle.rawValue)' and '\(p.key)'", at: loc(p.keyNode)) }
                if p.key == "with_sequence" {
                    guard v is String else { throw ProvisionError("'with_sequence' must be a string such as 'start=1 end=5 format=node%02d'", at: loc(p.value)) }
                } else if p.key == "with_first_found" {
                    guard v is [Any] || v is String || v is [String: Any] else { throw ProvisionError("'with_first_found' must be a list, a mapping with 'files' or a template string", at: loc(p.value)) }
                } else if ["with_nested", "with_subelements", "with_together"].contains(p.key) {
                    guard v is [Any] || v is String else { throw ProvisionError("'\(p.key)' must be a list or a template string", at: loc(p.value)) }
                } else if p.key == "with_dict" {
                    guard v is [String: Any] || v is String else { throw ProvisionError("'with_dict' must be a mapping or a template string", at: loc(p.value)) }
                } else if p.key == "loop" || !(v is String || v is Int || v is Double || v is Bool) {
                    guard v is [Any] || v is String else { throw ProvisionError("'\(p.key)' must be a list or a template string", at: loc(p.value)) }
                }
                task.loop = v
                task.loopStyle = LoopStyle(rawValue: p.key) ?? .loop
            case "loop_control":
                let lc = try parser.mapping(p.value, p.key, file)
                let known = ["loop_var", "index_var", "label", "extended", "pause"]
                for k in lc.keys where !known.contains(k) {
                    throw ProvisionError("unknown loop_control option '\(k)' (\(known.joined(separator: ", ")))", at: loc(p.value))
                }
                if let e = lc["extended"] {
                    guard let b = e as? Bool else { throw ProvisionError("loop_control 'extended' must be a boolean", at: loc(p.value)) }
                    task.loopExtended = b
                }
                if let pause = lc["pause"] {
                    guard let n = Values.number(pause), n >= 0 else { throw ProvisionError("loop_control 'pause' must be a number of seconds", at: loc(p.value)) }
                    task.loopPause = n
                }
                if let lv = lc["loop_var"] { task.loopVar = Values.string(lv) }
                if let iv = lc["index_var"] { task.indexVar = Values.string(iv) }
                if let l = lc["label"] { task.loopLabel = Values.string(l) }
            case "register":
                let r = try parser.scalarString(p.value, p.key, file)
                guard r.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                    throw ProvisionError("'register' must be a variable name, got '\(r)'", at: loc(p.value))
                }
                task.register = r
            case "notify": task.notify = try parser.stringList(p.value, p.key, file)
            case "listen": task.listen = try parser.stringList(p.value, p.key, file)
            case "tags": task.tags = try parser.stringList(p.value, p.key, file)
            case "ignore_errors": task.ignoreErrors = try parser.boolean(p.value, p.key, file)
            case "run_once": task.runOnce = try parser.boolean(p.value, p.key, file)
            case "no_log": task.noLog = try parser.boolean(p.value, p.key, file)
            case "check_mode": task.checkMode = try parser.boolean(p.value, p.key, file)
            case "diff": task.diff = try parser.boolean(p.value, p.key, file)
            case "ignore_unreachable": task.ignoreUnreachable = try parser.boolean(p.value, p.key, file)
            case "remote_user": task.remoteUser = try parser.scalarString(p.value, p.key, file)
            case "timeout":
                guard let n = v as? Int, n > 0 else { throw ProvisionError("'timeout' must be a positive number of seconds", at: loc(p.value)) }
                task.timeout = n
            case "async":
                guard let n = v as? Int, n > 0 else { throw ProvisionError("'async' must be a positive number of seconds", at: loc(p.value)) }
                task.asyncSeconds = n
            case "poll":
                guard let n = v as? Int, n >= 0 else { throw ProvisionError("'poll' must be a non-negative number of seconds", at: loc(p.value)) }
                task.poll = n
            case "become": task.become = try parser.boolean(p.value, p.key, file)
            case "become_user": task.becomeUser = try parser.scalarString(p.value, p.key, file)
            case "become_method": try parser.becomeMethod(p.value, file)
            case "throttle":
                guard let n = v as? Int, n > 0 else { throw ProvisionError("'throttle' must be a positive integer", at: loc(p.value)) }
                task.throttle = n
            case "delegate_to": task.delegateTo = try parser.scalarString(p.value, p.key, file)
            case "delegate_facts": task.delegateFacts = try parser.boolean(p.value, p.key, file)
            case "retries" where (v as? String)?.contains("{{") == true: task.retriesTemplate = v as? String; task.retriesGiven = true
            case "delay" where (v as? String)?.contains("{{") == true: task.delayTemplate = v as? String
            case "retries":
                guard let i = v as? Int, i >= 0 else { throw ProvisionError("'retries' must be a non-negative integer", at: loc(p.value)) }
                task.retries = i
                task.retriesGiven = true
            case "delay":
                guard let d = Values.number(v), d >= 0 else { throw ProvisionError("'delay' must be a non-negative number", at: loc(p.value)) }
                task.delay = d
            case "vars": task.vars = try parser.mapping(p.value, p.key, file)
            case "environment": task.environment = try parser.environment(p.value, file)
            case "args": extraArgs = try parser.mapping(p.value, p.key, file)
            case "include_tasks", "import_tasks":
                let name = Values.string((v as? [String: Any])?["file"] ?? v)
                include = (name, loc(p.value))
            case "include_role", "import_role":
                guard let o = v as? [String: Any] else { throw ProvisionError("'\(p.key)' needs a mapping with 'name'", at: loc(p.value)) }
                roleInclude = (o, loc(p.value))
            case "block":
                block = try parser.parseTasks(p.value, file: file, dir: dir, handlers: handler)
            case "action", "local_action":
                // The older form: `action: copy src=a dest=b` or `action: {module: copy, src: a}`;
                // `local_action` runs it on the controller (delegate_to: localhost).
                let form = try actionForm(p)
                if let first = moduleKey {
                    throw ProvisionError("task has two modules, '\(first.name)' and '\(form.module)'", at: loc(p.keyNode))
                }
                moduleKey = (form.module, p.keyNode, p.value, form)
                if p.key == "local_action" { task.delegateTo = "localhost" }
            case "rescue", "always":
                if handler { throw ProvisionError("'\(p.key)' is not supported in handlers", at: loc(p.keyNode)) }
                let list = try parser.parseTasks(p.value, file: file, dir: dir, handlers: handler)
                if p.key == "rescue" { rescue = list } else { always = list }
                recovery = (p.key, loc(p.keyNode))
            default:
                if PlaybookParser.taskKeys.contains(p.key) { continue }
                guard let name = ModuleRegistry.resolve(p.key) else {
                    guard p.key.contains(".") else { throw ProvisionError("unknown module or task keyword '\(p.key)'", at: loc(p.keyNode)) }
                    let short = String(p.key.split(separator: ".").last ?? "")
                    let hint = ModuleRegistry.resolve(short).map { " (did you mean '\(ModuleRegistry.qualifiedName($0))'?)" } ?? ""
                    throw ProvisionError("unknown module '\(p.key)'\(hint)", at: loc(p.keyNode))
                }
                if let first = moduleKey {
                    throw ProvisionError("task has two modules, '\(first.name)' and '\(p.key)'", at: loc(p.keyNode))
                }
                moduleKey = (name, p.keyNode, p.value, nil)
            }
        }
        if let include {
            guard moduleKey == nil, block == nil else { throw ProvisionError("include_tasks cannot be combined with a module", at: task.location) }
            // Includes are static here: a loop or register on one would be silently lost.
            if task.loop != nil || task.register != nil {
                throw ProvisionError("include_tasks is static here: no loop / register on it (put them on its tasks)", at: task.location)
            }
            guard !include.file.contains("{{") else { throw ProvisionError("include_tasks needs a static file name", at: include.at) }
            let path = include.file.hasPrefix("/") ? include.file : "\(dir)/\(include.file)"
            guard FileManager.default.fileExists(atPath: path) else { throw ProvisionError("include_tasks: file not found: \(path)", at: include.at) }
            guard let root = try YAMLSource.load(path: path) else { return [] }
            let inner = try parser.parseTasks(root, file: path, dir: (path as NSString).deletingLastPathComponent, handlers: handler)
            return inherit(inner, from: task)
        }
        if let roleInclude {
            guard moduleKey == nil, block == nil, include == nil else { throw ProvisionError("include_role cannot be combined with a module", at: task.location) }
            if task.loop != nil || task.register != nil {
                throw ProvisionError("include_role is static here: no loop / register on it (put them on its tasks)", at: task.location)
            }
            return try includeRole(roleInclude.options, task: task, at: roleInclude.at)
        }
        if let recovery, block == nil { throw ProvisionError("'\(recovery.key)' belongs to a block (no 'block' here)", at: recovery.at) }
        if let block {
            guard moduleKey == nil else { throw ProvisionError("a block cannot also name a module", at: task.location) }
            // As in Ansible, these are not block keywords; refused rather than silently lost.
            if task.register != nil || task.loop != nil || task.until != nil || task.retriesGiven
                || task.changedWhen != nil || task.failedWhen != nil {
                throw ProvisionError("a block takes no register / loop / until / retries / changed_when / failed_when (put them on its tasks)",
                                     at: task.location)
            }
            guard recovery != nil else { return inherit(block, from: task) }
            var node = TaskSpec(name: task.name, module: "block", location: task.location)
            node.block = BlockSpec(tasks: inherit(block, from: task), rescue: inherit(rescue, from: task), always: inherit(always, from: task))
            return [node]
        }
        guard let m = moduleKey else { throw ProvisionError("task has no module", at: task.location) }
        task.module = m.name
        if task.asyncSeconds != nil && task.poll == 0 && ![CommandModule.name, ShellModule.name].contains(m.name) {
            throw ProvisionError("'poll: 0' (fire and forget) is supported for command and shell here, not '\(m.name)'", at: task.location)
        }
        task.args = try arguments(m.name, m.keyNode, m.value, action: m.action)
        for (k, v) in extraArgs { task.args[k] = v }
        // A handler reached only through `listen` may go without a name, as in Ansible.
        if handler && task.name == nil && task.listen.isEmpty {
            throw ProvisionError("a handler needs a name or 'listen'", at: task.location)
        }
        return [task]
    }

    /// `include_role` / `import_role`: the role's tasks (or `tasks_from`) in place, with the
    /// task's keywords and `apply:` on each of them; not deduplicated, as in Ansible.
    func includeRole(_ options: [String: Any], task: TaskSpec, at: SourceLocation) throws -> [TaskSpec] {
        let known: Set<String> = ["name", "tasks_from", "vars_from", "defaults_from", "handlers_from", "public", "apply", "allow_duplicates", "rolespec_validate"]
        for k in options.keys.sorted() where !known.contains(k) {
            throw ProvisionError("include_role: unknown option '\(k)' (\(known.sorted().joined(separator: ", ")))", at: at)
        }
        guard let name = options["name"].map({ Values.string($0) }), !name.isEmpty, !name.contains("{{") else {
            throw ProvisionError("include_role needs a static 'name'", at: at)
        }
        var outer = task
        outer.location = at
        if let apply = options["apply"] {
            guard var a = apply as? [String: Any] else { throw ProvisionError("include_role: 'apply' must be a mapping of task keywords", at: at) }
            try RoleLoader.applyKeywords(&a, to: &outer, at: at)
            if let k = a.keys.sorted().first { throw ProvisionError("include_role: 'apply' does not take '\(k)' here", at: at) }
        }
        var ref = RoleReference(name: name, outer: outer)
        func from(_ key: String) throws -> String? {
            guard let v = options[key] else { return nil }
            let s = Values.string(v)
            guard !s.contains("{{") else { throw ProvisionError("include_role: '\(key)' must be a static file name", at: at) }
            return ((s as NSString).deletingPathExtension as String)
        }
        if let f = try from("tasks_from") { ref.tasksFrom = f }
        if let f = try from("vars_from") { ref.varsFrom = f }
        if let f = try from("defaults_from") { ref.defaultsFrom = f }
        if let f = try from("handlers_from") { ref.handlersFrom = f }
        if let p = options["public"], !(p is Bool) { throw ProvisionError("include_role: 'public' must be a boolean", at: at) }
        return try parser.roles.expand(ref, dir: parser.roles.playDirectory ?? dir, parser: parser, dedupe: false)
    }

    /// What `action:` / `local_action:` name: the module, and its `k=v` text when written as one string.
    struct ActionForm {
        var module: String
        var text: String?
    }

    func actionForm(_ p: (key: String, keyNode: Node, value: Node)) throws -> ActionForm {
        let written: String, text: String?
        switch p.value {
        case .scalar:
            let s = YAMLSource.value(p.value) as? String ?? ""
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            let end = trimmed.firstIndex(where: { $0 == " " || $0 == "\n" || $0 == "\t" }) ?? trimmed.endIndex
            written = String(trimmed[..<end])
            text = String(trimmed[end...]).trimmingCharacters(in: .whitespacesAndNewlines)
        case .mapping:
            written = Values.string(YAMLSource.pairs(p.value)?.first { $0.key == "module" }.map { YAMLSource.value($0.value) } ?? "")
            text = nil
        default:
            throw ProvisionError("'\(p.key)' must be 'module key=value…' or a mapping with 'module'", at: loc(p.value))
        }
        guard !written.isEmpty else { throw ProvisionError("'\(p.key)' names no module", at: loc(p.value)) }
        guard let name = ModuleRegistry.resolve(written) else { throw ProvisionError("\(p.key): unknown module '\(written)'", at: loc(p.value)) }
        return ActionForm(module: name, text: text)
    }

    /// `when`-style values: a string expression, a bool, or a list of expressions.
    func condition(_ p: (key: String, keyNode: Node, value: Node)) throws -> Any {
        let v = YAMLSource.value(p.value)
        guard v is String || v is Bool || v is [Any] || v is Int else {
            throw ProvisionError("'\(p.key)' must be an expression, a boolean or a list of expressions", at: loc(p.value))
        }
        return v
    }

    /// Block/include keywords flow down to each inner task.
    func inherit(_ inner: [TaskSpec], from outer: TaskSpec) -> [TaskSpec] {
        inner.map { t in
            var t = t
            t.updateAll { inherit(into: &$0, from: outer) }
            return t
        }
    }

    func inherit(into t: inout TaskSpec, from outer: TaskSpec) {
        t.when = outer.when + t.when
        t.tags += outer.tags
        t.vars = outer.vars.merging(t.vars) { _, n in n }
        t.environment = outer.environment.merging(t.environment) { _, n in n }
        if t.become == nil { t.become = outer.become }
        if t.becomeUser == nil { t.becomeUser = outer.becomeUser }
        if t.throttle == nil { t.throttle = outer.throttle }
        if t.checkMode == nil { t.checkMode = outer.checkMode }
        if t.diff == nil { t.diff = outer.diff }
        if t.timeout == nil { t.timeout = outer.timeout }
        if t.remoteUser == nil { t.remoteUser = outer.remoteUser }
        if outer.ignoreUnreachable { t.ignoreUnreachable = true }
        if t.delegateTo == nil { t.delegateTo = outer.delegateTo }
        if outer.delegateFacts { t.delegateFacts = true }
        if outer.runOnce { t.runOnce = true }
        if outer.ignoreErrors { t.ignoreErrors = true }
        if outer.noLog { t.noLog = true }
        t.notify += outer.notify
    }

    /// Module arguments from a mapping or a `k=v` string, validated against the module's options.
    func arguments(_ name: String, _ keyNode: Node, _ node: Node, action: ActionForm? = nil) throws -> [String: Any] {
        let module = ModuleRegistry.module(named: name)!
        var args: [String: Any] = [:]
        var positions: [String: SourceLocation] = [:]
        switch node {
        case .mapping:
            for p in YAMLSource.pairs(node)! where !(action != nil && p.key == "module") {
                args[p.key] = YAMLSource.value(p.value)
                positions[p.key] = loc(p.keyNode)
            }
        case .scalar where node.null != nil && (node.scalar?.style == .plain):
            break
        case .scalar where action?.text?.isEmpty == true:
            break
        case .scalar:
            let text = action?.text ?? node.scalar!.string
            args = try Self.keyValues(text, module: module, at: loc(node))
            for k in args.keys { positions[k] = loc(node) }
        default:
            throw ProvisionError("arguments of '\(name)' must be a mapping or a 'key=value' string", at: loc(node))
        }
        try Self.validate(module, args, positions: positions, moduleAt: loc(keyNode))
        for (key, value) in args.sorted(by: { $0.key < $1.key }) {
            do {
                if module.rawOptions.contains(key) { try ExpressionCheck.condition(value) } else { try ExpressionCheck.templates(in: value) }
            } catch let e as ProvisionError {
                throw ProvisionError("\(name): option '\(key)': \(e.message)", at: positions[key] ?? loc(keyNode))
            }
        }
        return args
    }

    /// Parses `a=1 b="x y" free words` as Ansible does (`ArgumentSplitter`); free words become
    /// the module's free-form option (command/shell: `cmd`, where only Ansible's few command
    /// keys are options and every other `a=b` word belongs to the command).
    static func keyValues(_ text: String, module: ProvisionModule.Type, at: SourceLocation) throws -> [String: Any] {
        let parsed: (options: [String: String], freeForm: String?)
        do {
            parsed = try ArgumentSplitter.parse(text, commandStyle: ["command", "shell"].contains(module.name))
        } catch let e as ArgumentSplitter.SplitError {
            throw ProvisionError("\(module.name): \(e.description)", at: at)
        }
        var args: [String: Any] = parsed.options
        if let free = parsed.freeForm {
            guard let ff = module.freeFormOption else {
                throw ProvisionError("\(module.name): expected key=value arguments, got '\(free)'", at: at)
            }
            args[ff] = free
        }
        return args
    }

    static func validate(_ module: ProvisionModule.Type, _ args: [String: Any], positions: [String: SourceLocation],
                         moduleAt: SourceLocation) throws {
        var byName: [String: OptionSpec] = [:]
        for o in module.options { byName[o.name] = o; for a in o.aliases { byName[a] = o } }
        for (key, value) in args.sorted(by: { $0.key < $1.key }) {
            let at = positions[key] ?? moduleAt
            if ModuleRegistry.freeOptions.contains(module.name) { continue }
            guard let spec = byName[key] else {
                let known = module.options.map(\.name).sorted().joined(separator: ", ")
                throw ProvisionError("\(module.name): unknown option '\(key)' (known: \(known))", at: at)
            }
            if let s = value as? String, s.contains("{{") { continue }
            guard typeMatches(spec.kind, value) else {
                throw ProvisionError("\(module.name): option '\(key)' must be \(spec.kind.rawValue), got \(Values.typeName(value))", at: at)
            }
            if !spec.choices.isEmpty, !spec.choices.contains(Values.string(value)) {
                throw ProvisionError("\(module.name): option '\(key)' must be one of \(spec.choices.joined(separator: ", ")), got '\(Values.string(value))'", at: at)
            }
        }
        for spec in module.options where spec.required {
            if !([spec.name] + spec.aliases).contains(where: { args[$0] != nil }) {
                throw ProvisionError("\(module.name): missing required option '\(spec.name)'", at: moduleAt)
            }
        }
    }

    static func typeMatches(_ kind: OptionSpec.Kind, _ v: Any) -> Bool {
        switch kind {
        case .any: return true
        case .string: return !(v is [Any]) && !(v is [String: Any])
        case .int: return (v is Int && !(v is Bool)) || Int(Values.string(v)) != nil
        case .number: return Values.number(v) != nil || Double(Values.string(v)) != nil
        case .bool: return v is Bool || ["yes", "no", "true", "false", "on", "off", "1", "0"].contains(Values.string(v).lowercased())
        case .list: return v is [Any] || v is String
        case .dict: return v is [String: Any]
        }
    }
}
