import Foundation
import SSH

/// Transport over one libssh2 session (owned by the `SSH` module) kept for the whole run:
/// one handshake per host, a channel per command, one SFTP subsystem for files.
/// Commands run through the login shell of `target.user` (`$SHELL -c`, as ssh(1) does).
public final class SSHTransport: Transport {
    public let hostName: String
    public let target: SSHTarget
    private var session: SSHSession?

    /// Connects, checks the host key against `target.knownHostsFile` and authenticates.
    /// Throws `TransportError.unreachable` / `.hostKeyUnknown` / `.hostKeyMismatch`.
    public init(hostName: String, target: SSHTarget) throws {
        self.hostName = hostName
        self.target = target
        session = try Self.dial(target, host: hostName, timeout: target.connectTimeout)
    }

    private static func dial(_ target: SSHTarget, host: String, timeout: Double) throws -> SSHSession {
        do {
            let session = try SSHSession(host: target.address, port: target.port, connectTimeout: timeout,
                                         keepaliveInterval: target.keepaliveInterval)
            try session.verifyHostKey(knownHostsFile: target.knownHostsFile,
                                      acceptNew: target.hostKeyPolicy == .acceptNew)
            try session.authenticate(user: target.user, methods: Self.authMethods(target.privateKeyFiles), timeout: timeout)
            return session
        } catch let error as SSHError {
            throw Self.transportError(error, host: host)
        }
    }

    /// Closes the session (bounded, whether or not the server still answers) and dials again
    /// with at most `timeout` seconds to connect; the host key is checked as on the first dial.
    public func reconnect(timeout: Double) throws {
        session?.close()
        session = nil
        session = try Self.dial(target, host: hostName, timeout: max(0.1, min(target.connectTimeout, timeout)))
    }

    /// Named key files then the agent; with none named, the agent then ~/.ssh/id_ed25519, id_rsa.
    static func authMethods(_ keyFiles: [String]) -> [SSHAuthMethod] {
        if !keyFiles.isEmpty { return keyFiles.map { .keyFile($0) } + [.agent] }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return [.agent, .keyFile(home + "/.ssh/id_ed25519"), .keyFile(home + "/.ssh/id_rsa")]
    }

    static func transportError(_ error: SSHError, host: String) -> TransportError {
        switch error {
        case let .hostKeyUnknown(_, fingerprint, file):
            return .hostKeyUnknown(host: host, fingerprint: fingerprint, knownHostsFile: file)
        case let .hostKeyMismatch(_, expected, actual, file):
            return .hostKeyMismatch(host: host, expected: expected, actual: actual, knownHostsFile: file)
        case .connect, .timeout, .authentication:
            return .unreachable(host: host, reason: error.description)
        case .session, .sftp:
            return .failed(host: host, reason: error.description)
        }
    }

    private func live() throws -> SSHSession {
        guard let session else { throw TransportError.failed(host: hostName, reason: "SSH session is closed") }
        return session
    }

    public func run(_ command: String, input: Data?) throws -> CommandResult {
        do {
            let session = try live()
            let result = try target.persistentShell ? session.runInShell(command, input: input) : session.exec(command, input: input)
            var stderr = String(decoding: result.stderr, as: UTF8.self)
            if let signal = result.exitSignal { stderr += "killed by signal \(signal)\n" }
            return CommandResult(exitStatus: result.exitStatus,
                                 stdout: String(decoding: result.stdout, as: UTF8.self), stderr: stderr)
        } catch let error as SSHError {
            throw Self.transportError(error, host: hostName)
        }
    }

    public func put(_ data: Data, to path: String, mode: UInt32) throws {
        do {
            try live().writeFile(data, to: path, mode: mode)
        } catch let error as SSHError {
            throw Self.transportError(error, host: hostName)
        }
    }

    public func get(_ path: String) throws -> Data? {
        do {
            return try live().readFile(path)
        } catch let error as SSHError {
            throw Self.transportError(error, host: hostName)
        }
    }

    public func close() {
        session?.close()
        session = nil
    }

    /// SSH handshakes this process completed with `address:port` (benchmarks print it).
    public static func handshakes(address: String, port: Int) -> Int {
        SSHStatistics.handshakes(host: address, port: port)
    }

    /// Commands run plus files read or written over SSH with `address:port` (benchmarks print it).
    public static func operations(address: String, port: Int) -> Int {
        SSHStatistics.operations(host: address, port: port)
    }

    /// SSH handshakes this process completed with any host.
    public static var totalHandshakes: Int { SSHStatistics.totalHandshakes }
}
