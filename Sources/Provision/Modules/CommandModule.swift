import Foundation

/// `command`: runs a command (through `sh -c`: targets have no Python to exec argv directly;
/// `argv` is shell-quoted for you). `creates`/`removes` are tested in the same round trip.
/// Always `changed` when it ran, unless the task says `changed_when`. Not run under --check
/// (reported as skipped, or as "would run" when creates/removes decide it).
public struct CommandModule: ProvisionModule {
    public static let name = "command"
    public static let pathOptions: Set<String> = ["chdir", "creates", "removes"]
    public static let options = [OptionSpec("cmd", aliases: ["_raw_params"]), OptionSpec("argv", .list), OptionSpec("chdir"),
                                 OptionSpec("creates"), OptionSpec("removes"), OptionSpec("stdin")]
    public static let freeFormOption: String? = "cmd"

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        try runCommand(args, ctx)
    }

    /// `creates` / `removes` as shell tests that print `__PROVISION_SKIP__ why` and stop.
    static func guards(_ args: ModuleArgs) -> String {
        var guards = ""
        if let c = args.optionalString("creates") { guards += "if [ -e \(q(c)) ]; then echo __PROVISION_SKIP__ \(q(c)) exists; exit 0; fi; " }
        if let r = args.optionalString("removes") { guards += "if [ ! -e \(q(r)) ]; then echo __PROVISION_SKIP__ \(q(r)) does not exist; exit 0; fi; " }
        return guards
    }

    static func runCommand(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let cmd: String
        if args.has("argv") { cmd = args.list("argv").map { q(Values.string($0)) }.joined(separator: " ") }
        else { cmd = try args.string("cmd") }
        let guards = Self.guards(args)
        if ctx.check {
            guard !guards.isEmpty else {
                var r = ModuleResult(); r.skipped = true; r.msg = "command not run in check mode"; return r
            }
            let g = try ctx.sh(guards + "exit 0")
            if g.stdout.hasPrefix("__PROVISION_SKIP__") { return ModuleResult(msg: "skipped, since " + g.stdout.dropFirst(19).trimmingCharacters(in: .whitespacesAndNewlines)) }
            return ModuleResult(changed: true, msg: "would run: \(cmd)", data: ["cmd": cmd])
        }
        let chdir = args.optionalString("chdir").map { "cd \(q($0)) && " } ?? ""
        let input = args.optionalString("stdin").map { Data(($0 + "\n").utf8) }
        let r = try ctx.sh(guards + chdir + cmd, input: input)
        if r.stdout.hasPrefix("__PROVISION_SKIP__") {
            return ModuleResult(msg: "skipped, since " + r.stdout.dropFirst(19).trimmingCharacters(in: .whitespacesAndNewlines),
                                data: ["rc": 0, "stdout": "", "stderr": "", "stdout_lines": [Any](), "stderr_lines": [Any](), "cmd": cmd])
        }
        let out = r.stdout.hasSuffix("\n") ? String(r.stdout.dropLast()) : r.stdout
        let err = r.stderr.hasSuffix("\n") ? String(r.stderr.dropLast()) : r.stderr
        var result = ModuleResult(changed: true, data: [
            "rc": Int(r.exitStatus), "stdout": out, "stderr": err, "cmd": cmd,
            "stdout_lines": out.isEmpty ? [] : out.components(separatedBy: "\n"),
            "stderr_lines": err.isEmpty ? [] : err.components(separatedBy: "\n"),
        ])
        if r.exitStatus != 0 {
            result.failed = true
            result.msg = "non-zero return code \(r.exitStatus)" + (err.isEmpty ? "" : ": " + err.suffix(500))
        }
        return result
    }
}

/// `shell`: the same as `command` here (both go through `sh -c`), kept for playbook compatibility.
public struct ShellModule: ProvisionModule {
    public static let name = "shell"
    public static let pathOptions: Set<String> = ["chdir", "creates", "removes"]
    public static let options = CommandModule.options + [OptionSpec("executable")]
    public static let freeFormOption: String? = "cmd"
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var args = args
        if let exe = args.optionalString("executable"), let cmd = args.optionalString("cmd") {
            args.values["cmd"] = "\(q(exe)) -c \(q(cmd))"
        }
        return try CommandModule.runCommand(args, ctx)
    }
}
