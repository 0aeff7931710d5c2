import Foundation

/// `raw`: the command line as written, through the connection's shell (`executable` picks
/// another); the same result keys as `command` (rc, stdout, stderr, *_lines) and always a
/// change. Not run under --check, as Ansible's raw does not support check mode.
public struct RawModule: ProvisionModule {
    public static let name = "raw"
    public static let options = [OptionSpec("cmd", required: true, aliases: ["_raw_params", "free_form"]), OptionSpec("executable")]
    public static let freeFormOption: String? = "cmd"

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let cmd = try args.optionalString("cmd") ?? args.optionalString("_raw_params") ?? args.string("free_form")
        let line = args.optionalString("executable").map { "\(q($0)) -c \(q(cmd))" } ?? cmd
        return try CommandModule.runCommand(ModuleArgs(["cmd": line], module: name), ctx)
    }
}
