import Foundation

/// `get_url`: downloads with the host's `curl` into a temporary file beside `dest` (a directory
/// `dest` gets the URL's file name), checks `checksum` (`sha256:…`, `sha1:…`, `md5:…`, …) and
/// moves it over `dest` only when the bytes differ. As in Ansible, an existing `dest` is not
/// downloaded again unless `force: true` (or a `checksum` it does not match). Result keys:
/// `dest`, `url`, `status_code`, `checksum_dest` / `checksum_src` (sha1), `size`, `mode`, `msg`.
public struct GetURLModule: ProvisionModule {
    public static let name = "get_url"
    public static let pathOptions: Set<String> = ["dest"]
    public static let options = [
        OptionSpec("url", required: true), OptionSpec("dest", required: true), OptionSpec("force", .bool),
        OptionSpec("checksum"), OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"),
        OptionSpec("timeout", .int), OptionSpec("validate_certs", .bool), OptionSpec("headers", .dict),
        OptionSpec("url_username", aliases: ["username"]), OptionSpec("url_password", aliases: ["password"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let url = try args.string("url"), destOption = try args.string("dest")
        var expected: (algorithm: String, hex: String)?
        if let c = args.optionalString("checksum"), !c.isEmpty {
            let parts = c.split(separator: ":", maxSplits: 1).map(String.init)
            let known = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
            guard parts.count == 2, known.contains(parts[0].lowercased()) else {
                return .fail("get_url: checksum must be '<algorithm>:<hex>' with one of \(known.joined(separator: ", ")), got '\(c)'")
            }
            expected = (parts[0].lowercased(), parts[1].lowercased())
        }
        let name = URL(string: url)?.lastPathComponent ?? "index.html"
        let probe = try ctx.sh("if [ -d \(q(destOption)) ]; then echo dir; elif [ -e \(q(destOption)) ]; then echo file; "
            + (expected.map { "\($0.algorithm)sum < \(q(destOption)) | cut -d' ' -f1; " } ?? "") + "else echo none; fi")
        let lines = probe.stdout.split(separator: "\n").map(String.init)
        let dest = lines.first == "dir" ? destOption + "/" + (name.isEmpty ? "index.html" : name) : destOption
        let exists = lines.first == "file"
        let matches = expected.map { exists && lines.count > 1 && lines[1] == $0.hex } ?? exists
        var data: [String: Any] = ["dest": dest, "url": url]
        if lines.first == "dir" {
            guard !destOption.hasSuffix("/" + name) else { return .fail("get_url: \(dest) is a directory", data: data) }
            return try run(args.with(dest: dest), ctx)
        }
        let force = try args.bool("force")
        if exists && matches && !force { return ModuleResult(msg: "file already exists", data: data) }
        if ctx.check { return ModuleResult(changed: true, msg: "would download \(url)", data: data) }
        var curl = ["curl", "-sSfL", "--max-time", String(try args.int("timeout", default: 10)), "-w", "%{http_code}\\n"]
        if !(try args.bool("validate_certs", default: true)) { curl.append("-k") }
        if let user = args.optionalString("url_username") { curl += ["-u", user + ":" + args.string("url_password", default: "")] }
        for (k, v) in (args.values["headers"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) { curl += ["-H", "\(k): \(Values.string(v))"] }
        let mode = try args.mode("mode")?.resolve(current: nil, directory: false) ?? 0o644
        let dir = (dest as NSString).deletingLastPathComponent
        var script = "t=$(mktemp -p \(q(dir.isEmpty ? "." : dir)) .get_url.XXXXXXXX) || exit 1; trap 'rm -f \"$t\"' EXIT; "
            + curl.map(q).joined(separator: " ") + " -o \"$t\" \(q(url)) || exit 10; "
        if let e = expected {
            script += "s=$(\(e.algorithm)sum < \"$t\" | cut -d' ' -f1); [ \"$s\" = \(q(e.hex)) ] || { echo \"checksum $s\" >&2; exit 11; }; "
        }
        script += "sha1sum < \"$t\" | cut -d' ' -f1; wc -c < \"$t\"; "
            + "if [ -f \(q(dest)) ] && cmp -s \"$t\" \(q(dest)); then echo same; else chmod \(String(mode, radix: 8)) \"$t\" && mv -f \"$t\" \(q(dest)) && echo moved; fi"
        let r = try ctx.sh(script)
        let why = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        switch r.exitStatus {
        case 0: break
        case 10: return .fail("Request failed: \(why)", data: data)
        case 11: return .fail("The checksum for \(dest) did not match \(expected!.hex); it was \(why.replacingOccurrences(of: "checksum ", with: "")).", data: data)
        default: return .fail("get_url: \(why)", data: data)
        }
        let out = r.stdout.split(separator: "\n").map(String.init)
        guard out.count >= 4 else { return .fail("get_url: unexpected output '\(r.stdout)'", data: data) }
        data["status_code"] = Int(out[0]) ?? 0
        data["checksum_src"] = out[1]; data["checksum_dest"] = out[1]
        data["size"] = Int(out[2].trimmingCharacters(in: .whitespaces)) ?? 0
        data["mode"] = String(format: "%04o", mode)
        var result = ModuleResult(changed: out[3] == "moved", msg: "OK (\(data["size"]!) bytes)", data: data)
        var owners: [String] = []
        if let o = args.optionalString("owner") { owners.append("chown \(q(o)) \(q(dest))") }
        if let g = args.optionalString("group") { owners.append("chgrp \(q(g)) \(q(dest))") }
        if result.changed, !owners.isEmpty {
            let c = try ctx.sh(owners.joined(separator: " && "))
            if c.exitStatus != 0 { result = .fail("get_url: \(c.stderr.trimmingCharacters(in: .whitespacesAndNewlines))", data: data) }
        }
        return result
    }
}

private extension ModuleArgs {
    func with(dest: String) -> ModuleArgs {
        var v = values
        v["dest"] = dest
        return ModuleArgs(v, module: module)
    }
}
