import Foundation
import Testing
import Fixtures
@testable import Provision
#if canImport(Glibc)
import Glibc
#endif

/// The process mechanics the lab's teardown relies on: detached start, identity by PID and start
/// time, complete reads of /proc.
@Suite struct LabProcessTests {
    @Test func detachedProcessOutlivesItsStarterAndIsKnownByRecordedPID() throws {
        let dir = try makeTempDir("lab-spawn")
        defer { removeTree(dir) }
        let pid = try DetachedSpawn.start(["sleep", "30"], logPath: "\(dir)/log")
        let ref = try #require(ProcessRef.of(pid))
        defer { if ref.isAlive { kill(pid, SIGKILL) } }
        // setsid execs in place: same PID and start time, then the program's name.
        #expect(waitUntil(timeout: 5) { ProcStat(pid: pid)?.comm == "sleep" })
        let stat = try #require(ProcStat(pid: pid))
        #expect(stat.startTicks == ref.startTicks)
        #expect(stat.ppid != getpid())  // re-parented: never this process's zombie
        #expect(ref.isAlive)
        // The same PID with another start time is not "ours".
        #expect(!ProcessRef(pid: pid, startTicks: ref.startTicks + 1).isAlive)
        kill(pid, SIGKILL)
        #expect(waitUntil(timeout: 5) { !ref.isAlive })
    }

    @Test func detachedProcessInheritsNoDescriptors() throws {
        let dir = try makeTempDir("lab-spawn")
        defer { removeTree(dir) }
        let held = open("\(dir)/held", O_CREAT | O_RDWR, 0o600)  // not close-on-exec
        defer { close(held) }
        let pid = try DetachedSpawn.start(["sh", "-c", "ls /proc/$$/fd; sleep 30"], logPath: "\(dir)/log")
        defer { kill(pid, SIGKILL) }
        #expect(waitUntil(timeout: 5) { ((try? String(contentsOfFile: "\(dir)/log", encoding: .utf8)) ?? "").contains("2") })
        let fds = try String(contentsOfFile: "\(dir)/log", encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(fds.contains(1) && !fds.contains(Int(held)), "fds: \(fds), held: \(held)")
    }

    @Test func procFilesAreReadToTheEnd() throws {
        // /proc/self/maps of a Swift test process is far beyond the 4 KB Foundation reads.
        let text = try #require(readProcFile("/proc/self/maps"))
        #expect(text.utf8.count > 8192)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n")
        #expect(lines.last?.contains("vsyscall") == true || lines.last?.contains("[") == true)
    }
}
