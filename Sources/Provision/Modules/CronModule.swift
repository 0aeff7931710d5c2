import Foundation

/// `cron`: one named job (`#Ansible: <name>` marker line, then the job line) in a user's crontab
/// (`crontab -l/-u`) or in `cron_file` (relative names under /etc/cron.d, with the user field),
/// present, replaced in place or absent; `disabled` comments the job out. The file or crontab is
/// rewritten only when its lines differ. `env` variables are not supported (refused).
public struct CronModule: ProvisionModule {
    public static let name = "cron"
    public static let pathOptions: Set<String> = ["cron_file"]
    static let times = ["minute", "hour", "day", "month", "weekday"]
    public static let options = [
        OptionSpec("name", required: true), OptionSpec("job", aliases: ["value"]), OptionSpec("state", choices: ["present", "absent"]),
        OptionSpec("user"), OptionSpec("cron_file"), OptionSpec("disabled", .bool), OptionSpec("env", .bool),
        OptionSpec("special_time", choices: ["annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly"]),
    ] + times.map { OptionSpec($0, .any, aliases: $0 == "day" ? ["dom"] : $0 == "weekday" ? ["dow"] : []) }

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        if try args.bool("env") { return .fail("cron: env: true is not supported here") }
        let name = try args.string("name"), state = try args.choice("state", ["present", "absent"], default: "present")
        let file = args.optionalString("cron_file").map { $0.hasPrefix("/") ? $0 : "/etc/cron.d/\($0)" }
        let user = args.optionalString("user") ?? (file == nil ? nil : "root")
        let old: String
        if let file {
            old = String(decoding: try FileFacts.gather(ctx, file, content: true).content ?? Data(), as: UTF8.self)
        } else {
            let r = try ctx.sh("crontab -l \(user.map { "-u \(q($0)) " } ?? "")2>/dev/null || true")
            old = r.stdout
        }
        var lines = UnifiedDiff.lines(old)
        let marker = "#Ansible: \(name)"
        let at = lines.firstIndex(of: marker)
        if let at { lines.removeSubrange(at...min(at + 1, lines.count - 1)) }
        if state == "present" {
            guard let job = args.optionalString("job") else { return .fail("cron: 'job' is required when state=present") }
            let when = try args.optionalString("special_time").map { "@" + $0 }
                ?? times.map { Values.string(args.values[$0] ?? args.values[$0 == "day" ? "dom" : "dow"] ?? "*") }.joined(separator: " ")
            let line = (try args.bool("disabled") ? "#" : "") + when + (file == nil ? "" : " \(user ?? "root")") + " " + job
            lines.insert(contentsOf: [marker, line], at: at ?? lines.count)
        }
        let new = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        let jobs = lines.filter { $0.hasPrefix("#Ansible: ") }.map { String($0.dropFirst(10)) }
        let data: [String: Any] = ["jobs": jobs, "envs": [Any]()] .merging(file.map { ["cron_file": $0] } ?? [:]) { a, _ in a }
        guard UnifiedDiff.lines(new) != UnifiedDiff.lines(old) else { return ModuleResult(data: data) }
        var result = ModuleResult(changed: true, data: data)
        if ctx.diff { result.diff = UnifiedDiff.text(old, new, from: file ?? "crontab", to: file ?? "crontab") }
        if ctx.check { return result }
        if let file {
            let w = try FileWriter.ensure(ctx, path: file, data: Data(new.utf8), mode: nil, owner: nil, group: nil)
            if w.failed { return w }
        } else {
            let r = try ctx.sh("crontab \(user.map { "-u \(q($0)) " } ?? "")-", input: Data(new.utf8))
            if r.exitStatus != 0 { return .fail("cron: crontab: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        return result
    }
}
