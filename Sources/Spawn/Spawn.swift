// The package's one way to start a program whose end must be waited for reliably (pg_ctl,
// pg_basebackup, ssh-keygen, the shell that detaches a lab host): posix_spawn with stdin from
// /dev/null, stdout and stderr to a file or a descriptor, and every other descriptor closed in the
// child; then waitpid. Foundation.Process on Linux learns of an exit through a descriptor its
// child inherits — a daemon grandchild (the postmaster pg_ctl leaves behind, systemd-nspawn)
// keeps that open, so the wait would last as long as the daemon — and can miss SIGCHLD under
// swift-testing. Used by AgentCore (Command), Provision (DetachedSpawn) and Fixtures (runTool).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

public enum Spawn {
    /// Where the child's stdout and stderr go.
    public enum Output {
        /// A file, created (0600) or truncated.
        case file(String)
        /// An open descriptor of ours, e.g. a pipe's write end (the child gets a copy as 1 and 2).
        case descriptor(Int32)
    }

    /// Starts `path` with `arguments` and exactly `environment`; returns the child's PID.
    public static func start(_ path: String, _ arguments: [String], environment: [String: String],
                             output: Output) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case let .file(outputPath):
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case let .descriptor(fd):
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
            posix_spawn_file_actions_adddup2(&actions, fd, 2)
        }
        closeInheritedDescriptors(&actions)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpawnError(description: "cannot run \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for `pid` to end: its exit code, or 128 + the signal that ended it (as a shell says).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Closes every descriptor above 2 in the child: posix_spawn_file_actions_addclosefrom_np when
    /// glibc has it (≥ 2.34; not exported to Swift, so looked up once), else one close per open fd.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom { _ = addCloseFrom(&actions, 3); return }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        // The listing's own descriptor is closed again by now: fcntl leaves it out.
        for fd in fds where fd > 2 && fcntl(fd, F_GETFD) >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let addCloseFrom: AddCloseFrom? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: AddCloseFrom.self)
    }()
}
