// The package's one way to start a process (Spawn): input, environment, working directory,
// timeout, and a command that leaves a daemon behind — the case Foundation's Process hangs on.
import Foundation
import Provision
import Spawn
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SpawnTests {
    @Test func runFeedsInputAndCollectsBothStreamsApart() throws {
        let r = try Spawn.run("/bin/sh", ["-c", "cat; echo to-err >&2; echo \"$GREETING\"; pwd; exit 3"],
                              environment: ["GREETING": "hello", "PATH": "/usr/bin:/bin"], input: Data("fed\n".utf8), directory: "/usr")
        #expect(r.status == 3)
        #expect(r.stdout == "fed\nhello\n/usr\n")
        #expect(r.stderr == "to-err\n")
        #expect(!r.timedOut)
    }

    @Test func timeoutKillsTheCommand() throws {
        let r = try Spawn.run("/bin/sleep", ["30"], environment: [:], timeout: 0.2)
        #expect(r.status == 128 + SIGKILL)
        #expect(r.timedOut)
    }

    @Test func aMissingProgramIsAnErrorNamingIt() {
        #expect(throws: SpawnError.self) { try Spawn.run("/nonexistent/tool", [], environment: [:]) }
    }

    /// `pg_ctl start` style: the shell ends, its background child keeps stdout open. The local
    /// transport returns with the shell, while the child still runs.
    @Test func localTransportDoesNotWaitForADaemonTheCommandLeavesBehind() throws {
        let transport = LocalTransport(hostName: "local")
        let r = try transport.run("sleep 30 & echo $!", input: nil)
        let child = try #require(Int32(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(child, SIGKILL) }
        #expect(r.exitStatus == 0)
        #expect(kill(child, 0) == 0, "the background child should still run when run() returns")
    }
}
