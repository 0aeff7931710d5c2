import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a long-lived program that must outlive this process and inherit none of its file
/// descriptors. Foundation's Process cannot: its child inherits a socket Foundation watches to
/// learn of the exit, so waiting for a shell that started a daemon would last as long as the daemon.
enum DetachedSpawn {
    /// Runs `argv` in its own session (setsid), stdin /dev/null, stdout+stderr appended to
    /// `logPath`; returns its PID. An intermediate shell exits at once, so the program is
    /// re-parented away from us and never becomes our zombie.
    static func start(_ argv: [String], logPath: String) throws -> Int32 {
        let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = "setsid \(quoted) </dev/null >>'\(logPath)' 2>&1 & echo $!"
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw LabError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        // Close everything else we hold (Foundation's sockets, locks, logs) in the child.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var args: [UnsafeMutablePointer<CChar>?] = cStrings(["/bin/sh", "-c", script])
        args.append(nil)
        defer { args.forEach { free($0) } }
        var env: [UnsafeMutablePointer<CChar>?] = cStrings(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                            "LC_ALL=C"])
        env.append(nil)
        defer { env.forEach { free($0) } }
        var shell: pid_t = 0
        let rc = posix_spawn(&shell, "/bin/sh", &actions, nil, args, env)
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { throw LabError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        var output = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n > 0 { output += buf[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        var status: Int32 = 0
        while waitpid(shell, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text) else { throw LabError("cannot start \(argv[0]): \(text)") }
        return pid
    }

    private static func cStrings(_ list: [String]) -> [UnsafeMutablePointer<CChar>?] {
        list.map { s in s.withCString { strdup($0) } }
    }
}
