import Foundation

/// `hostname`: the host's name, read with its /etc/hostname in one round trip; when either
/// differs, set with `hostnamectl set-hostname` under systemd (`use: systemd`, or found running)
/// and otherwise by writing /etc/hostname and running `hostname` (`use: debian` / `generic`).
/// Result keys as Ansible's: `name`, `ansible_facts.ansible_hostname` / `ansible_nodename`.
public struct HostnameModule: ProvisionModule {
    public static let name = "hostname"
    public static let options = [OptionSpec("name", required: true), OptionSpec("use", choices: ["systemd", "debian", "generic"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let name = try args.string("name")
        guard name.range(of: #"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"#, options: .regularExpression) != nil else {
            return .fail("hostname: '\(name)' is not a valid host name")
        }
        let r = try ctx.sh("hostname; cat /etc/hostname 2>/dev/null || echo; [ -d /run/systemd/system ] && echo systemd || echo other")
        let lines = r.stdout.components(separatedBy: "\n")
        guard r.exitStatus == 0, lines.count >= 3 else { return .fail("hostname: cannot read the current name: \(r.stderr)") }
        let current = lines[0].trimmingCharacters(in: .whitespaces), file = lines[1].trimmingCharacters(in: .whitespaces)
        let use = args.optionalString("use") ?? (lines[2] == "systemd" ? "systemd" : "debian")
        let facts: [String: Any] = ["ansible_hostname": name.split(separator: ".").first.map(String.init) ?? name, "ansible_nodename": name]
        var result = ModuleResult(data: ["name": name, "ansible_facts": facts])
        guard current != name || file != name else { return result }
        result.changed = true
        if ctx.diff { result.diff = UnifiedDiff.state(["hostname": current], ["hostname": name]) }
        if ctx.check { return result }
        let set = use == "systemd" ? "hostnamectl set-hostname \(q(name))"
            : "printf '%s\\n' \(q(name)) > /etc/hostname && hostname \(q(name))"
        let s = try ctx.sh(set)
        if s.exitStatus != 0 { return .fail("hostname: \(s.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        result.facts = facts
        return result
    }
}
