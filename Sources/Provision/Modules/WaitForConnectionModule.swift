import Foundation

/// `wait_for_connection`: after `delay`, runs `true` on the host every `sleep` seconds until it
/// answers or `timeout` passes; `elapsed` as in Ansible. A connection that fails is dialled
/// again before the next try, each dial bounded by `connect_timeout` (default 5, as Ansible's).
public struct WaitForConnectionModule: ProvisionModule {
    public static let name = "wait_for_connection"
    public static let options = [OptionSpec("timeout", .int), OptionSpec("delay", .number), OptionSpec("sleep", .number),
                                 OptionSpec("connect_timeout", .int)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let start = Date()
        let timeout = Double(try args.int("timeout", default: 600))
        let connectTimeout = Double(try args.int("connect_timeout", default: 5))
        Thread.sleep(forTimeInterval: try args.double("delay", default: 0))
        let pause = try args.double("sleep", default: 1)
        var broken = false
        while true {
            if broken { broken = (try? ctx.transport.reconnect(timeout: connectTimeout)) == nil }
            if !broken {
                if let r = try? ctx.sh("true"), r.exitStatus == 0 {
                    return ModuleResult(data: ["elapsed": Int(Date().timeIntervalSince(start))])
                }
                broken = true
            }
            if Date().timeIntervalSince(start) + pause > timeout {
                return .fail("timed out waiting for connection after \(Int(timeout)) seconds", data: ["elapsed": Int(Date().timeIntervalSince(start))])
            }
            Thread.sleep(forTimeInterval: pause)
        }
    }
}
