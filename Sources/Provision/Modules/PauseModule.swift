import Foundation

/// `pause`: waits `seconds` (or `minutes`) on the controller; prompting is not supported.
public struct PauseModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "pause"
    public static let options = [OptionSpec("seconds", .number), OptionSpec("minutes", .number), OptionSpec("prompt"), OptionSpec("echo", .bool)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        guard args.has("seconds") || args.has("minutes") else {
            return .fail("pause: prompting is not supported here; give seconds or minutes")
        }
        let seconds = try args.double("seconds", default: 0) + 60 * args.double("minutes", default: 0)
        let start = Date()
        Thread.sleep(forTimeInterval: max(0, seconds))
        let waited = Date().timeIntervalSince(start)
        return ModuleResult(data: ["start": "\(start)", "delta": Int(waited.rounded()), "echo": true])
    }
}
