import Foundation

/// `script`: a controller-side script (looked up in the role's and the playbook's `files/`)
/// sent to the host as a 0700 temporary file, run there with its arguments (`executable`
/// runs it through an interpreter), then removed. `creates` / `removes` are tested first, so a
/// skipped script is never transferred. Result keys as `command`'s; not run under --check unless
/// creates/removes decide it.
public struct ScriptModule: ProvisionModule {
    public static let name = "script"
    public static let pathOptions: Set<String> = ["chdir", "creates", "removes"]
    public static let options = [OptionSpec("cmd", aliases: ["_raw_params", "free_form"]), OptionSpec("chdir"),
                                 OptionSpec("creates"), OptionSpec("removes"), OptionSpec("executable")]
    public static let freeFormOption: String? = "cmd"

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let line = try (args.optionalString("cmd") ?? args.optionalString("_raw_params") ?? args.string("free_form"))
            .trimmingCharacters(in: .whitespaces)
        let end = line.firstIndex(of: " ") ?? line.endIndex
        let name = String(line[..<end]), rest = String(line[end...])
        let local = try ctx.localFile(name, kind: "files")
        guard let body = FileManager.default.contents(atPath: local) else { return .fail("script: cannot read \(local)") }
        let guards = CommandModule.guards(args)
        if !guards.isEmpty {
            let g = try ctx.sh(guards + "exit 0")
            if g.stdout.hasPrefix("__PROVISION_SKIP__") {
                return ModuleResult(msg: "skipped, since " + g.stdout.dropFirst(19).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        if ctx.check {
            var r = ModuleResult(changed: !guards.isEmpty, msg: "script not run in check mode")
            r.skipped = guards.isEmpty
            return r
        }
        let tmp = try ctx.sh(#"mktemp "${TMPDIR:-/tmp}/.provision-script.XXXXXXXX""#)
        guard tmp.exitStatus == 0 else { return .fail("script: cannot make a temporary file: \(tmp.stderr)") }
        let path = tmp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try ctx.put(body, to: path, mode: 0o700)
        let run = (args.optionalString("executable").map { q($0) + " " } ?? "") + q(path) + rest
        let chdir = args.optionalString("chdir").map { "cd \(q($0)) && " } ?? ""
        return try CommandModule.runCommand(ModuleArgs(["cmd": "\(chdir)\(run); rc=$?; rm -f -- \(q(path)); exit $rc"], module: name), ctx)
    }
}
