import Foundation

/// `package` / `apt`: Debian packages present / absent / latest. State comes from dpkg-query
/// (and apt-cache policy for latest) in one round trip; apt-get runs only for what differs, with
/// DEBIAN_FRONTEND=noninteractive; an installed package is never reinstalled. `update_cache`
/// runs `apt-get update` first and does not by itself count as a change.
public struct PackageModule: ProvisionModule {
    public static let name = "package"
    public static let options = [
        OptionSpec("name", .any, aliases: ["pkg"]), OptionSpec("state", choices: ["present", "installed", "absent", "removed", "latest"]),
        OptionSpec("update_cache", .bool), OptionSpec("install_recommends", .bool), OptionSpec("cache_valid_time", .int),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let names = args.list("name").map { Values.string($0) }.filter { !$0.isEmpty }
        let state = try args.choice("state", ["present", "installed", "absent", "removed", "latest"], default: "present")
        let env = "DEBIAN_FRONTEND=noninteractive"
        if try args.bool("update_cache"), !ctx.check {
            // cache_valid_time: skip the update while apt's package cache is younger than that.
            let valid = try args.int("cache_valid_time", default: 0)
            let fresh = valid > 0 ? "[ -n \"$(find /var/cache/apt/pkgcache.bin -mmin -\((valid + 59) / 60) 2>/dev/null)\" ] || " : ""
            let u = try ctx.sh("\(fresh)\(env) apt-get update -q")
            if u.exitStatus != 0 { return .fail("apt-get update failed: \(u.stderr.suffix(500))") }
        }
        guard !names.isEmpty else { return ModuleResult() }
        let quoted = names.map(q).joined(separator: " ")
        var script = "dpkg-query -W -f='${Package}\\t${Status}\\t${Version}\\n' \(quoted) 2>/dev/null; echo __POLICY__"
        if state == "latest" { script += "; apt-cache policy \(quoted) 2>/dev/null" }
        let r = try ctx.sh(script)
        let (installed, candidates) = parse(r.stdout)
        let todo: [String]
        let command: String
        switch state {
        case "absent", "removed":
            todo = names.filter { installed[$0] != nil }
            command = "\(env) apt-get remove -y -q \(todo.map(q).joined(separator: " "))"
        case "latest":
            todo = names.filter { installed[$0] == nil || (candidates[$0].map { $0 != installed[$0] && $0 != "(none)" } ?? false) }
            command = "\(env) apt-get install -y -q \(recommends(args)) \(todo.map(q).joined(separator: " "))"
        default:
            todo = names.filter { installed[$0] == nil }
            command = "\(env) apt-get install -y -q \(recommends(args)) \(todo.map(q).joined(separator: " "))"
        }
        var result = ModuleResult(changed: !todo.isEmpty, data: ["packages": todo])
        if ctx.diff && result.changed {
            let before = Dictionary(uniqueKeysWithValues: todo.map { ($0, installed[$0] ?? "absent") })
            let after = Dictionary(uniqueKeysWithValues: todo.map { ($0, state.hasPrefix("a") || state == "removed" ? "absent" : candidates[$0] ?? "installed") })
            result.diff = UnifiedDiff.state(before, after)
        }
        guard result.changed, !ctx.check else { return result }
        let a = try ctx.sh(command)
        if a.exitStatus != 0 { return .fail("apt-get failed (\(a.exitStatus)): \(a.stderr.suffix(800))") }
        return result
    }

    static func recommends(_ args: ModuleArgs) -> String {
        ((try? args.bool("install_recommends", default: false)) ?? false) ? "" : "--no-install-recommends"
    }

    /// Installed versions (status "install ok installed" only) and policy candidates.
    static func parse(_ out: String) -> (installed: [String: String], candidates: [String: String]) {
        var installed: [String: String] = [:], candidates: [String: String] = [:]
        let parts = out.components(separatedBy: "__POLICY__")
        for line in parts[0].split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if f.count == 3, f[1].hasSuffix(" installed") { installed[f[0].components(separatedBy: ":").first!] = f[2] }
        }
        if parts.count > 1 {
            var current: String?
            for line in parts[1].split(separator: "\n") {
                if !line.hasPrefix(" ") && line.hasSuffix(":") { current = String(line.dropLast()) }
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("Candidate:"), let c = current { candidates[c] = t.dropFirst(10).trimmingCharacters(in: .whitespaces) }
            }
        }
        return (installed, candidates)
    }
}

/// `apt`: the Debian spelling of `package`.
public struct AptModule: ProvisionModule {
    public static let name = "apt"
    public static let options = PackageModule.options
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult { try PackageModule.run(args, ctx) }
}
