// Commands: one channel per command on the session, stdin written then EOF, stdout and stderr
// drained together so neither pipe can stall the other.
import CLibSSH2
import Foundation

/// What a remote command gave back.
public struct ExecResult: Sendable, Equatable {
    public var exitStatus: Int32
    public var stdout: Data
    public var stderr: Data
    /// Set when the command was killed by a signal (e.g. "KILL"); `exitStatus` is then 255, as ssh(1) reports it.
    public var exitSignal: String?
}

/// Owns one LIBSSH2_CHANNEL; freed in deinit (before its session, which the channel keeps alive).
final class SSHChannel {
    let session: SSHSession
    let handle: OpaquePointer

    init(session: SSHSession, handle: OpaquePointer) {
        self.session = session
        self.handle = handle
    }

    deinit {
        // A channel freed mid-command still owes the server a close; give it a bounded try.
        let deadline = Date().addingTimeInterval(2)
        _ = try? session.check("free channel", deadline: deadline) { libssh2_channel_free(handle) }
    }
}

extension SSHSession {
    /// Runs `command` through the user's shell on a fresh channel of this session.
    public func exec(_ command: String, input: Data? = nil) throws -> ExecResult {
        guard let session else { throw lastError("exec") }
        SSHStatistics.recordOperation(host: host, port: port)
        let deadline = Date().addingTimeInterval(operationTimeout)
        let handle = try checkHandle("open channel", deadline: deadline) {
            libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0)
        }
        let channel = SSHChannel(session: self, handle: handle)
        try check("exec request", deadline: deadline) {
            libssh2_channel_process_startup(handle, "exec", 4, command, UInt32(command.utf8.count))
        }
        var result = try pump(channel: channel, input: input ?? Data())
        try check("close channel", deadline: Date().addingTimeInterval(operationTimeout)) {
            libssh2_channel_close(handle)
        }
        try check("wait for channel close", deadline: Date().addingTimeInterval(operationTimeout)) {
            libssh2_channel_wait_closed(handle)
        }
        result.exitStatus = libssh2_channel_get_exit_status(handle)
        var signal: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        if libssh2_channel_get_exit_signal(handle, &signal, &signalLength, nil, nil, nil, nil) == 0,
           let signal {
            result.exitSignal = String(cString: signal)
            free(signal)
            result.exitStatus = 255
        }
        return result
    }

    /// Writes stdin (then EOF) while reading stdout and stderr until the server's EOF on both.
    private func pump(channel: SSHChannel, input: Data) throws -> ExecResult {
        let handle = channel.handle
        var stdout = Data()
        var stderr = Data()
        var inputOffset = 0
        var eofSent = false
        var stdoutDone = false
        var stderrDone = false
        let bufferSize = 256 * 1024
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
        defer { buffer.deallocate() }
        let stdinGone: Set<Int> = [Int(LIBSSH2_ERROR_CHANNEL_CLOSED), Int(LIBSSH2_ERROR_CHANNEL_EOF_SENT)]
        let again = Int(LIBSSH2_ERROR_EAGAIN)

        while !(stdoutDone && stderrDone) {
            var progressed = false
            if !eofSent {
                if inputOffset < input.count {
                    let written = input.withUnsafeBytes { raw -> Int in
                        let start = raw.baseAddress!.advanced(by: inputOffset).assumingMemoryBound(to: CChar.self)
                        return libssh2_channel_write_ex(handle, 0, start, input.count - inputOffset)
                    }
                    if written > 0 {
                        inputOffset += written
                        progressed = true
                    } else if stdinGone.contains(written) {
                        inputOffset = input.count  // the command closed its end; the rest is not wanted
                    } else if written < 0 && written != again {
                        throw lastError("write stdin")
                    }
                }
                if inputOffset >= input.count {
                    let rc = Int(libssh2_channel_send_eof(handle))
                    if rc == 0 || stdinGone.contains(rc) {
                        eofSent = true
                        progressed = true
                    } else if rc != again {
                        throw lastError("send EOF")
                    }
                }
            }
            for stream in [Int32(0), Int32(SSH_EXTENDED_DATA_STDERR)] {
                if stream == 0 ? stdoutDone : stderrDone { continue }
                let count = libssh2_channel_read_ex(handle, stream, buffer, bufferSize)
                if count > 0 {
                    buffer.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                        if stream == 0 { stdout.append(bytes, count: count) } else { stderr.append(bytes, count: count) }
                    }
                    progressed = true
                } else if count == 0 {
                    if libssh2_channel_eof(handle) == 1 {
                        if stream == 0 { stdoutDone = true } else { stderrDone = true }
                    }
                } else if count != again {
                    throw lastError(stream == 0 ? "read stdout" : "read stderr")
                }
            }
            if !progressed && !(stdoutDone && stderrDone) {
                try waitForSocket("command output", deadline: nil, timeout: 0)
            }
        }
        if !eofSent { _ = libssh2_channel_send_eof(handle) }
        return ExecResult(exitStatus: 0, stdout: stdout, stderr: stderr, exitSignal: nil)
    }
}
