import Foundation

/// `async: N` with `poll: 0` on `command` / `shell` (fire and forget): the command starts
/// detached on the host under `timeout N`, its output and exit status land in
/// `~/.ansible_async/<jid>.{out,err,rc}` (Ansible's async_dir), and the task returns at once with
/// `ansible_job_id`, `started: 1`, `finished: 0`, `results_file`, as Ansible's does.
enum AsyncJob {
    /// Ansible's job ids: twelve random digits, a dot, the controller's process id.
    static func newJobID() -> String {
        String((0..<12).map { _ in "0123456789".randomElement()! }) + ".\(getpid())"
    }

    static func start(_ args: ModuleArgs, _ ctx: ModuleContext, seconds: Int) throws -> ModuleResult {
        if args.has("stdin") { return .fail("async with poll: 0 takes no 'stdin' here") }
        let cmd: String
        if args.has("argv") { cmd = args.list("argv").map { q(Values.string($0)) }.joined(separator: " ") }
        else { cmd = try args.string("cmd") }
        if ctx.check {
            var r = ModuleResult(); r.skipped = true; r.msg = "check mode and async cannot be used on same task."; return r
        }
        let jid = newJobID()
        let chdir = args.optionalString("chdir").map { "cd \(q($0)) && " } ?? ""
        let job = CommandModule.guards(args) + chdir + cmd
        // The rc file appears last (renamed into place), so a reader never sees a job half-done.
        let runner = "timeout \(seconds) sh -c \(q(job)) > \"$f.out\" 2> \"$f.err\" < /dev/null; echo $? > \"$f.rc.tmp\"; mv \"$f.rc.tmp\" \"$f.rc\""
        // Only the detached command goes to the background, with none of the channel's
        // descriptors: a backgrounded `a && b &` list would hold the channel open until it ends.
        let script = """
            d="$HOME/.ansible_async"; f="$d/\(jid)"; mkdir -p "$d" && : > "$f.out" || exit 1; \
            f="$f" setsid sh -c \(q(runner)) > /dev/null 2>&1 < /dev/null & echo "$f"
            """
        let r = try ctx.sh(script)
        guard r.exitStatus == 0 else {
            return .fail("cannot start the async job: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return ModuleResult(changed: true, data: [
            "ansible_job_id": jid, "started": 1, "finished": 0,
            "results_file": r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "cmd": cmd,
        ])
    }
}

/// `async_status`: how a fire-and-forget job stands (`finished` 0 or 1; once finished `rc`,
/// `stdout`, `stderr` and their `_lines`, failed on a non-zero rc), or `mode: cleanup` to remove
/// its files. Used as Ansible documents it: `until: job.finished`, with retries and delay.
public struct AsyncStatusModule: ProvisionModule {
    public static let name = "async_status"
    public static let options = [OptionSpec("jid", required: true), OptionSpec("mode", choices: ["status", "cleanup"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let jid = try args.string("jid")
        guard jid.range(of: "^[0-9A-Za-z._-]+$", options: .regularExpression) != nil else {
            return .fail("could not find job", data: ["ansible_job_id": jid, "started": 1, "finished": 1])
        }
        let f = "\"$HOME/.ansible_async/\(jid)\""
        if args.optionalString("mode") == "cleanup" {
            let r = try ctx.sh("rm -f \(f).out \(f).err \(f).rc; echo \(f)")
            return ModuleResult(data: ["ansible_job_id": jid, "erased": r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        }
        // One round trip: the state, then (when finished) rc and both streams in base64.
        let r = try ctx.sh("""
            if [ -e \(f).rc ]; then echo finished; cat \(f).rc; base64 -w0 \(f).out; echo; base64 -w0 \(f).err; echo; \
            elif [ -e \(f).out ]; then echo running; else echo missing; fi
            """)
        let lines = r.stdout.components(separatedBy: "\n")
        switch lines.first ?? "" {
        case "running":
            return ModuleResult(data: ["ansible_job_id": jid, "started": 1, "finished": 0])
        case "finished" where lines.count >= 4:
            func decode(_ s: String) -> String {
                let text = String(decoding: Data(base64Encoded: s) ?? Data(), as: UTF8.self)
                return text.hasSuffix("\n") ? String(text.dropLast()) : text
            }
            let rc = Int(lines[1].trimmingCharacters(in: .whitespaces)) ?? -1
            let out = decode(lines[2]), err = decode(lines[3])
            var data: [String: Any] = [
                "ansible_job_id": jid, "started": 1, "finished": 1, "rc": rc, "stdout": out, "stderr": err,
                "stdout_lines": out.isEmpty ? [] : out.components(separatedBy: "\n"),
                "stderr_lines": err.isEmpty ? [] : err.components(separatedBy: "\n"),
            ]
            if out.hasPrefix("__PROVISION_SKIP__") {
                data["stdout"] = ""; data["stdout_lines"] = [Any]()
                return ModuleResult(msg: "skipped, since " + out.dropFirst(19).trimmingCharacters(in: .whitespacesAndNewlines), data: data)
            }
            var result = ModuleResult(changed: true, data: data)
            if rc != 0 {
                result.failed = true
                result.msg = rc == 124 ? "the job ran out of its async time and was stopped (rc 124)"
                    : "non-zero return code \(rc)" + (err.isEmpty ? "" : ": " + err.suffix(500))
            }
            return result
        default:
            return .fail("could not find job", data: ["ansible_job_id": jid, "started": 1, "finished": 1])
        }
    }
}
