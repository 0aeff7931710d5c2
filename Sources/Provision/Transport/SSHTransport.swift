import Foundation

/// Transport over one libssh2 session (owned by the `SSH` module) kept for the whole run.
/// PLACEHOLDER: replaced by the SSH transport work; the initializer's signature is the contract.
public final class SSHTransport: Transport {
    public let hostName: String
    public let target: SSHTarget

    /// Connects, checks the host key against `target.knownHostsFile` and authenticates.
    /// Throws `TransportError.unreachable` / `.hostKeyUnknown` / `.hostKeyMismatch`.
    public init(hostName: String, target: SSHTarget) throws {
        self.hostName = hostName
        self.target = target
        throw TransportError.unreachable(host: hostName, reason: "SSH transport not built yet")
    }

    public func run(_ command: String, input: Data?) throws -> CommandResult {
        throw TransportError.failed(host: hostName, reason: "SSH transport not built yet")
    }
    public func put(_ data: Data, to path: String, mode: UInt32) throws {
        throw TransportError.failed(host: hostName, reason: "SSH transport not built yet")
    }
    public func get(_ path: String) throws -> Data? {
        throw TransportError.failed(host: hostName, reason: "SSH transport not built yet")
    }
    public func close() {}
}
