import Foundation

/// `ping`: proves the host answers a command over its connection; `data` comes back as `ping`
/// (default `pong`), and `data: crash` fails, as Ansible's test module does. Never a change.
public struct PingModule: ProvisionModule {
    public static let name = "ping"
    public static let options = [OptionSpec("data", .any)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let data = args.values["data"] ?? "pong"
        if Values.string(data) == "crash" { return .fail("boom", data: ["ping": data]) }
        let r = try ctx.sh("true")
        guard r.exitStatus == 0 else { return .fail("ping: a command on the host exited \(r.exitStatus): \(r.stderr)") }
        return ModuleResult(data: ["ping": data])
    }
}
