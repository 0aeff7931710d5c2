import Foundation

/// `service` / `systemd`: systemd units started / stopped / restarted / reloaded, enabled or
/// not, after an optional daemon-reload. Facts (is-active, is-enabled) in one round trip.
/// restarted/reloaded always act (and report changed); daemon_reload alone is not a change.
public struct ServiceModule: ProvisionModule {
    public static let name = "service"
    public static let options = [
        OptionSpec("name", aliases: ["unit"]), OptionSpec("state", choices: ["started", "stopped", "restarted", "reloaded"]),
        OptionSpec("enabled", .bool), OptionSpec("daemon_reload", .bool, aliases: ["daemon-reload"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let unit = args.optionalString("name") ?? args.optionalString("unit")
        let reload = try args.bool("daemon_reload") || args.bool("daemon-reload")
        if reload && !ctx.check {
            let r = try ctx.sh("systemctl daemon-reload")
            if r.exitStatus != 0 { return .fail("systemctl daemon-reload: \(r.stderr)") }
        }
        guard let unit else {
            if reload { return ModuleResult() }
            return .fail("service: option 'name' is required")
        }
        let u = q(unit)
        let facts = try ctx.sh("systemctl is-active \(u) 2>/dev/null; systemctl is-enabled \(u) 2>/dev/null; true")
        let lines = facts.stdout.split(separator: "\n").map(String.init)
        let active = lines.first ?? "unknown", enabledState = lines.count > 1 ? lines[1] : "unknown"
        let isActive = active == "active" || active == "activating" || active == "reloading"
        let isEnabled = ["enabled", "enabled-runtime", "static", "alias", "indirect", "generated"].contains(enabledState)
        var steps: [String] = []
        var before: [String: String] = [:], after: [String: String] = [:]
        if let state = args.optionalString("state") {
            switch state {
            case "started" where !isActive: steps.append("systemctl start \(u)")
            case "stopped" where isActive: steps.append("systemctl stop \(u)")
            case "restarted": steps.append("systemctl restart \(u)")
            case "reloaded": steps.append(isActive ? "systemctl reload \(u)" : "systemctl start \(u)")
            default: break
            }
            if !steps.isEmpty { before["state"] = active; after["state"] = state }
        }
        if args.has("enabled") {
            let want = try args.bool("enabled")
            if want != isEnabled && !(want == false && enabledState == "static") {
                steps.append(want ? "systemctl enable \(u)" : "systemctl disable \(u)")
                before["enabled"] = enabledState; after["enabled"] = want ? "enabled" : "disabled"
            }
        }
        return try ctx.apply(steps, data: ["name": unit, "state": isActive ? "started" : "stopped",
                                           "status": ["ActiveState": active, "UnitFileState": enabledState]],
                             before: before, after: after)
    }
}

/// `systemd`: the same module under its other common name.
public struct SystemdModule: ProvisionModule {
    public static let name = "systemd"
    public static let options = ServiceModule.options
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult { try ServiceModule.run(args, ctx) }
}
