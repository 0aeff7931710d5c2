import Foundation

/// How one option of a module is declared, for validation before anything runs.
public struct OptionSpec {
    public enum Kind: String { case string, int, bool, list, dict, any, number }
    public var name: String
    public var kind: Kind
    public var required: Bool
    public var choices: [String]
    public var aliases: [String]

    public init(_ name: String, _ kind: Kind = .string, required: Bool = false, choices: [String] = [], aliases: [String] = []) {
        self.name = name; self.kind = kind; self.required = required; self.choices = choices; self.aliases = aliases
    }
}

/// A provisioning module: declares its options and turns arguments into a result, planning
/// from facts read in as few `run` round trips as possible and acting only when needed.
public protocol ProvisionModule {
    static var name: String { get }
    static var options: [OptionSpec] { get }
    /// Options passed to the module untemplated (they are expressions, e.g. assert's `that`).
    static var rawOptions: Set<String> { get }
    /// The `k=v` string form's leftover words become this option (command/shell: `cmd`).
    static var freeFormOption: String? { get }
    /// Options that are paths on the host: a leading `~` is that user's home, as in Ansible.
    static var pathOptions: Set<String> { get }
    /// False for modules that only evaluate on the controller (debug, assert, set_fact, fail,
    /// meta): the engine then does not connect to the host for them.
    static var needsConnection: Bool { get }
    static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult
}

extension ProvisionModule {
    public static var rawOptions: Set<String> { [] }
    public static var freeFormOption: String? { nil }
    public static var pathOptions: Set<String> { [] }
    public static var needsConnection: Bool { true }
}

/// The transport given to controller-only modules: any use is a bug, reported as a failure.
final class ControllerOnlyTransport: Transport {
    let hostName: String
    init(hostName: String) { self.hostName = hostName }
    func run(_ command: String, input: Data?) throws -> CommandResult { throw refused() }
    func put(_ data: Data, to path: String, mode: UInt32) throws { throw refused() }
    func get(_ path: String) throws -> Data? { throw refused() }
    func close() {}
    private func refused() -> TransportError { .failed(host: hostName, reason: "controller-only module tried to use the connection") }
}

/// What a module did. `data` is what `register:` stores (rc, stdout, rows, ...), plus
/// `changed`/`failed`/`msg` added by the engine.
public struct ModuleResult {
    public var changed = false
    public var failed = false
    public var skipped = false
    public var msg: String?
    /// Unified diff of file content or state, shown with --diff.
    public var diff: String?
    public var data: [String: Any] = [:]
    /// set_fact: variables to add to the host's scope.
    public var facts: [String: Any]?
    public init(changed: Bool = false, failed: Bool = false, msg: String? = nil, data: [String: Any] = [:]) {
        self.changed = changed; self.failed = failed; self.msg = msg; self.data = data
    }
    public static func fail(_ msg: String, data: [String: Any] = [:]) -> ModuleResult {
        ModuleResult(failed: true, msg: msg, data: data)
    }
}

/// A module's templated arguments with typed getters whose errors name the option.
public struct ModuleArgs {
    public var values: [String: Any]
    public let module: String
    public init(_ values: [String: Any], module: String) { self.values = values; self.module = module }

