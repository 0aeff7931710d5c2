import Foundation

/// `tempfile`: a new temporary file or directory (`mktemp`, mode 0600 / 0700) named
/// `<prefix>XXXXXXXX<suffix>` in `path` (default the host's `$TMPDIR` or /tmp); the result's
/// `path` names it. Always a change, as in Ansible; under check mode it is skipped, as Ansible
/// skips modules without check-mode support.
public struct TempfileModule: ProvisionModule {
    public static let name = "tempfile"
    public static let pathOptions: Set<String> = ["path"]
    public static let options = [
        OptionSpec("state", choices: ["file", "directory"]), OptionSpec("path"),
        OptionSpec("prefix"), OptionSpec("suffix"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let state = try args.choice("state", ["file", "directory"], default: "file")
        if ctx.check {
            var r = ModuleResult(msg: "Check mode not supported by tempfile: skipped")
            r.skipped = true
            return r
        }
        let prefix = args.string("prefix", default: "ansible."), suffix = args.string("suffix", default: "")
        guard !prefix.contains("/"), !suffix.contains("/") else { return .fail("tempfile: prefix and suffix must not contain '/'") }
        let dir = args.optionalString("path").map(q) ?? #""${TMPDIR:-/tmp}""#
        let r = try ctx.sh("mktemp \(state == "directory" ? "-d " : "")-p \(dir) --suffix=\(q(suffix)) \(q(prefix + "XXXXXXXX"))")
        guard r.exitStatus == 0 else { return .fail("tempfile: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return ModuleResult(changed: true, data: ["path": path, "state": state == "file" ? "file" : "directory"])
    }
}
