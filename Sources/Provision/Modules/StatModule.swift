import Foundation

/// `stat`: facts about a path in one round trip, under the result key `stat` with Ansible's
/// names (exists, path, mode as "0644", isdir/isreg/islnk/…, size, uid, gid, pw_name, gr_name,
/// mtime/atime/ctime, inode, dev, nlink, the r/w/x bits, readable/writeable/executable,
/// lnk_source/lnk_target for links, checksum of a regular file). Never changes anything.
public struct StatModule: ProvisionModule {
    public static let name = "stat"
    public static let pathOptions: Set<String> = ["path", "dest", "name"]
    static let algorithms = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "name"]), OptionSpec("follow", .bool),
        OptionSpec("get_checksum", .bool), OptionSpec("checksum_algorithm", choices: algorithms, aliases: ["checksum", "checksum_algo"]),
        OptionSpec("get_mime", .bool, aliases: ["mime", "mime_type", "mime-type"]), OptionSpec("get_attributes", .bool, aliases: ["attr", "attributes"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let path = try args.optionalString("path") ?? args.optionalString("dest") ?? args.string("name")
        let follow = try args.bool("follow")
        let algorithm = try args.choice("checksum_algorithm", algorithms,
                                        default: args.optionalString("checksum") ?? args.optionalString("checksum_algo") ?? "sha1")
        let p = q(path)
        let sum = try args.bool("get_checksum", default: true)
            ? "if [ -f \(p) ] && [ -r \(p) ]; then \(algorithm)sum -- \(p) | cut -d' ' -f1; else echo; fi" : "echo"
        // With follow, a dangling link does not exist (as os.stat sees it).
        let exists = follow ? "[ -e \(p) ]" : "[ -L \(p) ] || [ -e \(p) ]"
        let script = "if \(exists); then stat \(follow ? "-L " : "")-c '%f|%s|%u|%g|%U|%G|%Y|%X|%Z|%i|%d|%h' -- \(p) && "
            + "{ readlink -- \(p) || echo; readlink -f -- \(p) || echo; \(sum); "
            + "for t in r w x; do [ -$t \(p) ] && printf 1 || printf 0; done; echo; }; else echo __MISSING__; fi"
        let r = try ctx.sh(script)
        guard r.exitStatus == 0 else { return .fail("cannot stat \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        let lines = r.stdout.components(separatedBy: "\n")
        guard lines.first != "__MISSING__" else { return ModuleResult(data: ["stat": ["exists": false] as [String: Any]]) }
        let f = lines[0].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 12, lines.count >= 5, let raw = UInt32(f[0], radix: 16) else {
            return .fail("cannot stat \(path): unexpected output '\(lines[0])'")
        }
        return ModuleResult(data: ["stat": facts(path: path, raw: raw, fields: f, lines: lines)])
    }

    /// The `stat` mapping from `stat -c` fields (raw mode in hex first) and the extra lines.
    static func facts(path: String, raw: UInt32, fields f: [String], lines: [String]) -> [String: Any] {
        let type = raw & 0o170000, perm = raw & 0o7777
        func bit(_ b: UInt32) -> Bool { perm & b != 0 }
        let access = Array(lines[4])
        var s: [String: Any] = [
            "exists": true, "path": path, "mode": String(format: "%04o", perm),
            "isdir": type == 0o040000, "isreg": type == 0o100000, "islnk": type == 0o120000, "ischr": type == 0o020000,
            "isblk": type == 0o060000, "isfifo": type == 0o010000, "issock": type == 0o140000,
            "size": Int(f[1]) ?? 0, "uid": Int(f[2]) ?? 0, "gid": Int(f[3]) ?? 0, "pw_name": f[4], "gr_name": f[5],
            "mtime": Double(f[6]) ?? 0, "atime": Double(f[7]) ?? 0, "ctime": Double(f[8]) ?? 0,
            "inode": Int(f[9]) ?? 0, "dev": Int(f[10]) ?? 0, "nlink": Int(f[11]) ?? 0,
            "rusr": bit(0o400), "wusr": bit(0o200), "xusr": bit(0o100), "rgrp": bit(0o040), "wgrp": bit(0o020),
            "xgrp": bit(0o010), "roth": bit(0o004), "woth": bit(0o002), "xoth": bit(0o001),
            "isuid": bit(0o4000), "isgid": bit(0o2000),
            "readable": access.count > 0 && access[0] == "1", "writeable": access.count > 1 && access[1] == "1",
            "executable": access.count > 2 && access[2] == "1",
        ]
        if type == 0o120000 {
            s["lnk_target"] = lines[1]
            s["lnk_source"] = lines[2]
        }
        if type == 0o100000, !lines[3].isEmpty { s["checksum"] = lines[3] }
        return s
    }
}
