import Foundation

/// `wait_for`: polls on the target, in one remote shell loop, until a TCP port accepts
/// connections (or stops: `state: stopped`) or a path exists (or is gone: `state: absent`).
/// Ports on the target itself are checked in /proc/net/tcp{,6} (no bash or nc needed); other
/// hosts through bash's /dev/tcp. Never a change.
public struct WaitForModule: ProvisionModule {
    public static let name = "wait_for"
    public static let pathOptions: Set<String> = ["path"]
    public static let options = [
        OptionSpec("host"), OptionSpec("port", .int), OptionSpec("path"),
        OptionSpec("state", choices: ["started", "stopped", "present", "absent", "drained"]),
        OptionSpec("timeout", .int), OptionSpec("delay", .number), OptionSpec("sleep", .number), OptionSpec("msg"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let timeout = try args.int("timeout", default: 300)
        let state = try args.choice("state", ["started", "stopped", "present", "absent", "drained"], default: "started")
        let sleep = try args.double("sleep", default: 1), delay = try args.double("delay", default: 0)
        let check: String, what: String
        if let port = args.optionalString("port") {
            guard let p = Int(port), p > 0, p < 65536 else { return .fail("wait_for: bad port '\(port)'") }
            let host = args.string("host", default: "127.0.0.1")
            what = "\(host):\(p)"
            if ["127.0.0.1", "localhost", "0.0.0.0", "::1", "::"].contains(host) {
                let hex = String(format: "%04X", p)
                // State 0A = LISTEN in /proc/net/tcp; the local address column ends with :PORT.
                check = "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r _ l _ s _; do case \"$l $s\" in *:\(hex)\\ 0A) echo up; break;; esac; done | grep -q up"
            } else {
                check = "bash -c \(q("exec 3<>/dev/tcp/\(host)/\(p)")) 2>/dev/null"
            }
        } else if let path = args.optionalString("path") {
            what = path
            check = "[ -e \(q(path)) ]"
        } else {
            return .fail("wait_for needs 'port' or 'path'")
        }
        let positive = state == "started" || state == "present"
        let test = positive ? check : "! { \(check); }"
        let script = "sleep \(delay); end=$(( $(date +%s) + \(timeout) )); while :; do if \(test); then exit 0; fi; "
            + "[ \"$(date +%s)\" -ge \"$end\" ] && exit 1; sleep \(sleep); done"
        let start = Date()
        let r = try ctx.sh(script)
        let elapsed = Date().timeIntervalSince(start)
        if r.exitStatus != 0 {
            let msg = args.optionalString("msg") ?? "timeout after \(timeout)s waiting for \(what) to be \(state)"
            return .fail(msg, data: ["elapsed": Int(elapsed)])
        }
        return ModuleResult(data: ["elapsed": Int(elapsed), "state": state])
    }
}
