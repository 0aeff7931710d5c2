// Connection set-up against a real sshd: host key policy (known_hosts plain, hashed, unknown,
// changed), key types, ssh-agent, and unreachable endpoints failing within the timeout.
import Fixtures
import Foundation
import Provision
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized)
struct SSHConnectTests {
    @Test func unknownHostKeyIsRefusedUnlessAcceptNewWhichRecordsIt() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let fingerprint = try sshd.hostKeyFingerprint()
        let knownHosts = sshd.directory + "/fresh/known_hosts"

        #expect(throws: TransportError.hostKeyUnknown(host: "h1", fingerprint: fingerprint, knownHostsFile: knownHosts)) {
            _ = try SSHTransport(hostName: "h1", target: sshd.target(knownHostsFile: knownHosts))
        }
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        let first = try SSHTransport(hostName: "h1", target: sshd.target(knownHostsFile: knownHosts, policy: .acceptNew))
        #expect(try first.run("echo ok").stdout == "ok\n")
        first.close()
        let recorded = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(recorded == "[127.0.0.1]:\(sshd.port) \(try publicKeyLine(sshd.hostKey + ".pub"))\n")

        // Now known: the strict policy lets it in, and nothing is appended twice.
        let second = try SSHTransport(hostName: "h1", target: sshd.target(knownHostsFile: knownHosts))
        #expect(try second.run("echo ok").stdout == "ok\n")
        second.close()
        _ = try SSHTransport(hostName: "h1", target: sshd.target(knownHostsFile: knownHosts, policy: .acceptNew))
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == recorded)
    }

    @Test func changedHostKeyIsRefusedWithBothFingerprintsUnderEveryPolicy() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let impostor = sshd.directory + "/other_host_key"
        try generateSSHKey(type: "ed25519", at: impostor)
        let knownHosts = sshd.directory + "/known_hosts_changed"
        try """
            # a comment, a line libssh2 cannot parse, then the recorded (different) key
            @cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDoesNotMatterWhatIsHere
            [127.0.0.1]:\(sshd.port) \(try publicKeyLine(impostor + ".pub"))

            """.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let expected = try sshKeyFingerprint(impostor + ".pub")
        let actual = try sshd.hostKeyFingerprint()
        #expect(expected != actual)

        for policy in [SSHTarget.HostKeyPolicy.strict, .acceptNew] {
            let error = #expect(throws: TransportError.self) {
                _ = try SSHTransport(hostName: "db1", target: sshd.target(knownHostsFile: knownHosts, policy: policy))
            }
            #expect(error == .hostKeyMismatch(host: "db1", expected: expected, actual: actual, knownHostsFile: knownHosts))
            #expect(error?.description.contains(expected) == true && error?.description.contains(actual) == true)
        }
        // accept-new never overwrites a recorded key.
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).contains(try publicKeyLine(impostor + ".pub")))
    }

    @Test func hashedKnownHostsEntriesMatch() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let hashed = sshd.directory + "/known_hosts_hashed"
        try FileManager.default.copyItem(atPath: sshd.knownHostsFile, toPath: hashed)
        try runTool("/usr/bin/ssh-keygen", ["-q", "-H", "-f", hashed])
        let text = try String(contentsOfFile: hashed, encoding: .utf8)
        #expect(text.hasPrefix("|1|"))
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target(knownHostsFile: hashed))
        #expect(try ssh.run("echo ok").stdout == "ok\n")
        ssh.close()
    }

    @Test func ed25519AndRSAKeysWithAndWithoutPubFileAndWrongKeyFails() throws {
        let sshd = try SSHD(withRSAClientKey: true)
        defer { sshd.stop() }
        let rsa = try #require(sshd.rsaClientKey)
        // The private key alone: libssh2 derives the public half.
        let bare = sshd.directory + "/bare_ed25519"
        try FileManager.default.copyItem(atPath: sshd.clientKey, toPath: bare)
        for key in [sshd.clientKey, rsa, bare] {
            let ssh = try SSHTransport(hostName: "h1", target: sshd.target(keyFiles: [key]))
            #expect(try ssh.run("whoami").stdout == "root\n")
            ssh.close()
        }
        // A stranger's key first, then a good one: the second is used.
        let stranger = sshd.directory + "/stranger"
        try generateSSHKey(type: "ed25519", at: stranger)
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target(keyFiles: [stranger, sshd.clientKey]))
        ssh.close()

        let error = #expect(throws: TransportError.self) {
            _ = try SSHTransport(hostName: "h1", target: sshd.target(keyFiles: [stranger, sshd.directory + "/absent"]))
        }
        #expect(error?.isUnreachable == true)
        #expect(error?.description.contains("authentication as root failed") == true)
        #expect(error?.description.contains("absent: no such file") == true)
    }

    @Test func sshAgentIdentityIsUsed() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let socket = sshd.directory + "/agent.sock"
        let agent = try Daemon(name: "ssh-agent", executable: "/usr/bin/ssh-agent", arguments: ["-D", "-a", socket],
                               logPath: sshd.directory + "/agent.log")
        defer { agent.stop(grace: 2) }
        #expect(waitUntil(timeout: 5) { FileManager.default.fileExists(atPath: socket) })
        try runTool("/usr/bin/ssh-add", ["-q", sshd.clientKey], environment: ["SSH_AUTH_SOCK": socket])

        let previous = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        setenv("SSH_AUTH_SOCK", socket, 1)
        defer { if let previous { setenv("SSH_AUTH_SOCK", previous, 1) } else { unsetenv("SSH_AUTH_SOCK") } }
        // No key file that works: only the agent can let us in.
        let ssh = try SSHTransport(hostName: "h1", target: sshd.target(keyFiles: [sshd.directory + "/absent"]))
        #expect(try ssh.run("echo agent").stdout == "agent\n")
        ssh.close()
    }

    @Test func closedPortAndSilentEndpointsAreUnreachableWithinTheTimeout() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let closedPort = try freePort()
        var start = Date()
        let refused = #expect(throws: TransportError.self) {
            var target = sshd.target(connectTimeout: 10)
            target.port = closedPort
            _ = try SSHTransport(hostName: "gone", target: target)
        }
        #expect(refused?.isUnreachable == true)
        #expect(refused?.description.contains("Connection refused") == true)
        // Refused at once, not after the 10 s timeout (the margin is for a loaded machine).
        #expect(Date().timeIntervalSince(start) < 5)

        // A listener that never accepts: the first connection lands in its queue and never gets a
        // banner (handshake deadline); with the queue full the next SYN is dropped (connect deadline).
        let listener = try silentListener()
        defer { close(listener.fd) }
        for expectedReason in ["handshake timed out", "connect timed out"] {
            start = Date()
            let silent = #expect(throws: TransportError.self) {
                var target = sshd.target(connectTimeout: 1)
                target.port = listener.port
                _ = try SSHTransport(hostName: "mute", target: target)
            }
            let elapsed = Date().timeIntervalSince(start)
            #expect(silent?.isUnreachable == true)
            #expect(silent?.description.contains(expectedReason) == true, "\(String(describing: silent))")
            // Bounded by the 1 s timeout (without it: the kernel's ~2 min SYN retries, or forever
            // waiting for a banner); the upper margin is for a loaded machine, not a speed claim.
            #expect(elapsed >= 0.9 && elapsed < 5, "gave up after \(elapsed) s")
        }
    }
}

/// A TCP socket on 127.0.0.1 listening with the smallest backlog and never accepting.
func silentListener() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, len) == 0 && listen(fd, 0) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    guard ok else { close(fd); throw FixtureError("silent listener: \(String(cString: strerror(errno)))") }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}
