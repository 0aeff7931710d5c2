import Foundation

/// Runs programs on the control machine (the one hosting the lab), never inside a lab host.
/// Every failure becomes a `LabError` carrying the command and the tail of its output.
enum ControlShell {
    /// Runs `argv` (argv[0] looked up in PATH), waits, returns what it printed.
    @discardableResult
    static func run(_ argv: [String], input: Data? = nil, allowFailure: Bool = false) throws -> CommandResult {
        let process = makeProcess(argv)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        do { try process.run() } catch {
            throw LabError("cannot run \(argv.joined(separator: " ")): \(error)")
        }
        if let input {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so a chatty program never blocks on a full pipe.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        let result = CommandResult(exitStatus: process.terminationStatus,
                                   stdout: String(decoding: outData, as: UTF8.self),
                                   stderr: String(decoding: errData, as: UTF8.self))
        if result.exitStatus != 0 && !allowFailure {
            let tail = (result.stderr + result.stdout).split(separator: "\n").suffix(8).joined(separator: "\n")
            throw LabError("`\(argv.joined(separator: " "))` exited with \(result.exitStatus): \(tail)")
        }
        return result
    }

    /// Runs `argv` with stdout and stderr appended to `logPath` (long jobs: debootstrap, apt).
    /// On failure the error carries the last lines of that log.
    static func runLogged(_ argv: [String], logPath: String) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        log.seekToEndOfFile()
        log.write(Data("$ \(argv.joined(separator: " "))\n".utf8))
        let process = makeProcess(argv)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw LabError("`\(argv.joined(separator: " "))` exited with \(process.terminationStatus); last lines of \(logPath):\n\(tail(of: logPath, lines: 15))")
        }
    }

    /// argv[0] looked up in root's PATH; C locale so tools' messages are stable; apt never asks.
    private static func makeProcess(_ argv: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["LC_ALL"] = "C"
        env["DEBIAN_FRONTEND"] = "noninteractive"
        process.environment = env
        return process
    }

    static func tail(of path: String, lines: Int) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Whether `tool` is on the root PATH.
    static func has(_ tool: String) -> Bool {
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return true
        }
        return false
    }
}

/// Holds what the stderr reader thread read until the caller joins it.
private final class DataBox: @unchecked Sendable { var data = Data() }
