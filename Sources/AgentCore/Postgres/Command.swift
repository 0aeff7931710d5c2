// Runs a program off the cooperative pool and returns its exit status and output (bounded wait).
// posix_spawn + waitpid rather than Foundation.Process: Process on Linux learns of an exit through a
// descriptor its child inherits, and a daemon grandchild (the postmaster pg_ctl leaves behind) keeps
// that open, so pg_ctl would never seem to finish. Here every descriptor above 2 is closed in the child.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var ok: Bool { status == 0 }
}

public enum Command {
    /// Runs `path args` with output to a temp file; after `timeout` seconds the process is killed.
    public static func run(_ path: String, _ args: [String], environment: [String: String] = [:],
                           timeout: Double = 120) async -> CommandResult {
        let outPath = NSTemporaryDirectory() + "pgha-cmd-\(UUID().uuidString)"
        defer { unlink(outPath) }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        return await withCheckedContinuation { (cont: CheckedContinuation<CommandResult, Never>) in
            DispatchQueue.global().async {
                var pid: pid_t = 0
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
                closeInheritedDescriptors(&actions)
                let argv = ([path] + args).map { strdup($0) } + [nil]
                let envp = env.map { strdup($0) } + [nil]
                defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
                // Registered before the spawn can finish, so Reaper.reap never takes this child's status.
                Reaper.active.lock()
                let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
                if rc == 0 { Reaper.running.insert(pid) }
                Reaper.active.unlock()
                guard rc == 0 else {
                    cont.resume(returning: CommandResult(status: -1, output: "cannot run \(path): \(String(cString: strerror(rc)))"))
                    return
                }
                let killer = DispatchWorkItem { kill(pid, SIGKILL) }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                killer.cancel()
                Reaper.active.withLock { _ = Reaper.running.remove(pid) }
                let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
                cont.resume(returning: CommandResult(status: code, output: text.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
    }
}

private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

/// glibc ≥ 2.34 has posix_spawn_file_actions_addclosefrom_np (not exported to Swift); looked up once.
private let addCloseFrom: AddCloseFrom? = {
    guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(sym, to: AddCloseFrom.self)
}()

/// Closes every descriptor above 2 in the child.
private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    if let addCloseFrom { _ = addCloseFrom(&actions, 3); return }
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
    for fd in fds where fd > 2 && fcntl(fd, F_GETFD) >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
}

/// The agent adopts orphaned descendants (the postmaster pg_ctl leaves behind) and reaps them, so a
/// crashed postmaster does not linger as a zombie whose PID in postmaster.pid blocks a restart.
public enum Reaper {
    static let active = NSLock()
    nonisolated(unsafe) static var running: Set<pid_t> = []  // pids Command.run waits for itself

    /// Makes this process the subreaper of its descendants (Linux prctl).
    public static func adoptOrphans() {
        // prctl is variadic in C, so Swift does not import it: call it through dlsym.
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return }
        let PR_SET_CHILD_SUBREAPER: Int32 = 36
        _ = unsafeBitCast(sym, to: Prctl.self)(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    }

    /// Reaps every exited child except those a Command.run is waiting for.
    public static func reap() {
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, fields[0] == "Z", pid_t(fields[1]) == me else { continue }
            let mine = active.withLock { running.contains(pid) }
            if !mine { var status: Int32 = 0; waitpid(pid, &status, WNOHANG) }
        }
    }
}
