import Foundation

/// `sysctl`: a kernel parameter persisted as `name = value` in `sysctl_file` (default
/// /etc/sysctl.d/99-provision.conf) and applied with `sysctl -w` when the live value differs
/// (`reload: no` skips that). Live value and file in one round trip.
public struct SysctlModule: ProvisionModule {
    public static let name = "sysctl"
    public static let pathOptions: Set<String> = ["sysctl_file"]
    public static let options = [OptionSpec("name", required: true, aliases: ["key"]), OptionSpec("value", .any, aliases: ["val"]),
                                 OptionSpec("state", choices: ["present", "absent"]), OptionSpec("sysctl_file"),
                                 OptionSpec("reload", .bool)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let name = try args.optionalString("name") ?? args.string("key")
        let file = args.string("sysctl_file", default: "/etc/sysctl.d/99-provision.conf")
        let state = try args.choice("state", ["present", "absent"], default: "present")
        let facts = try FileFacts.gather(ctx, file, content: true)
        let live = try ctx.sh("sysctl -n \(q(name)) 2>/dev/null; true").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var lines = UnifiedDiff.lines(String(decoding: facts.content ?? Data(), as: UTF8.self))
        let isEntry: (String) -> Bool = { l in
            let k = l.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces)
            return k == name && !l.hasPrefix("#")
        }
        var result = ModuleResult(data: ["name": name])
        var applyCmd: String?
        if state == "absent" {
            lines.removeAll(where: isEntry)
        } else {
            let value = try args.string("value")
            let entry = "\(name) = \(value)"
            if let i = lines.firstIndex(where: isEntry) { lines[i] = entry } else { lines.append(entry) }
            let normalize: (String) -> String = { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
            if try args.bool("reload", default: true), normalize(live) != normalize(value) {
                applyCmd = "sysctl -q -w \(q("\(name)=\(value)"))"
                result.changed = true
                result.diff = ctx.diff ? UnifiedDiff.state(["\(name) (live)": live], ["\(name) (live)": value]) : nil
            }
        }
        let newText = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        if newText != String(decoding: facts.content ?? Data(), as: UTF8.self) {
            let w = try FileWriter.ensure(ctx, path: file, data: Data(newText.utf8), mode: nil, owner: nil, group: nil, facts: facts)
            if w.failed { return w }
            result.changed = result.changed || w.changed
            if let d = w.diff { result.diff = (result.diff ?? "") + d }
        }
        if let applyCmd, !ctx.check {
            let r = try ctx.sh(applyCmd)
            if r.exitStatus != 0 { return .fail("\(applyCmd): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        return result
    }
}
