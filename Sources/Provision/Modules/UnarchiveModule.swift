import Foundation

/// `unarchive`: a tar archive (plain, gz, bz2, xz, zst — GNU tar detects the compression) from
/// the controller (`files/`, sent to a temporary file each run, as Ansible copies it) or, with
/// `remote_src`, already on the host, unpacked into the existing directory `dest`. GNU tar's
/// `--compare` decides whether anything differs, so a second run is not a change. zip archives
/// are refused (not supported here). `creates` skips it all; `owner` / `group` / `mode` go to
/// tar's `--owner` / `--group` / `--mode`; `extra_opts` are passed to tar.
public struct UnarchiveModule: ProvisionModule {
    public static let name = "unarchive"
    public static let pathOptions: Set<String> = ["dest", "creates"]
    public static let options = [
        OptionSpec("src", required: true), OptionSpec("dest", required: true), OptionSpec("remote_src", .bool),
        OptionSpec("copy", .bool), OptionSpec("creates"), OptionSpec("owner"), OptionSpec("group"), OptionSpec("mode", .any),
        OptionSpec("extra_opts", .list), OptionSpec("list_files", .bool),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let src = try args.string("src"), dest = try args.string("dest")
        let remote = try args.bool("remote_src") || !(try args.bool("copy", default: true))
        guard !src.lowercased().hasSuffix(".zip") else { return .fail("unarchive: zip archives are not supported here (tar formats are)") }
        var data: [String: Any] = ["dest": dest, "src": src]
        if let c = args.optionalString("creates") {
            let r = try ctx.sh("[ -e \(q(c)) ]")
            if r.exitStatus == 0 { return ModuleResult(msg: "skipped, since \(c) exists", data: data) }
        }
        var archive = src, cleanup = ""
        if !remote {
            let local = try ctx.localFile(src, kind: "files")
            guard let body = FileManager.default.contents(atPath: local) else { return .fail("unarchive: cannot read \(local)") }
            let t = try ctx.sh(#"mktemp "${TMPDIR:-/tmp}/.provision-archive.XXXXXXXX""#)
            guard t.exitStatus == 0 else { return .fail("unarchive: cannot make a temporary file: \(t.stderr)") }
            archive = t.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try ctx.put(body, to: archive, mode: 0o600)
            cleanup = "rm -f -- \(q(archive)); "
        }
        var flags: [String] = args.list("extra_opts").map { Values.string($0) }
        if let o = args.optionalString("owner") { flags.append("--owner=\(o)") }
        if let g = args.optionalString("group") { flags.append("--group=\(g)") }
        if let m = try args.mode("mode") { flags.append("--mode=\(String(m.resolve(current: nil, directory: false), radix: 8))") }
        let opts = flags.map(q).joined(separator: " ")
        let a = q(archive), d = q(dest)
        let extract = ctx.check ? "echo extract" : "tar -x -f \(a) -C \(d) \(opts) && echo extract"
        let list = try args.bool("list_files") ? "tar -t -f \(a) > \"$l\"; " : ""
        let script = "l=$(mktemp); trap '\(cleanup)rm -f \"$l\"' EXIT; [ -d \(d) ] || { echo \"destination \(dest) is not a directory\" >&2; exit 3; }; "
            + "[ -f \(a) ] || { echo \"source \(src) not found\" >&2; exit 3; }; \(list)"
            + "if tar -d -f \(a) -C \(d) \(opts) >/dev/null 2>&1; then echo same; else \(extract); fi; "
            + (list.isEmpty ? "" : "echo __FILES__; cat \"$l\"")
        let r = try ctx.sh(script)
        guard r.exitStatus == 0 else { return .fail("unarchive: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))", data: data) }
        let parts = r.stdout.components(separatedBy: "__FILES__\n")
        if parts.count > 1 { data["files"] = parts[1].split(separator: "\n").map(String.init) }
        return ModuleResult(changed: parts[0].hasPrefix("extract"), data: data)
    }
}
