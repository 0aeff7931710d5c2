import Foundation

/// `fetch`: copies a file from the host to the controller, to `dest/<inventory_hostname>/<src>`
/// or, with `flat: true`, to `dest` itself (a `dest` ending in `/` gets the file's name). The
/// remote sha1 is read first and nothing is transferred when the local copy already has it;
/// what arrives is checked against it (`validate_checksum`). Result keys as Ansible's:
/// `checksum`, `remote_checksum`, `dest`, `file`, `md5sum` is not computed.
public struct FetchModule: ProvisionModule {
    public static let name = "fetch"
    public static let pathOptions: Set<String> = ["src"]
    public static let options = [
        OptionSpec("src", required: true), OptionSpec("dest", required: true), OptionSpec("flat", .bool),
        OptionSpec("fail_on_missing", .bool), OptionSpec("validate_checksum", .bool),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let src = try args.string("src"), destOption = try args.string("dest")
        var dest: String
        if try args.bool("flat") {
            dest = destOption.hasSuffix("/") ? destOption + (src as NSString).lastPathComponent : destOption
        } else {
            dest = "\(destOption)/\(ctx.host)/\(src.hasPrefix("/") ? String(src.dropFirst()) : src)"
        }
        if !dest.hasPrefix("/") { dest = "\(ctx.playbookDir)/\(dest)" }
        dest = (dest as NSString).standardizingPath
        let p = q(src)
        let r = try ctx.sh("if [ -d \(p) ]; then exit 3; elif [ ! -e \(p) ]; then exit 4; elif [ ! -r \(p) ]; then exit 5; fi; sha1sum < \(p)")
        let missing: String?
        switch r.exitStatus {
        case 0: missing = nil
        case 3: return .fail("remote file is a directory, fetch cannot work on directories", data: ["file": src])
        case 4: missing = "the remote file does not exist, not transferring, ignored"
        case 5: missing = "file is not readable: \(src)"
        default: return .fail("fetch: cannot read \(src): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if let missing {
            if try args.bool("fail_on_missing", default: true) { return .fail(missing, data: ["file": src]) }
            return ModuleResult(msg: missing, data: ["file": src])
        }
        let remote = String(r.stdout.prefix(40))
        var data: [String: Any] = ["checksum": remote, "remote_checksum": remote, "dest": dest, "file": src]
        if let local = FileManager.default.contents(atPath: dest), SHA1.hex(local) == remote { return ModuleResult(data: data) }
        if ctx.check { return ModuleResult(changed: true, data: data) }
        guard let content = try ctx.read(src) else { return .fail("fetch: \(src) disappeared while fetching", data: ["file": src]) }
        let got = SHA1.hex(content)
        if try args.bool("validate_checksum", default: true), got != remote {
            return .fail("checksum mismatch", data: ["file": src, "checksum": got, "remote_checksum": remote])
        }
        let dir = (dest as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = "\(dir)/.\((dest as NSString).lastPathComponent).fetch-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: tmp, contents: content, attributes: [.posixPermissions: 0o644]),
              rename(tmp, dest) == 0 else {
            unlink(tmp)
            return .fail("fetch: cannot write \(dest)")
        }
        data["checksum"] = got
        return ModuleResult(changed: true, data: data)
    }
}
