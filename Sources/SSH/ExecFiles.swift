// Files over exec channels, for servers that refuse the SFTP subsystem (Ansible falls back to
// scp or to piping through the command channel the same way). Same guarantees as the SFTP
// path: a temporary name in the target directory (0600, then the mode, fsync'd), the byte count
// checked before it is renamed over the target, removed if anything fails.
import CLibSSH2
import Foundation

extension SSHSession {
    /// The file's bytes through `cat`; nil when it does not exist.
    func readFileOverExec(_ path: String) throws -> Data? {
        let p = shellQuote(path)
        let r = try exec("if [ ! -e \(p) ]; then exit 3; fi; exec cat -- \(p)")
        if r.exitStatus == 3 { return nil }
        guard r.exitStatus == 0 else {
            throw SSHError.sftp(host: host, operation: "read (exec)", path: path, status: LIBSSH2_FX_FAILURE,
                                message: String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return r.stdout
    }

    /// `data` on stdin into a temporary file beside `path`, size-checked, then `mv -f` over it.
    func writeFileOverExec(_ data: Data, to path: String, mode: UInt32) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = shellQuote("\(directory.isEmpty ? "" : directory)/.\(name).provision-\(UInt32.random(in: 0...UInt32.max))")
        let script = "set -e; umask 077; t=\(temporary); trap 'rm -f -- \"$t\"' EXIT; (set -C; cat > \"$t\"); "
            + "[ \"$(wc -c < \"$t\")\" -eq \(data.count) ] || { echo \"short write: $(wc -c < \"$t\") of \(data.count) bytes\" >&2; exit 1; }; "
            + "chmod \(String(mode & 0o7777, radix: 8)) \"$t\"; sync -- \"$t\" 2>/dev/null || true; mv -f -- \"$t\" \(shellQuote(path)); trap - EXIT"
        let r = try exec(script, input: data)
        guard r.exitStatus == 0 else {
            throw SSHError.sftp(host: host, operation: "write (exec)", path: path, status: LIBSSH2_FX_FAILURE,
                                message: String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
