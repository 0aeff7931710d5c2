// The package's one way to start a program whose end must be waited for reliably (pg_ctl,
// pg_basebackup, ssh-keygen, the shell that detaches a lab host): posix_spawn with stdin from
// /dev/null, stdout and stderr to a file or a descriptor, and every other descriptor closed in the
// child; then waitpid. Foundation's Process on Linux learns of an exit through a descriptor its
// child inherits — a daemon grandchild (the postmaster pg_ctl leaves behind, systemd-nspawn)
// keeps that open, so the wait would last as long as the daemon — and can miss SIGCHLD under
// swift-testing. The package's only way to start a process (docs/architecture.md: why not
// swift-subprocess either): `run` for a command whose output we want, `start` + `wait` for the rest.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

public enum Spawn {
    /// Where the child's stdin comes from.
    public enum Input {
        /// /dev/null: a child never waits on a terminal it was not meant to have.
        case null
        /// Ours (an editor needs the terminal).
        case inherit
        /// A file, opened read-only.
        case file(String)
    }

    /// Where the child's stdout (and, unless given apart, stderr) goes.
    public enum Output {
        /// A file, created (0600) or truncated.
        case file(String)
        /// A file, created (0600) or appended to (a long job's log).
        case appending(String)
        /// An open descriptor of ours, e.g. a pipe's write end (the child gets a copy).
        case descriptor(Int32)
        /// Ours.
        case inherit
        case null
    }

    /// Starts `path` with `arguments` and exactly `environment`; returns the child's PID. stderr goes
    /// where `stderr` says, or with stdout when nil; `directory` is the child's working directory.
    public static func start(_ path: String, _ arguments: [String], environment: [String: String],
                             input: Input = .null, output: Output, stderr: Output? = nil,
                             directory: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch input {
        case .null: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .inherit: break
        case let .file(inputPath): posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        }
        redirect(&actions, 1, output)
        if let stderr { redirect(&actions, 2, stderr) } else if case .inherit = output {} else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        closeInheritedDescriptors(&actions)
        if let directory {
            guard let addChdir else { throw SpawnError(description: "cannot run \(path) in \(directory): this libc has no posix_spawn chdir") }
            _ = directory.withCString { addChdir(&actions, $0) }
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpawnError(description: "cannot run \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    private static func redirect(_ actions: inout posix_spawn_file_actions_t, _ fd: Int32, _ output: Output) {
        switch output {
        case let .file(outputPath): posix_spawn_file_actions_addopen(&actions, fd, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        case let .appending(outputPath): posix_spawn_file_actions_addopen(&actions, fd, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        case let .descriptor(source): posix_spawn_file_actions_adddup2(&actions, source, fd)
        case .inherit: break
        case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
        }
    }

    /// Waits for `pid` to end: its exit code, or 128 + the signal that ended it (as a shell says).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits for `pid`, killing it (SIGKILL) once `timeout` seconds have passed; nil timeout waits as long as it runs.
    public static func wait(_ pid: pid_t, timeout: Double?) -> Int32 {
        guard let timeout else { return wait(pid) }
        // The kill is cancelled before the pid is reaped, so it can never hit a recycled pid.
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        killer.cancel()
        return wait(pid)
    }

    /// What a finished command printed and how it ended.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Whether the timeout ended it.
        public var timedOut: Bool
    }

    /// Runs a command to its end: `input` as its stdin, stdout and stderr collected apart. Output goes
    /// through temporary files, not pipes, so a daemon the command leaves behind (`pg_ctl start`)
    /// holding them open cannot make us wait for it.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String],
                           input: Data? = nil, directory: String? = nil, timeout: Double? = nil) throws -> Result {
        var template = Array("/tmp/spawn.XXXXXX".utf8CString)
        guard let dirPointer = mkdtemp(&template) else { throw SpawnError(description: "mkdtemp: \(String(cString: strerror(errno)))") }
        let dir = String(cString: dirPointer)
        defer { for name in ["in", "out", "err"] { unlink(dir + "/" + name) }; rmdir(dir) }
        var stdin = Input.null
        if let input {
            guard FileManager.default.createFile(atPath: dir + "/in", contents: input, attributes: [.posixPermissions: 0o600]) else {
                throw SpawnError(description: "cannot write \(dir)/in")
            }
            stdin = .file(dir + "/in")
        }
        let pid = try start(path, arguments, environment: environment, input: stdin, output: .file(dir + "/out"),
                            stderr: .file(dir + "/err"), directory: directory)
        let started = Date()
        let status = wait(pid, timeout: timeout)
        let timedOut = timeout.map { status == 128 + SIGKILL && Date().timeIntervalSince(started) >= $0 } ?? false
        func read(_ name: String) -> String {
            String(decoding: FileManager.default.contents(atPath: dir + "/" + name) ?? Data(), as: UTF8.self)
        }
        return Result(status: status, stdout: read("out"), stderr: read("err"), timedOut: timedOut)
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
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let addCloseFrom: AddCloseFrom? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: AddCloseFrom.self)
    }()

    /// glibc ≥ 2.29; looked up like addclosefrom.
    private static let addChdir: AddChdir? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(sym, to: AddChdir.self)
    }()
}
