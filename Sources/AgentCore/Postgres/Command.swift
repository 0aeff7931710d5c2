// Runs a program off the cooperative pool and returns its exit status and output (bounded wait).
import Foundation

public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var ok: Bool { status == 0 }
}

public enum Command {
    /// Runs `path args`, output to a temp file (a pipe could fill up, and a daemon child such as the
    /// postmaster would keep it open). After `timeout` seconds the process is killed.
    public static func run(_ path: String, _ args: [String], environment: [String: String] = [:],
                           timeout: Double = 120) async -> CommandResult {
        let outPath = NSTemporaryDirectory() + "pgha-cmd-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: outPath, contents: nil, attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        guard let out = FileHandle(forWritingAtPath: outPath) else {
            return CommandResult(status: -1, output: "cannot create \(outPath)")
        }
        defer { try? out.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = await withCheckedContinuation { cont in
            process.terminationHandler = { p in cont.resume(returning: p.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                cont.resume(returning: -1)
                return
            }
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return CommandResult(status: status, output: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
