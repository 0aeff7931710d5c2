// One long-lived shell per session (the default for SSH hosts): commands go to a small sh loop
// on one channel instead of a new exec channel each, which saves the channel open / exec / close
// round trips and sshd's per-session setup. The loop reads a command up to a line holding a
// random boundary, runs it with stdin from /dev/null, and writes the boundary and exit status
// after its stdout and the boundary after its stderr. When the login shell ($SHELL) is a POSIX
// shell (bash, dash, sh, ksh, mksh), the loop itself runs in that shell and each command is
// `eval`ed in a subshell: a fork, no new shell started, the same language as `$SHELL -c`, and
// nothing (cd, variables, traps) leaks to the next command. Under any other login shell each
// command runs with `$SHELL -c`, as an exec channel would run it.
// Commands that need stdin, and any command after the shell died, use exec channels.
import CLibSSH2
import Foundation

final class SSHShell {
    let channel: SSHChannel
    let boundary = "__provision_\(UInt64.random(in: 0...UInt64.max))_\(UInt64.random(in: 0...UInt64.max))__"

    /// $1 = boundary, $2 = `e` (eval in a subshell of this shell) or `s` (`$SHELL -c`); the
    /// loop's own variables are prefixed so that a command cannot meet them by accident.
    static let loop = #"""
    __pv_b=$1 __pv_m=$2; shift 2; __pv_nl='
    '; while :; do __pv_c= __pv_d=; while IFS= read -r __pv_l; do if [ "$__pv_l" = "$__pv_b" ]; then __pv_d=1; break; fi; \
    __pv_c=$__pv_c$__pv_l$__pv_nl; done; [ -n "$__pv_d" ] || exit 0; \
    if [ "$__pv_m" = e ]; then (eval "$__pv_c") </dev/null; else "${SHELL:-/bin/sh}" -c "$__pv_c" </dev/null; fi; \
    __pv_r=$?; printf '\n%s %s\n' "$__pv_b" "$__pv_r"; printf '\n%s\n' "$__pv_b" >&2; done
    """#

    /// Run by /bin/sh whatever the login shell is: starts the loop in the login shell when that
    /// is a POSIX shell, else in /bin/sh with `$SHELL -c` per command.
    static let launcher = #"""
    case ${SHELL##*/} in bash|dash|sh|ksh|mksh) exec "$SHELL" -c "$2" provision-shell "$1" e;; esac; \
    exec /bin/sh -c "$2" provision-shell "$1" s
    """#

    init(session: SSHSession) throws {
        guard let handle = session.session else { throw session.lastError("shell") }
        let deadline = Date().addingTimeInterval(session.operationTimeout)
        let channelHandle = try session.checkHandle("open shell channel", deadline: deadline) {
            libssh2_channel_open_ex(handle, "session", 7, 2 * 1024 * 1024, 32768, nil, 0)
        }
        channel = SSHChannel(session: session, handle: channelHandle)
        let command = "exec /bin/sh -c \(shellQuote(Self.launcher)) provision-shell \(boundary) \(shellQuote(Self.loop))"
        try session.check("shell exec request", deadline: deadline) {
            libssh2_channel_process_startup(channelHandle, "exec", 4, command, UInt32(command.utf8.count))
        }
    }

    /// Runs one command; throws when the shell ended (the caller then stops using it).
    func run(_ command: String) throws -> ExecResult {
        let session = channel.session, handle = channel.handle
        var text = command
        if !text.hasSuffix("\n") { text += "\n" }
        let frame = Data((text + boundary + "\n").utf8)
        var offset = 0
        while offset < frame.count {
            let written = try session.check("shell write", deadline: Date().addingTimeInterval(session.operationTimeout)) {
                frame.withUnsafeBytes { raw in
                    libssh2_channel_write_ex(handle, 0, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                                             frame.count - offset)
                }
            }
            offset += written
        }
        let outMark = Data("\n\(boundary) ".utf8), errMark = Data("\n\(boundary)\n".utf8)
        var stdout = Data(), stderr = Data()
        var status: Int32?
        var stderrDone = false
        let bufferSize = 256 * 1024
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
        defer { buffer.deallocate() }
        let again = Int(LIBSSH2_ERROR_EAGAIN)
        while status == nil || !stderrDone {
            var progressed = false
            for stream in [Int32(0), Int32(SSH_EXTENDED_DATA_STDERR)] {
                if stream == 0 ? status != nil : stderrDone { continue }
                let count = libssh2_channel_read_ex(handle, stream, buffer, bufferSize)
                if count > 0 {
                    buffer.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                        if stream == 0 { stdout.append(bytes, count: count) } else { stderr.append(bytes, count: count) }
                    }
                    progressed = true
                    if stream == 0, let r = stdout.range(of: outMark), let end = stdout[r.upperBound...].firstIndex(of: 10) {
                        status = Int32(String(decoding: stdout[r.upperBound..<end], as: UTF8.self)) ?? 255
                        stdout = stdout.prefix(upTo: r.lowerBound)
                    }
                    if stream != 0, stderr.count >= errMark.count, stderr.suffix(errMark.count) == errMark {
                        stderr = stderr.prefix(stderr.count - errMark.count)
                        stderrDone = true
                    }
                } else if count == 0 {
                    if libssh2_channel_eof(handle) == 1 {
                        throw SSHError.session(host: session.host, operation: "shell", code: -1, message: "the long-lived shell ended")
                    }
                } else if count != again {
                    throw session.lastError(stream == 0 ? "read stdout" : "read stderr")
                }
            }
            if !progressed && (status == nil || !stderrDone) {
                try session.waitForSocket("command output", deadline: nil, timeout: 0)
            }
        }
        return ExecResult(exitStatus: status ?? 255, stdout: stdout, stderr: stderr, exitSignal: nil)
    }
}

extension SSHSession {
    /// Runs `command` in the session's long-lived shell (started on first use); with `input`,
    /// or once that shell has ended, on an exec channel of its own.
    public func runInShell(_ command: String, input: Data? = nil) throws -> ExecResult {
        guard input == nil || input!.isEmpty, !shellEnded else { return try exec(command, input: input) }
        SSHStatistics.recordOperation(host: host, port: port)
        do {
            if shell == nil { shell = try SSHShell(session: self) }
            return try shell!.run(command)
        } catch let error as SSHError {
            shell = nil
            shellEnded = true
            throw error
        }
    }
}
