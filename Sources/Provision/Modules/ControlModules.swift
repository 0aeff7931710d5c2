import Foundation

/// `assert`: every expression in `that` must be true; `fail_msg` (or `msg`) says why not.
/// `that` is evaluated as expressions (not pre-templated), so undefined names fail the task.
public struct AssertModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "assert"
    public static let options = [OptionSpec("that", .any, required: true), OptionSpec("fail_msg", .any, aliases: ["msg"]),
                                 OptionSpec("success_msg", .any), OptionSpec("quiet", .bool)]
    public static let rawOptions: Set<String> = ["that"]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let that = args.values["that"].map { ($0 as? [Any]) ?? [$0] } ?? []
        for cond in that where !(try ctx.templater.condition(cond)) {
            let msg = args.optionalString("fail_msg") ?? args.optionalString("msg") ?? "Assertion failed"
            return .fail(msg, data: ["assertion": Values.string(cond), "evaluated_to": false])
        }
        return ModuleResult(msg: args.optionalString("success_msg") ?? "All assertions passed")
    }
}

/// `set_fact`: adds variables to the host's scope (above play vars, below -e extra vars).
public struct SetFactModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "set_fact"
    public static let options: [OptionSpec] = []
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var r = ModuleResult(data: ["ansible_facts": args.values])
        r.facts = args.values.filter { $0.key != "cacheable" }
        return r
    }
}

/// `debug`: prints `msg`, or the value of the expression `var`.
public struct DebugModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "debug"
    public static let options = [OptionSpec("msg", .any), OptionSpec("var"), OptionSpec("verbosity", .int)]
    public static let rawOptions: Set<String> = ["var"]
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        if let v = args.optionalString("var") {
            let value = try ctx.templater.evaluate(v)
            return ModuleResult(msg: "\(v) = \(value is String ? Values.string(value) : Values.json(value))", data: [v: value])
        }
        let m = args.values["msg"] ?? "Hello world!"
        return ModuleResult(msg: m is String ? Values.string(m) : Values.json(m), data: ["msg": m])
    }
}

/// `fail`: fails the host with `msg`.
public struct FailModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "fail"
    public static let options = [OptionSpec("msg", .any)]
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        .fail(args.optionalString("msg") ?? "Failed as requested from task")
    }
}

/// `meta`: `flush_handlers` (run notified handlers now), `end_host` / `end_batch` /
/// `end_play` (leave the play without failing), `clear_host_errors` (failed hosts of the play
/// take part again), `reset_connection` (the next task reconnects), or `noop`; the engine acts on it.
public struct MetaModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "meta"
    public static let options = [OptionSpec("action", required: true, choices: ["flush_handlers", "noop", "end_host", "end_batch", "end_play", "clear_host_errors", "reset_connection"], aliases: ["_raw_params"])]
    public static let freeFormOption: String? = "action"
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult { ModuleResult() }
}

/// All modules by name. Names may be written with a collection prefix (`ansible.builtin.copy`).
public enum ModuleRegistry {
    public static let all: [ProvisionModule.Type] = [
        CommandModule.self, ShellModule.self, FileModule.self, CopyModule.self, TemplateModule.self, LineInFileModule.self,
        BlockInFileModule.self, PackageModule.self, AptModule.self, ServiceModule.self, SystemdModule.self, UserModule.self,
        GroupModule.self, SysctlModule.self, WaitForModule.self, PostgresqlQueryModule.self, AssertModule.self,
        SetFactModule.self, DebugModule.self, FailModule.self, MetaModule.self, SetupModule.self, GatherFactsModule.self,
        StatModule.self, SlurpModule.self, ReplaceModule.self, IncludeVarsModule.self, PauseModule.self, PingModule.self,
        TempfileModule.self, FetchModule.self, FindModule.self, AddHostModule.self, GroupByModule.self,
        RawModule.self, ScriptModule.self, WaitForConnectionModule.self, URIModule.self, GetURLModule.self, UnarchiveModule.self, CronModule.self, HostnameModule.self,
        AsyncStatusModule.self, RebootModule.self,
    ]
    static let byName: [String: ProvisionModule.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    public static func module(named name: String) -> ProvisionModule.Type? { byName[name] }

    /// Modules Ansible ships outside ansible.builtin, by the collection name content uses.
    static let collectionNames: [String: String] = [
        "ansible.posix.sysctl": "sysctl",
        "community.postgresql.postgresql_query": "postgresql_query",
    ]
    /// ansible.builtin's other name for a module (`systemd_service` is `systemd` since 2.15).
    static let builtinAliases: [String: String] = ["systemd_service": "systemd"]

    /// The module a task key names: `copy`, `ansible.builtin.copy` (or `ansible.legacy.copy`),
    /// `ansible.posix.sysctl`; nil for anything else, e.g. `ansible.builtin.sysctl`, which
    /// Ansible does not have either.
    public static func resolve(_ key: String) -> String? {
        if let c = collectionNames[key] { return c }
        var short = key
        for prefix in ["ansible.builtin.", "ansible.legacy."] where key.hasPrefix(prefix) {
            short = String(key.dropFirst(prefix.count))
            guard !collectionNames.values.contains(short) else { return nil }
        }
        short = builtinAliases[short] ?? short
        guard !short.contains("."), byName[short] != nil else { return nil }
        return short
    }

    /// The name to write for a module: `ansible.builtin.copy`, `ansible.posix.sysctl`.
    public static func qualifiedName(_ module: String) -> String {
        collectionNames.first { $0.value == module }?.key ?? "ansible.builtin.\(module)"
    }

    /// Modules whose options are free (set_fact: any variable names).
    static let freeOptions: Set<String> = ["set_fact", "add_host"]
}
