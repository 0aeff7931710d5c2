import Foundation

/// `reboot`, with ansible.builtin.reboot's options and defaults: reads the boot identity
/// (`boot_time_command`, default the kernel's boot_id), runs `reboot_command` (default
/// `shutdown -r <pre_reboot_delay in whole minutes> "<msg>"`; its first word is looked up in
/// `search_paths`, and a `reboot_command` of your own takes no delay, as in Ansible), waits
/// `post_reboot_delay`, then dials the host again until the boot identity has changed and
/// `test_command` (default `whoami`) succeeds, all within `reboot_timeout` (600 s). Each dial
/// gets `connect_timeout` seconds (default: the host's `ansible_timeout`). Returns `rebooted`
/// and `elapsed` as Ansible does. Refused on `connection: local` (it would reboot the
/// controller); under --check it reports changed and does nothing.
public struct RebootModule: ProvisionModule {
    public static let name = "reboot"
    public static let options = [
        OptionSpec("reboot_timeout", .int), OptionSpec("connect_timeout", .int), OptionSpec("msg"),
        OptionSpec("pre_reboot_delay", .int), OptionSpec("post_reboot_delay", .int),
        OptionSpec("test_command"), OptionSpec("boot_time_command"), OptionSpec("reboot_command"),
        OptionSpec("search_paths", .list),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        guard !(ctx.transport is LocalTransport) else {
            return .fail("Running reboot with local connection would reboot the control node.", data: ["rebooted": false])
        }
        let start = Date()
        let rebootTimeout = Double(try args.int("reboot_timeout", default: 600))
        let connectTimeout = args.has("connect_timeout") ? Double(try args.int("connect_timeout", default: 10)) : nil
        let preDelay = max(0, try args.int("pre_reboot_delay", default: 0))
        let postDelay = Double(max(0, try args.int("post_reboot_delay", default: 0)))
        let message = args.string("msg", default: "Reboot initiated by Ansible")
        let testCommand = args.string("test_command", default: "whoami")
        let bootTimeCommand = args.string("boot_time_command", default: "cat /proc/sys/kernel/random/boot_id")
        let searchPaths = args.has("search_paths") ? args.list("search_paths").map { Values.string($0) }
            : ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"]
        func elapsed() -> Int { Int(Date().timeIntervalSince(start)) }

        let before = try ctx.sh(bootTimeCommand)
        let bootID = before.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard before.exitStatus == 0, !bootID.isEmpty else {
            return .fail("failed to get the boot time with '\(bootTimeCommand)' (exit \(before.exitStatus)): "
                         + before.stderr.trimmingCharacters(in: .whitespacesAndNewlines), data: ["rebooted": false])
        }
        if ctx.check { return ModuleResult(changed: true, data: ["rebooted": true, "elapsed": 0]) }

        // The command: its first word looked up in search_paths unless it is a path already.
        var words = args.has("reboot_command") ? try ShellWords.split(try args.string("reboot_command"))
            : ["shutdown", "-r", String(preDelay / 60), message]
        guard !words.isEmpty else { return .fail("reboot_command is empty", data: ["rebooted": false]) }
        if !words[0].contains("/") {
            let probe = searchPaths.map { "[ -x \(Values.shellQuote($0 + "/" + words[0])) ] && { printf %s \(Values.shellQuote($0 + "/" + words[0])); exit 0; }; " }.joined() + "exit 1"
            let found = try ctx.sh(probe)
            guard found.exitStatus == 0, !found.stdout.isEmpty else {
                return .fail("Unable to find command \"\(words[0])\" in search paths: \(searchPaths)", data: ["rebooted": false])
            }
            words[0] = found.stdout
        }
        // The connection may drop before the command answers: that is the reboot starting.
        if let r = try? ctx.sh(words.map(Values.shellQuote).joined(separator: " ")), r.exitStatus != 0 {
            return .fail("Reboot command failed. Error was: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                         data: ["rebooted": false, "rc": Int(r.exitStatus), "stdout": r.stdout, "stderr": r.stderr])
        }
        if postDelay > 0 { Thread.sleep(forTimeInterval: postDelay) }

        // Dial again until the host answers with another boot identity, then until test_command passes.
        let deadline = start.addingTimeInterval(rebootTimeout)
        var booted = false
        var lastError = ""
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 1)
            do {
                try ctx.transport.reconnect(timeout: min(connectTimeout ?? .infinity, max(0.1, deadline.timeIntervalSinceNow)))
                if !booted {
                    let now = try ctx.sh(bootTimeCommand)
                    let id = now.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard now.exitStatus == 0, !id.isEmpty, id != bootID else {
                        lastError = now.exitStatus == 0 ? "boot time unchanged" : now.stderr
                        continue
                    }
                    booted = true
                }
                let test = try ctx.sh(testCommand)
                if test.exitStatus == 0 { return ModuleResult(changed: true, data: ["rebooted": true, "elapsed": elapsed()]) }
                lastError = "test command exited \(test.exitStatus): " + test.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                lastError = "\(error)"
            }
        }
        let what = booted ? "post-reboot test command" : "last boot time check"
        return .fail("Timed out waiting for \(what) (timeout=\(Int(rebootTimeout))): \(lastError)",
                     data: ["rebooted": true, "elapsed": elapsed()])
    }
}
