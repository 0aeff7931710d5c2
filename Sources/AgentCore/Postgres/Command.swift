// Runs a program off the cooperative pool and returns its exit status and output (bounded wait),
// through `Spawn` (posix_spawn + waitpid, every inherited descriptor closed: see there why not
// Foundation's Process — pg_ctl would never seem to finish).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Spawn
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
        let outPath = temporaryDirectory() + "pgha-cmd-\(UUID().uuidString)"
        defer { unlink(outPath) }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return await withCheckedContinuation { (cont: CheckedContinuation<CommandResult, Never>) in
            DispatchQueue.global().async {
                // Registered before the spawn can finish, so Reaper.reap never takes this child's status.
                Reaper.active.lock()
                let pid: pid_t
                do {
                    pid = try Spawn.start(path, args, environment: env, output: .file(outPath))
                    Reaper.running.insert(pid)
                    Reaper.active.unlock()
                } catch {
                    Reaper.active.unlock()
                    cont.resume(returning: CommandResult(status: -1, output: "\(error)"))
                    return
                }
                let killer = DispatchWorkItem { kill(pid, SIGKILL) }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
                let code = Spawn.wait(pid)
                killer.cancel()
                Reaper.active.withLock { _ = Reaper.running.remove(pid) }
                let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
                cont.resume(returning: CommandResult(status: code, output: text.trimmingSpacesAndNewlines()))
            }
        }
    }
}

/// The agent adopts orphaned descendants (the postmaster pg_ctl leaves behind) and reaps them, so a
/// crashed postmaster does not linger as a zombie whose PID in postmaster.pid blocks a restart.
public enum Reaper {
    static let active = Lock()
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
