// SSHTransport against a real sshd started on 127.0.0.1 by each test: commands, files, one
// handshake for many commands.
import Fixtures
import Foundation
import Provision
import Testing

@Suite(.serialized)
struct SSHTransportTests {
    @Test func runReportsStdoutStderrExitStatusAndStdin() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target())
        defer { ssh.close() }

        let plain = try ssh.run("echo out; echo err >&2; exit 3")
        #expect(plain == CommandResult(exitStatus: 3, stdout: "out\n", stderr: "err\n"))

        let fed = try ssh.run("tr a-z A-Z", input: Data("hello\nworld\n".utf8))
        #expect(fed == CommandResult(exitStatus: 0, stdout: "HELLO\nWORLD\n", stderr: ""))

        // 3 MB through stdin and back: writing and reading must interleave or both sides stall.
        let big = Data((0..<3_000_000).map { UInt8(ascii: "a") + UInt8($0 % 26) })
        let echoed = try ssh.run("cat", input: big)
        #expect(echoed.exitStatus == 0)
        #expect(echoed.stdout.utf8.count == big.count)
        #expect(Data(echoed.stdout.utf8) == big)

        let ignoringInput = try ssh.run("true", input: Data(count: 1_000_000))
        #expect(ignoringInput.exitStatus == 0)

        let killed = try ssh.run("kill -KILL $$")
        #expect(killed.exitStatus == 255)
        #expect(killed.stderr.contains("KILL"))
    }

    @Test func largeOutputsAndManyCommandsShareOneHandshake() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let before = SSHTransport.handshakes(address: sshd.address, port: sshd.port)
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target())
        defer { ssh.close() }

        // 6 MB on stdout and 4 MB on stderr at the same time: neither pipe may block the other.
        let both = try ssh.run("""
            (head -c 4000000 /dev/zero | tr '\\0' e >&2) & head -c 6000000 /dev/zero | tr '\\0' o; wait
            """)
        #expect(both.exitStatus == 0)
        #expect(both.stdout.utf8.count == 6_000_000)
        #expect(both.stderr.utf8.count == 4_000_000)
        #expect(both.stdout.utf8.allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(both.stderr.utf8.allSatisfy { $0 == UInt8(ascii: "e") })

        for i in 0..<150 {
            let result = try ssh.run("echo \(i)")
            #expect(result.stdout == "\(i)\n")
        }
        try ssh.put(Data("x".utf8), to: sshd.directory + "/one", mode: 0o644)
        #expect(try ssh.get(sshd.directory + "/one") == Data("x".utf8))
        #expect(SSHTransport.handshakes(address: sshd.address, port: sshd.port) - before == 1)
    }

    /// With SFTP, and against an sshd without the SFTP subsystem (files then go over exec channels).
    @Test(arguments: [true, false])
    func putIsAtomicWithModeAndGetRoundTrips(withSFTP: Bool) throws {
        let sshd = try SSHD(withSFTP: withSFTP)
        defer { sshd.stop() }
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target())
        defer { ssh.close() }
        let dir = sshd.directory + "/files"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/app.conf"

        #expect(try ssh.get(path) == nil)
        #expect(try ssh.get(dir + "/missing/deeper") == nil)

        let first = Data("port = 5432\n".utf8)
        try ssh.put(first, to: path, mode: 0o640)
        #expect(try ssh.get(path) == first)
        var attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)

        // A reader polling the file while it is replaced sees the whole old or the whole new
        // content, never a mix or a truncated file.
        let size = 1_500_000
        let contents = [Data(repeating: UInt8(ascii: "A"), count: size), Data(repeating: UInt8(ascii: "B"), count: size)]
        try ssh.put(contents[0], to: path, mode: 0o600)
        let stop = LockedFlag()
        let torn = LockedFlag()
        let reads = LockedCounter()
        let reader = Thread {
            while !stop.value {
                guard let seen = FileManager.default.contents(atPath: path) else { torn.set(); continue }
                reads.increment()
                if seen != contents[0] && seen != contents[1] { torn.set() }
            }
        }
        reader.start()
        for round in 1...8 { try ssh.put(contents[round % 2], to: path, mode: 0o600) }
        stop.set()
        _ = waitUntil(timeout: 5) { reader.isFinished }
        #expect(!torn.value)
        #expect(reads.value > 0)
        #expect(try ssh.get(path) == contents[0])
        attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["app.conf"])

        // Binary content and an empty file survive unchanged.
        let binary = Data((0..<256).map { UInt8($0) })
        try ssh.put(binary, to: dir + "/bin", mode: 0o755)
        #expect(try ssh.get(dir + "/bin") == binary)
        try ssh.put(Data(), to: dir + "/empty", mode: 0o644)
        #expect(try ssh.get(dir + "/empty") == Data())

        // A directory that does not exist: an error, nothing created.
        #expect(throws: TransportError.self) { try ssh.put(first, to: dir + "/nope/app.conf", mode: 0o644) }
        // Without the subsystem the server did refuse SFTP (once): the files above went over exec.
        let log = (try? String(contentsOfFile: sshd.directory + "/sshd.log", encoding: .utf8)) ?? ""
        #expect(withSFTP || log.components(separatedBy: "subsystem not found").count == 2, "\(log)")
    }
}