    func err(_ key: String, _ msg: String) -> ProvisionError { ProvisionError("\(module): option '\(key)' \(msg)") }
    public func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    public func string(_ key: String) throws -> String {
        guard let v = optionalString(key) else { throw err(key, "is required") }
        return v
    }
    public func optionalString(_ key: String) -> String? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        return Values.string(v)
    }
    public func string(_ key: String, default d: String) -> String { optionalString(key) ?? d }
    public func bool(_ key: String, default d: Bool = false) throws -> Bool {
        guard let v = values[key], !(v is NSNull) else { return d }
        if let b = v as? Bool { return b }
        if let i = v as? Int { return i != 0 }
        switch Values.string(v).lowercased() {
        case "yes", "true", "on", "1", "y": return true
        case "no", "false", "off", "0", "n": return false
        default: throw err(key, "must be a boolean, got '\(Values.string(v))'")
        }
    }
    public func int(_ key: String, default d: Int) throws -> Int {
        guard let v = values[key], !(v is NSNull) else { return d }
        if let i = v as? Int { return i }
        if let dd = v as? Double { return Int(dd) }
        guard let i = Int(Values.string(v).trimmingCharacters(in: .whitespaces)) else { throw err(key, "must be an integer, got '\(Values.string(v))'") }
        return i
    }
    public func double(_ key: String, default d: Double) throws -> Double {
        guard let v = values[key], !(v is NSNull) else { return d }
        if let n = Values.number(v) { return n }
        guard let x = Double(Values.string(v)) else { throw err(key, "must be a number, got '\(Values.string(v))'") }
        return x
    }
    /// A list option; a comma-separated string is accepted too.
    public func list(_ key: String) -> [Any] {
        guard let v = values[key], !(v is NSNull) else { return [] }
        if let a = v as? [Any] { return a }
        return Values.string(v).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    public func choice(_ key: String, _ allowed: [String], default d: String) throws -> String {
        let v = optionalString(key) ?? d
        guard allowed.contains(v) else { throw err(key, "must be one of \(allowed.joined(separator: ", ")), got '\(v)'") }
        return v
    }
    /// A file mode: "0644", "644", symbolic "u=rw,g=r,o=r"; an Int is taken as already numeric
    /// (YAML 0644 parses to 420, as in Ansible).
    public func mode(_ key: String) throws -> FileMode? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let m = FileMode.parse(v) else {
            throw err(key, "must be an octal mode like '0644' or a symbolic one like 'u=rw,g=r,o=r', got '\(Values.string(v))'")
        }
        return m
    }
}

/// Everything a module may use on its host: the transport (wrapped for become), flags, and
/// the host's variables for expression-taking modules.
public final class ModuleContext {
    public let host: String
    public let transport: Transport
    public let check: Bool
    public let diff: Bool
    /// `become_user` when privilege escalation applies to this task, else nil.
    public let becomeUser: String?
    public let templater: Templater
    /// Directory of the playbook file, for relative `src` / template paths.
    public let playbookDir: String
    /// Directory of the task's role: its files/ and templates/ are searched first.
    public let roleDir: String?
    /// True when the connection is already root: become then uses `runuser` (util-linux, on
    /// every Debian) instead of sudo, which minimal images do not have.
    public let connectedAsRoot: Bool
    /// The task's `environment:` (play < block < task), exported before every command it runs.
    public let environment: [String: String]
    /// The task's `timeout:` as a point in time: every command gets what is left of it.
    public let deadline: Date?

    public init(host: String, transport: Transport, check: Bool = false, diff: Bool = false, becomeUser: String? = nil,
                templater: Templater = Templater(variables: [:]), playbookDir: String = ".", roleDir: String? = nil,
                connectedAsRoot: Bool = false, environment: [String: String] = [:], deadline: Date? = nil) {
        self.host = host; self.transport = transport; self.check = check; self.diff = diff
        self.becomeUser = becomeUser; self.templater = templater; self.playbookDir = playbookDir
        self.roleDir = roleDir; self.connectedAsRoot = connectedAsRoot; self.environment = environment
        self.deadline = deadline
    }

    /// The command as sent: `sudo -n -H -u USER sh -c '…'` under become (`runuser -u USER --
    /// sh -c '…'` when connected as root), unchanged otherwise; `environment` exported first.
    /// Under a task `timeout`, coreutils' `timeout -s KILL` bounds it by what is left.
    public func wrap(_ command: String) -> String {
        let exports = environment.keys.sorted().map { "export \($0)=\(Values.shellQuote(environment[$0]!)); " }.joined()
        var command = exports + command
        if let user = becomeUser {
            command = connectedAsRoot ? "runuser -u \(Values.shellQuote(user)) -- sh -c \(Values.shellQuote(command))"
                : "sudo -n -H -u \(Values.shellQuote(user)) sh -c \(Values.shellQuote(command))"
        }
        guard let deadline else { return command }
        // Rounded up, so the kill never comes before the deadline the engine judges by.
        let left = max(0.1, (deadline.timeIntervalSinceNow * 10).rounded(.up) / 10)
        return "timeout -s KILL \(String(format: "%.1f", left)) sh -c \(Values.shellQuote(command))"
    }

