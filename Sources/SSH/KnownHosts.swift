// Host key checking against an OpenSSH known_hosts file with libssh2's knownhost API.
import CLibSSH2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The public key a server presented in the handshake.
public struct HostKey: Sendable, Equatable {
    /// OpenSSH key type name, e.g. `ssh-ed25519`.
    public let type: String
    /// The raw public key blob (what known_hosts stores base64-encoded).
    public let blob: [UInt8]
    /// `SHA256:...` as `ssh-keygen -l` and `ssh` print it.
    public let fingerprint: String
    let knownHostTypeMask: Int32
}

extension SSHSession {
    func readHostKey() throws -> HostKey {
        var length = 0
        var type: Int32 = 0
        guard let session, let raw = libssh2_session_hostkey(session, &length, &type),
              let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) else {
            throw lastError("read host key")
        }
        let blob = [UInt8](UnsafeRawBufferPointer(start: raw, count: length))
        let digest = [UInt8](UnsafeRawBufferPointer(start: hash, count: 32))
        let (name, mask) = Self.keyType(type)
        return HostKey(type: name, blob: blob, fingerprint: Fingerprint.format(digest), knownHostTypeMask: mask)
    }

    /// OpenSSH name and knownhost type bits for a LIBSSH2_HOSTKEY_TYPE_*.
    private static func keyType(_ type: Int32) -> (String, Int32) {
        switch type {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return ("ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA)
        case LIBSSH2_HOSTKEY_TYPE_DSS: return ("ssh-dss", LIBSSH2_KNOWNHOST_KEY_SSHDSS)
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return ("ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256)
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return ("ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384)
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return ("ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521)
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return ("ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519)
        default: return ("unknown", LIBSSH2_KNOWNHOST_KEY_UNKNOWN)
        }
    }

    /// How known_hosts names this endpoint: `host` on port 22, `[host]:port` otherwise.
    var knownHostsName: String { port == 22 ? host : "[\(host)]:\(port)" }

    /// Checks the presented key against `knownHostsFile` (plain and hashed entries, `[host]:port`).
    /// A changed key is always refused with both fingerprints; an unknown key is refused unless
    /// `acceptNew`, which appends it to the file (created 0600 if missing).
    public func verifyHostKey(knownHostsFile: String, acceptNew: Bool) throws {
        guard let session, let known = libssh2_knownhost_init(session) else { throw lastError("known_hosts init") }
        defer { libssh2_knownhost_free(known) }
        // Line by line: libssh2_knownhost_readfile stops at the first line it cannot parse
        // (e.g. @cert-authority or a key type it lacks); the rest of the file must still count.
        if let text = try? String(contentsOfFile: knownHostsFile, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let entry = line.trimmingCharacters(in: .whitespaces)
                if entry.isEmpty || entry.hasPrefix("#") { continue }
                _ = libssh2_knownhost_readline(known, entry, entry.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            }
        }
        var match: UnsafeMutablePointer<libssh2_knownhost>?
        let typeMask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | hostKey.knownHostTypeMask
        let result = hostKey.blob.withUnsafeBufferPointer { blob in
            blob.baseAddress!.withMemoryRebound(to: CChar.self, capacity: blob.count) {
                libssh2_knownhost_checkp(known, host, Int32(port), $0, blob.count, typeMask, &match)
            }
        }
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            var expected = "a different key"
            if let recorded = match?.pointee.key.map({ String(cString: $0) }),
               let blob = Data(base64Encoded: recorded) {
                expected = Fingerprint.sha256(ofKeyBlob: [UInt8](blob))
            }
            throw SSHError.hostKeyMismatch(host: knownHostsName, expected: expected,
                                           actual: hostKey.fingerprint, knownHostsFile: knownHostsFile)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            guard acceptNew else {
                throw SSHError.hostKeyUnknown(host: knownHostsName, fingerprint: hostKey.fingerprint,
                                              knownHostsFile: knownHostsFile)
            }
            try recordHostKey(in: knownHostsFile)
        default:
            throw lastError("known_hosts check")
        }
    }

    /// Appends `[host]:port type base64` with one O_APPEND write (parallel hosts may share the file).
    private func recordHostKey(in file: String) throws {
        let directory = (file as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let existing = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
        let separator = existing.isEmpty || existing.last == UInt8(ascii: "\n") ? "" : "\n"
        let line = "\(separator)\(knownHostsName) \(hostKey.type) \(Data(hostKey.blob).base64EncodedString())\n"
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else {
            throw SSHError.session(host: knownHostsName, operation: "record host key in \(file)", code: -1,
                                   message: String(cString: strerror(errno)))
        }
        defer { Glibc.close(fd) }
        let written = line.withCString { write(fd, $0, strlen($0)) }
        guard written == line.utf8.count else {
            throw SSHError.session(host: knownHostsName, operation: "record host key in \(file)", code: -1,
                                   message: String(cString: strerror(errno)))
        }
    }
}
