// Files over one SFTP subsystem per session, opened on first use and kept for the session.
import CLibSSH2
import Foundation

/// Owns one LIBSSH2_SFTP_HANDLE (an open remote file); closed in deinit if still open.
final class SFTPFile {
    let session: SSHSession
    private(set) var handle: OpaquePointer?
    let path: String

    init(session: SSHSession, handle: OpaquePointer, path: String) {
        self.session = session
        self.handle = handle
        self.path = path
    }

    /// Closes the remote handle, reporting the server's answer (a write error can surface here).
    func close() throws {
        guard let handle else { return }
        self.handle = nil
        try session.check("close \(path)", deadline: Date().addingTimeInterval(session.operationTimeout)) {
            libssh2_sftp_close_handle(handle)
        }
    }

    deinit { try? close() }
}

extension SSHSession {
    private func sftpSession() throws -> OpaquePointer {
        if let sftp { return sftp }
        guard let session else { throw lastError("sftp start") }
        let started: OpaquePointer
        do {
            started = try checkHandle("sftp start", deadline: Date().addingTimeInterval(operationTimeout)) {
                libssh2_sftp_init(session)
            }
        } catch let SSHError.session(_, _, code, _) where code == LIBSSH2_ERROR_CHANNEL_FAILURE {
            // "Unable to request SFTP subsystem": sshd has no `Subsystem sftp`.
            sftpRefused = true
            throw SSHError.session(host: host, operation: "sftp start", code: code, message: "the server refused the SFTP subsystem")
        }
        sftp = started
        return started
    }

    /// True when files must go over exec channels: the first use tries SFTP and learns.
    private func filesOverExec() throws -> Bool {
        if sftp == nil && !sftpRefused {
            do { _ = try sftpSession() } catch { if !sftpRefused { throw error } }
        }
        return sftpRefused
    }

    /// Runs an SFTP call through `check`, naming `path` in the error.
    private func sftpCheck<R: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> R) throws -> R {
        do {
            return try check(operation, deadline: Date().addingTimeInterval(operationTimeout), call)
        } catch let SSHError.sftp(host, op, _, status, message) {
            throw SSHError.sftp(host: host, operation: op, path: path, status: status, message: message)
        }
    }

    private func open(_ path: String, flags: Int32, mode: Int) throws -> SFTPFile? {
        let sftp = try sftpSession()
        do {
            let handle = try checkHandle("open", deadline: Date().addingTimeInterval(operationTimeout)) {
                libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), UInt(flags), mode, LIBSSH2_SFTP_OPENFILE)
            }
            return SFTPFile(session: self, handle: handle, path: path)
        } catch let SSHError.sftp(host, op, _, status, message) {
            if status == LIBSSH2_FX_NO_SUCH_FILE && flags == LIBSSH2_FXF_READ { return nil }
            throw SSHError.sftp(host: host, operation: op, path: path, status: status, message: message)
        }
    }

    /// The whole content of the remote file at `path`, or nil when it does not exist.
    public func readFile(_ path: String) throws -> Data? {
        if try filesOverExec() { return try readFileOverExec(path) }
        SSHStatistics.recordOperation(host: host, port: port)
        guard let file = try open(path, flags: LIBSSH2_FXF_READ, mode: 0) else { return nil }
        var content = Data()
        let bufferSize = 256 * 1024
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
        defer { buffer.deallocate() }
        while true {
            let count = try sftpCheck("read", path) { libssh2_sftp_read(file.handle, buffer, bufferSize) }
            if count == 0 { break }
            buffer.withMemoryRebound(to: UInt8.self, capacity: count) { content.append($0, count: count) }
        }
        try file.close()
        return content
    }

    /// Writes `data` to `path` so that no reader ever sees a partial file: the bytes go to a
    /// temporary name in the same directory (created 0600, fsync'd, then given `mode`) which is
    /// renamed over `path`. The temporary file is removed if anything fails.
    public func writeFile(_ data: Data, to path: String, mode: UInt32) throws {
        if try filesOverExec() { return try writeFileOverExec(data, to: path, mode: mode) }
        SSHStatistics.recordOperation(host: host, port: port)
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory)/.\(name).provision-\(UInt32.random(in: 0...UInt32.max))"
        let flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL | LIBSSH2_FXF_TRUNC
        guard let file = try open(temporary, flags: flags, mode: 0o600) else { return }
        do {
            var offset = 0
            while offset < data.count {
                let written = try data.withUnsafeBytes { raw in
                    try sftpCheck("write", temporary) {
                        libssh2_sftp_write(file.handle, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                                           data.count - offset)
                    }
                }
                offset += written
            }
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
            attributes.permissions = UInt(mode & 0o7777)
            // Explicit setstat: the open mode is masked by the server's umask.
            try sftpCheck("chmod", temporary) { libssh2_sftp_fstat_ex(file.handle, &attributes, 1) }
            _ = try? sftpCheck("fsync", temporary) { libssh2_sftp_fsync(file.handle) }
            try file.close()
            try rename(temporary, over: path)
        } catch {
            try? file.close()
            _ = try? sftpCheck("unlink", temporary) {
                libssh2_sftp_unlink_ex(sftp, temporary, UInt32(temporary.utf8.count))
            }
            throw error
        }
    }

    /// Atomic replace. OpenSSH speaks SFTP v3, whose RENAME refuses an existing target (the
    /// OVERWRITE|ATOMIC|NATIVE flags only travel in v5+), and libssh2 1.10 has no call for
    /// posix-rename@openssh.com: so a fresh target is renamed over SFTP and an existing one by
    /// rename(2) through `mv -f` on a channel.
    private func rename(_ source: String, over target: String) throws {
        let sftp = try sftpSession()
        let flags = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE
        do {
            try sftpCheck("rename", target) {
                libssh2_sftp_rename_ex(sftp, source, UInt32(source.utf8.count), target, UInt32(target.utf8.count), Int(flags))
            }
            return
        } catch let SSHError.sftp(_, _, _, status, _) where status == LIBSSH2_FX_FAILURE || status == LIBSSH2_FX_FILE_ALREADY_EXISTS {
            let moved = try exec("mv -f -- \(shellQuote(source)) \(shellQuote(target))")
            guard moved.exitStatus == 0 else {
                throw SSHError.sftp(host: host, operation: "rename", path: target, status: LIBSSH2_FX_FAILURE,
                                    message: String(decoding: moved.stderr, as: UTF8.self)
                                        .trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
    }
}

/// `'text'` for a POSIX shell, with embedded single quotes escaped.
func shellQuote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
