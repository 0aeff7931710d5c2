import Foundation

/// What a command run on a host gave back.
public struct CommandResult: Sendable, Equatable {
    public var exitStatus: Int32
    public var stdout: String
    public var stderr: String
    public init(exitStatus: Int32, stdout: String, stderr: String) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A connection to one host. Three verbs — run a command, put a file, get a file — and nothing
/// else: modules plan from what `run`/`get` tell them and act with `run`/`put`.
///
/// Implementations: `SSHTransport` (libssh2, one session per host for the whole run),
/// `LocalTransport` (`connection: local`), `RecordingTransport` (tests, in ProvisionTestSupport).
/// A transport is used by one thread at a time (the engine gives every host its own worker).
public protocol Transport: AnyObject {
    /// The inventory name of the host this transport reaches.
    var hostName: String { get }
    /// Runs `command` with `/bin/sh -c` semantics; `input` is written to its stdin.
    func run(_ command: String, input: Data?) throws -> CommandResult
    /// Writes `data` to `path` atomically (temporary name in the same directory, then rename),
    /// with the given permission bits; a reader never sees a half-written file.
    func put(_ data: Data, to path: String, mode: UInt32) throws
    /// Reads the whole file at `path`; `nil` when it does not exist.
    func get(_ path: String) throws -> Data?
    /// Ends the session; further calls fail.
    func close()
    /// Drops the connection and dials the host again, giving up after `timeout` seconds (throws
    /// `TransportError`); `reboot` and `wait_for_connection` use it. By default: cannot re-dial.
    func reconnect(timeout: Double) throws
}

extension Transport {
    public func run(_ command: String) throws -> CommandResult { try run(command, input: nil) }
    public func reconnect(timeout: Double) throws {
        throw TransportError.failed(host: hostName, reason: "this connection cannot be dialled again")
    }
}

/// Why a transport could not do what was asked. `unreachable`-kind errors make the engine mark
/// the host UNREACHABLE rather than FAILED.
public enum TransportError: Error, CustomStringConvertible, Equatable {
    /// TCP connect, handshake or authentication failed: the host is unreachable for this run.
    case unreachable(host: String, reason: String)
    /// The host presented a key that known_hosts does not have and the policy is strict.
    case hostKeyUnknown(host: String, fingerprint: String, knownHostsFile: String)
    /// The host presented a key different from the one known_hosts has for it: always refused.
    case hostKeyMismatch(host: String, expected: String, actual: String, knownHostsFile: String)
    /// The session broke or a file operation failed mid-run.
    case failed(host: String, reason: String)

    public var isUnreachable: Bool {
        switch self {
        case .unreachable, .hostKeyUnknown, .hostKeyMismatch: return true
        case .failed: return false
        }
    }

    public var description: String {
        switch self {
        case let .unreachable(host, reason):
            return "\(host): unreachable: \(reason)"
        case let .hostKeyUnknown(host, fp, file):
            return "\(host): host key \(fp) is not in \(file); refusing (set host_key_checking: accept-new to record it)"
        case let .hostKeyMismatch(host, expected, actual, file):
            return "\(host): HOST KEY MISMATCH: \(file) has \(expected) but the host presented \(actual); refusing to connect"
        case let .failed(host, reason):
            return "\(host): \(reason)"
        }
    }
}
