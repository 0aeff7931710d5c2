import Foundation

/// `wait_for_connection`: after `delay`, runs `true` on the host every `sleep` seconds until it
/// answers or `timeout` passes; `elapsed` as in Ansible. It uses the host's one connection for
/// the run: a host already found unreachable is not dialled again (documented difference).
public struct WaitForConnectionModule: ProvisionModule {
    public static let name = "wait_for_connection"
    public static let options = [OptionSpec("timeout", .int), OptionSpec("delay", .number), OptionSpec("sleep", .number),
                                 OptionSpec("connect_timeout", .int)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let start = Date()
        let timeout = Double(try args.int("timeout", default: 600))
        Thread.sleep(forTimeInterval: try args.double("delay", default: 0))
        let pause = try args.double("sleep", default: 1)
        while true {
            if let r = try? ctx.sh("true"), r.exitStatus == 0 {
                return ModuleResult(data: ["elapsed": Int(Date().timeIntervalSince(start))])
            }
            if Date().timeIntervalSince(start) + pause > timeout {
                return .fail("timed out waiting for connection after \(Int(timeout)) seconds", data: ["elapsed": Int(Date().timeIntervalSince(start))])
            }
            Thread.sleep(forTimeInterval: pause)
        }
    }
}
