// Errors of the SSH module: values naming the host and the operation, with libssh2's own text.
import Foundation

/// Why an SSH operation failed. `connect`, `timeout`, `hostKey*` and `authentication` mean the
/// host could not be reached for this run; `session` and `sftp` mean an established session broke.
public enum SSHError: Error, CustomStringConvertible, Equatable {
    /// Name resolution or TCP connect failed (refused, unroutable, timed out).
    case connect(host: String, port: Int, reason: String)
    /// A protocol step (handshake, authentication, channel open, SFTP) ran past its deadline.
    case timeout(host: String, operation: String, seconds: Double)
    /// The host's key is not in known_hosts and the policy does not accept new keys.
    case hostKeyUnknown(host: String, fingerprint: String, knownHostsFile: String)
    /// The host's key differs from the one known_hosts has for it (always refused).
    case hostKeyMismatch(host: String, expected: String, actual: String, knownHostsFile: String)
    /// No key (file or agent) was accepted for the user.
    case authentication(host: String, user: String, reason: String)
    /// libssh2 reported an error on the session or a channel.
    case session(host: String, operation: String, code: Int32, message: String)
    /// The SFTP server answered a request with an error status.
    case sftp(host: String, operation: String, path: String, status: UInt, message: String)

    public var description: String {
        switch self {
        case let .connect(host, port, reason):
            return "\(host):\(port): cannot connect: \(reason)"
        case let .timeout(host, operation, seconds):
            return "\(host): \(operation) timed out after \(seconds) s"
        case let .hostKeyUnknown(host, fingerprint, file):
            return "\(host): host key \(fingerprint) is not in \(file)"
        case let .hostKeyMismatch(host, expected, actual, file):
            return "\(host): host key mismatch: \(file) has \(expected), the host presented \(actual)"
        case let .authentication(host, user, reason):
            return "\(host): authentication as \(user) failed: \(reason)"
        case let .session(host, operation, code, message):
            return "\(host): \(operation): \(message) (libssh2 error \(code))"
        case let .sftp(host, operation, path, status, message):
            return "\(host): sftp \(operation) \(path): \(message) (status \(status))"
        }
    }

    /// Whether the failure happened before a usable session existed (the host is unreachable).
    public var isConnectionSetup: Bool {
        switch self {
        case .connect, .timeout, .hostKeyUnknown, .hostKeyMismatch, .authentication: return true
        case .session, .sftp: return false
        }
    }
}

/// Human text for the SFTP status codes of draft-ietf-secsh-filexfer-02 (what OpenSSH speaks).
func sftpStatusText(_ status: UInt) -> String {
    switch status {
    case 1: return "end of file"
    case 2: return "no such file"
    case 3: return "permission denied"
    case 4: return "failure"
    case 5: return "bad message"
    case 6: return "no connection"
    case 7: return "connection lost"
    case 8: return "operation unsupported"
    default: return "SFTP status \(status)"
    }
}
