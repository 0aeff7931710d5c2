import Foundation
import Spawn

/// Runs programs on the control machine (the one hosting the lab), never inside a lab host.
/// Every failure becomes a `LabError` carrying the command and the tail of its output.
enum ControlShell {
    /// Runs `argv` (argv[0] looked up in PATH), waits, returns what it printed.
    @discardableResult
    static func run(_ argv: [String], input: Data? = nil, allowFailure: Bool = false) throws -> CommandResult {
        let spawned: Spawn.Result
        do { spawned = try Spawn.run("/usr/bin/env", argv, environment: environment, input: input) } catch {
            throw LabError("cannot run \(argv.joined(separator: " ")): \(error)")
        }
        let result = CommandResult(exitStatus: spawned.status, stdout: spawned.stdout, stderr: spawned.stderr)
        if result.exitStatus != 0 && !allowFailure {
            let tail = (result.stderr + result.stdout).split(separator: "\n").suffix(8).joined(separator: "\n")
            throw LabError("`\(argv.joined(separator: " "))` exited with \(result.exitStatus): \(tail)")
        }
        return result
    }

    /// Runs `argv` with stdout and stderr appended to `logPath` (long jobs: debootstrap, apt).
    /// On failure the error carries the last lines of that log.
    static func runLogged(_ argv: [String], logPath: String) throws {
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        log.write(Data("$ \(argv.joined(separator: " "))\n".utf8))
        try? log.close()
        let pid: pid_t
        do { pid = try Spawn.start("/usr/bin/env", argv, environment: environment, output: .appending(logPath)) } catch {
            throw LabError("cannot run \(argv.joined(separator: " ")): \(error)")
        }
        let status = Spawn.wait(pid)
        if status != 0 {
            throw LabError("`\(argv.joined(separator: " "))` exited with \(status); last lines of \(logPath):\n\(tail(of: logPath, lines: 15))")
        }
    }

    /// root's PATH for argv[0]; C locale so tools' messages are stable; apt never asks.
    private static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["LC_ALL"] = "C"
        env["DEBIAN_FRONTEND"] = "noninteractive"
        return env
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