    /// Runs a shell command on the host (become applied).
    public func sh(_ command: String, input: Data? = nil) throws -> CommandResult {
        try transport.run(wrap(command), input: input)
    }

    /// Writes a file atomically; under become it goes through a temp file and `mv` as that user.
    public func put(_ data: Data, to path: String, mode: UInt32) throws {
        guard becomeUser != nil else { return try transport.put(data, to: path, mode: mode) }
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir.isEmpty ? "." : dir)/.provision-\(UUID().uuidString.prefix(8))"
        let cmd = "cat > \(Values.shellQuote(tmp)) && chmod \(String(mode, radix: 8)) \(Values.shellQuote(tmp)) && mv -f \(Values.shellQuote(tmp)) \(Values.shellQuote(path))"
        let r = try sh(cmd, input: data)
        if r.exitStatus != 0 { throw ProvisionError("cannot write \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    /// `~` or `~/…` with the home directory of the user commands run as (from the passwd
    /// database, so it does not depend on what HOME sudo or runuser leave).
    public func expandHome(_ path: String) throws -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let r = try sh(#"h=$(getent passwd "$(id -un)" | cut -d: -f6); printf %s "${h:-$HOME}""#)
        guard r.exitStatus == 0, !r.stdout.isEmpty else { throw ProvisionError("cannot find the home directory for '\(path)'") }
        return r.stdout + path.dropFirst()
    }

    /// Reads a file (nil when absent); under become through `cat` as that user.
    public func read(_ path: String) throws -> Data? {
        guard becomeUser != nil else { return try transport.get(path) }
        let r = try sh("if [ -e \(Values.shellQuote(path)) ]; then cat \(Values.shellQuote(path)); else exit 3; fi")
        if r.exitStatus == 3 { return nil }
        if r.exitStatus != 0 { throw ProvisionError("cannot read \(path): \(r.stderr)") }
        return Data(r.stdout.utf8)
    }

    /// Finds a controller-side file named by `src`/template: absolute, next to the playbook,
    /// in `<playbook dir>/<kind>/`, `<playbook dir>/../<kind>/`, or `./<kind>/`.
    public func localFile(_ name: String, kind: String) throws -> String {
        if name.hasPrefix("/") { return name }
        let inRole = roleDir.map { ["\($0)/\(kind)/\(name)", "\($0)/tasks/\(name)", "\($0)/\(name)"] } ?? []
        let candidates = inRole + ["\(playbookDir)/\(kind)/\(name)", "\(playbookDir)/\(name)", "\(playbookDir)/../\(kind)/\(name)",
                          "\(kind)/\(name)", name]
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ProvisionError("cannot find \(kind) file '\(name)' (looked in \(roleDir.map { "\($0)/\(kind), " } ?? "")\(playbookDir)/\(kind), \(playbookDir), \(playbookDir)/../\(kind), ./\(kind))")
        }
        return found
    }
}

extension ModuleContext {
    /// The common tail of a module that planned `steps`: changed when there are any, a state
    /// diff under --diff, nothing sent under --check, else the steps joined with `&&`.
    func apply(_ steps: [String], data: [String: Any], before: [String: String], after: [String: String]) throws -> ModuleResult {
        var result = ModuleResult(changed: !steps.isEmpty, data: data)
        if diff && result.changed { result.diff = UnifiedDiff.state(before, after) }
        guard result.changed, !check else { return result }
        let command = steps.joined(separator: " && ")
        let r = try sh(command)
        if r.exitStatus != 0 { return .fail("\(command): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        return result
    }
}

/// `q` = shell-quoted, used by modules that build command lines.
func q(_ s: String) -> String { Values.shellQuote(s) }
