import Foundation

/// Runs commands on this machine (`ansible_connection: local`): `/bin/sh -c`, stdin from
/// `input`; files written to a temporary name in the same directory and renamed.
public final class LocalTransport: Transport {
    public let hostName: String
    private var closed = false

    public init(hostName: String) { self.hostName = hostName }

    public func run(_ command: String, input: Data?) throws -> CommandResult {
        guard !closed else { throw TransportError.failed(host: hostName, reason: "transport closed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        do { try process.run() } catch {
            throw TransportError.failed(host: hostName, reason: "cannot start /bin/sh: \(error)")
        }
        // Drain stderr and feed stdin on their own threads so no pipe buffer can deadlock us.
        final class Box { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let input {
            group.enter()
            Thread.detachNewThread {
                try? inPipe.fileHandleForWriting.write(contentsOf: input)
                try? inPipe.fileHandleForWriting.close()
                group.leave()
            }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(exitStatus: status, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errBox.data, as: UTF8.self))
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
