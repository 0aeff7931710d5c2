import Foundation

/// `find`: files under `paths` chosen by name (`patterns` / `excludes`, shell globs or with
/// `use_regex` regular expressions, matched against the base name), `file_type`, `age`, `size`,
/// `contains`, `hidden`, `recurse` / `depth`; one `find -printf` round trip (plus one `grep`
/// for `contains`). Result as Ansible's: `files` (stat-like entries sorted by path), `matched`,
/// `examined`, `skipped_paths`, `msg`. Never a change.
public struct FindModule: ProvisionModule {
    public static let name = "find"
    public static let pathOptions: Set<String> = ["paths"]
    public static let options = [
        OptionSpec("paths", .list, required: true, aliases: ["name", "path"]), OptionSpec("patterns", .list, aliases: ["pattern"]),
        OptionSpec("excludes", .list, aliases: ["exclude"]), OptionSpec("contains"),
        OptionSpec("file_type", choices: ["any", "directory", "file", "link"]), OptionSpec("recurse", .bool),
        OptionSpec("hidden", .bool), OptionSpec("follow", .bool),
        OptionSpec("use_regex", .bool), OptionSpec("depth", .int), OptionSpec("age"), OptionSpec("size"),
        OptionSpec("age_stamp", choices: ["atime", "ctime", "mtime"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let paths = args.list(args.has("paths") ? "paths" : args.has("path") ? "path" : "name").map { Values.string($0) }
        let patterns = list(args, "patterns", "pattern"), excludes = list(args, "excludes", "exclude")
        let fileType = try args.choice("file_type", ["any", "directory", "file", "link"], default: "file")
        let regex = try args.bool("use_regex"), hidden = try args.bool("hidden"), recurse = try args.bool("recurse")
        let depth = try args.int("depth", default: 0)
        let age = try args.optionalString("age").map { try Self.age($0) }
        let size = try args.optionalString("size").map { try Self.size($0) }
        let stamp = try args.choice("age_stamp", ["atime", "ctime", "mtime"], default: "mtime")
        let maxDepth = recurse ? (depth > 0 ? "-maxdepth \(depth) " : "") : "-maxdepth 1 "
        let format = #"%y|%m|%s|%U|%G|%u|%g|%T@|%A@|%C@|%i|%D|%n|%p\0"#
        var script = ""
        for p in paths {
            script += "if [ -d \(q(p)) ]; then find \(try args.bool("follow") ? "-L " : "")\(q(p)) -mindepth 1 \(maxDepth)-printf '\(format)' 2>/dev/null; "
                + "else printf 'skip|%s\\0' \(q(p)); fi; "
        }
        let r = try ctx.sh(script)
        var files: [[String: Any]] = [], skipped: [String: String] = [:], examined = 0
        let now = Date().timeIntervalSince1970
        func matches(_ name: String, _ list: [String]) -> Bool {
            list.contains { pattern in
                if regex { return name.range(of: "^(?:\(pattern))$", options: .regularExpression) != nil }
                return fnmatch(pattern, name, 0) == 0
            }
        }
        for record in r.stdout.split(separator: "\0") {
            let f = record.split(separator: "|", maxSplits: 13, omittingEmptySubsequences: false).map(String.init)
            if f.count == 2, f[0] == "skip" { skipped[f[1]] = "\(f[1]) was skipped as it does not seem to be a valid directory or it cannot be accessed"; continue }
            guard f.count == 14 else { continue }
            examined += 1
            let path = f[13], base = (path as NSString).lastPathComponent
            let type = f[0]
            guard fileType == "any" || (fileType == "file" && type == "f") || (fileType == "directory" && type == "d")
                || (fileType == "link" && type == "l") else { continue }
            if !hidden && base.hasPrefix(".") { continue }
            if !patterns.isEmpty && !matches(base, patterns) { continue }
            if matches(base, excludes) { continue }
            let times: [String: Double] = ["mtime": Double(f[7]) ?? 0, "atime": Double(f[8]) ?? 0, "ctime": Double(f[9]) ?? 0]
            if let age {
                let old = now - times[stamp]!
                guard age >= 0 ? old >= age : old <= -age else { continue }
            }
            let bytes = Int(f[2]) ?? 0
            if let size { guard size >= 0 ? bytes >= size : bytes <= -size else { continue } }
            let mode = Int(f[1], radix: 8) ?? 0
            files.append([
                "path": path, "mode": String(format: "%04o", mode), "isdir": type == "d", "isreg": type == "f",
                "islnk": type == "l", "isfifo": type == "p", "issock": type == "s", "ischr": type == "c", "isblk": type == "b",
                "size": bytes, "uid": Int(f[3]) ?? 0, "gid": Int(f[4]) ?? 0, "pw_name": f[5], "gr_name": f[6],
                "mtime": times["mtime"]!, "atime": times["atime"]!, "ctime": times["ctime"]!,
                "inode": Int(f[10]) ?? 0, "dev": Int(f[11]) ?? 0, "nlink": Int(f[12]) ?? 0,
            ])
        }
        files.sort { Values.string($0["path"]) < Values.string($1["path"]) }
        if let contains = args.optionalString("contains"), !files.isEmpty {
            let regular = files.filter { $0["isreg"] as? Bool == true }.map { Values.string($0["path"]) }
            let g = try ctx.sh("grep -l -P -e \(q(contains)) -- \(regular.map(q).joined(separator: " ")) 2>/dev/null; true")
            let hits = Set(g.stdout.split(separator: "\n").map(String.init))
            files = files.filter { hits.contains(Values.string($0["path"])) }
        }
        return ModuleResult(msg: skipped.isEmpty ? "All paths examined" : "Not all paths examined, check warnings for details",
                            data: ["files": files, "matched": files.count, "examined": examined, "skipped_paths": skipped])
    }

    private static func list(_ args: ModuleArgs, _ key: String, _ alias: String) -> [String] {
        args.list(args.has(key) ? key : alias).map { Values.string($0) }
    }

    /// `age: 2d`, `-1h`, `30` (seconds): s, m, h, d, w.
    static func age(_ s: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800]
        return try scaled(s, units, "age")
    }

    /// `size: 10k`, `-1m`, `100` (bytes): b, k, m, g, t (powers of 1024).
    static func size(_ s: String) throws -> Int {
        let units: [Character: Double] = ["b": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776]
        return Int(try scaled(s, units, "size"))
    }

    private static func scaled(_ s: String, _ units: [Character: Double], _ key: String) throws -> Double {
        let t = s.lowercased().trimmingCharacters(in: .whitespaces)
        var number = t, factor = 1.0
        if let last = t.last, let u = units[last] { number = String(t.dropLast()); factor = u }
        guard let n = Double(number) else { throw ProvisionError("find: option '\(key)' must be a number with an optional unit (\(units.keys.sorted().map(String.init).joined(separator: ", "))), got '\(s)'") }
        return n * factor
    }
}
