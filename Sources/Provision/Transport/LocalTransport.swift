import Foundation
import Spawn

/// Runs commands on this machine (`ansible_connection: local`): `/bin/sh -c`, stdin from
/// `input`; files written to a temporary name in the same directory and renamed.
public final class LocalTransport: Transport {
    public let hostName: String
    private var closed = false

    public init(hostName: String) { self.hostName = hostName }

    /// Nothing to dial: the controller itself (a closed transport opens again).
    public func reconnect(timeout: Double) throws { closed = false }

    public func run(_ command: String, input: Data?) throws -> CommandResult {
        guard !closed else { throw TransportError.failed(host: hostName, reason: "transport closed") }
        // Through Spawn: a daemon the command leaves behind (pg_ctl start) must not hold us.
        let result: Spawn.Result
        do { result = try Spawn.run("/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment, input: input) } catch {
            throw TransportError.failed(host: hostName, reason: "cannot start /bin/sh: \(error)")
        }
        return CommandResult(exitStatus: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    public func put(_ data: Data, to path: String, mode: UInt32) throws {
        guard !closed else { throw TransportError.failed(host: hostName, reason: "transport closed") }
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).provision-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: Int(mode)]) else {
            throw TransportError.failed(host: hostName, reason: "cannot write \(tmp): \(String(cString: strerror(errno)))")
        }
        chmod(tmp, mode_t(mode))  // createFile's attributes honour the umask; the mode asked for wins.
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw TransportError.failed(host: hostName, reason: "cannot rename into \(path): \(reason)")
        }
    }

    public func get(_ path: String) throws -> Data? {
        guard !closed else { throw TransportError.failed(host: hostName, reason: "transport closed") }
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TransportError.failed(host: hostName, reason: "cannot read \(path)")
        }
        return data
    }

    public func close() { closed = true }
}
