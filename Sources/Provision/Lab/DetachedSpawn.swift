import Foundation
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Starts a long-lived program that must outlive this process and inherit none of its file
/// descriptors (through `Spawn`: Foundation's Process would wait as long as the daemon lives).
enum DetachedSpawn {
    /// Runs `argv` in its own session (setsid), stdin /dev/null, stdout+stderr appended to
    /// `logPath`; returns its PID. An intermediate shell exits at once, so the program is
    /// re-parented away from us and never becomes our zombie.
    static func start(_ argv: [String], logPath: String) throws -> Int32 {
        let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = "setsid \(quoted) </dev/null >>'\(logPath)' 2>&1 & echo $!"
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw LabError("pipe: \(String(cString: strerror(errno)))") }
        let shell: pid_t
        do {
            shell = try Spawn.start("/bin/sh", ["-c", script],
                                    environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"],
                                    output: .descriptor(fds[1]))
        } catch {
            close(fds[0]); close(fds[1])
            throw LabError("cannot start \(argv[0]): \(error)")
        }
        close(fds[1])
        defer { close(fds[0]) }
        var output = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n > 0 { output += buf[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        _ = Spawn.wait(shell)
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text) else { throw LabError("cannot start \(argv[0]): \(text)") }
        return pid
    }
}