extension SSHTransportTests {
    /// provision_persistent_shell: the same results as exec channels, one shell for the run; a
    /// shell that dies leaves the next commands to exec channels. Prints both per-command costs.
    @Test func persistentShellRunsCommandsAsExecChannelsDo() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let before = SSHTransport.handshakes(address: sshd.address, port: sshd.port)
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target(persistentShell: true))
        defer { ssh.close() }
        #expect(try ssh.run("echo out; echo err >&2; exit 3") == CommandResult(exitStatus: 3, stdout: "out\n", stderr: "err\n"))
        #expect(try ssh.run("printf '%s\\n' 'a b'\nif true; then echo yes; fi") == CommandResult(exitStatus: 0, stdout: "a b\nyes\n", stderr: ""))
        #expect(try ssh.run("printf 'no newline'").stdout == "no newline")
        #expect(try ssh.run("cat").stdout == "")  // stdin is empty, as on an exec channel
        #expect(try ssh.run("tr a-z A-Z", input: Data("hello\n".utf8)).stdout == "HELLO\n")
        // Each command starts afresh: no cd or export of an earlier one leaks into it.
        let home = try ssh.run("pwd").stdout
        _ = try ssh.run("cd /tmp; export LEAK=1")
        #expect(try ssh.run("echo ${LEAK:-unset}; pwd").stdout == "unset\n" + home)
        // The login shell's language (root's is bash here), no positional parameters, and each
        // command in a process of its own.
        #expect(try ssh.run("[[ a == a ]] && echo \"$# [$1]\"").stdout == "0 []\n")
        let pids = try (0..<2).map { _ in try ssh.run("echo $(exec sh -c 'echo $PPID')").stdout }
        #expect(pids[0] != pids[1], "\(pids)")
        let both = try ssh.run("(head -c 4000000 /dev/zero | tr '\\0' e >&2) & head -c 6000000 /dev/zero | tr '\\0' o; wait")
        #expect(both.exitStatus == 0 && both.stdout.utf8.count == 6_000_000 && both.stderr.utf8.count == 4_000_000)
        var start = Date()
        for i in 0..<200 { #expect(try ssh.run("echo \(i)").stdout == "\(i)\n") }
        let shellEach = Date().timeIntervalSince(start) / 200
        #expect(SSHTransport.handshakes(address: sshd.address, port: sshd.port) - before == 1)
        // The shell's loop killed: this command fails, the next ones run on exec channels.
        // (Commands are evaluated in subshells of the loop, whose PID is `$$` in each of them.)
        #expect(throws: TransportError.self) { _ = try ssh.run("kill -KILL $$") }
        #expect(try ssh.run("echo after").stdout == "after\n")
        start = Date()
        for i in 0..<200 { #expect(try ssh.run("echo \(i)").stdout == "\(i)\n") }
        let execEach = Date().timeIntervalSince(start) / 200
        print(String(format: "persistent shell: %.2f ms per command; exec channels: %.2f ms per command", shellEach * 1000, execEach * 1000))
    }

    @Test func aSessionThatDiesMidRunFailsTheNextCallInsteadOfHanging() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target())
        defer { ssh.close() }
        // The shell's parent is sshd's per-connection process: killing it drops our connection.
        let parent = try #require(Int32(try ssh.run("echo $PPID").stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(parent, SIGKILL) == 0)
        let start = Date()
        let error = #expect(throws: TransportError.self) { _ = try ssh.run("echo still there?") }
        #expect(error?.isUnreachable == false)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(throws: TransportError.self) { _ = try ssh.get(sshd.directory + "/known_hosts") }
    }
}

/// A Bool shared with a reader thread.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
    func set() { lock.lock(); flag = true; lock.unlock() }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() { lock.lock(); count += 1; lock.unlock() }
}
