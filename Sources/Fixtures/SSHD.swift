// A real OpenSSH server on 127.0.0.1:<free port> for tests and benchmarks: its own host key,
// client keys, authorized_keys, known_hosts and pid file in a temp dir; never /etc/ssh's keys.
import Foundation
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Runs a tool to completion and returns its stdout+stderr; throws with its output when it fails.
/// Through `Spawn` (see there why not Foundation's Process).
@discardableResult
public func runTool(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let result: Spawn.Result
    do { result = try Spawn.run(executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment) } catch {
        throw FixtureError("spawn \(executable): \(error)")
    }
    let text = result.stdout + result.stderr
    guard result.status == 0 else {
        throw FixtureError("\(executable) \(arguments.joined(separator: " ")) failed (exit \(result.status)): \(text)")
    }
    return text
}

/// Runs `ssh-keygen` to make an unencrypted key pair at `path` (and `path.pub`).
public func generateSSHKey(type: String, at path: String, bits: Int? = nil) throws {
    var arguments = ["-q", "-t", type, "-N", "", "-C", "fixture", "-f", path]
    if let bits { arguments += ["-b", String(bits)] }
    try runTool("/usr/bin/ssh-keygen", arguments)
}

/// `SHA256:...` of a `.pub` file as `ssh-keygen -l` prints it.
public func sshKeyFingerprint(_ pubPath: String) throws -> String {
    let output = try runTool("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", pubPath])
    guard let fingerprint = output.split(separator: " ").dropFirst().first else {
        throw FixtureError("ssh-keygen -l printed nothing for \(pubPath)")
    }
    return String(fingerprint)
}

/// The `type base64` part of a `.pub` file (without the comment).
public func publicKeyLine(_ pubPath: String) throws -> String {
    let text = try String(contentsOfFile: pubPath, encoding: .utf8)
    return text.split(separator: " ").prefix(2).joined(separator: " ")
}

/// `/usr/sbin/sshd -D -e` as root on loopback. Clients log in as root with `clientKey`
/// (ed25519; `rsaClientKey` too when asked for). Stopped by PID in `stop()` / deinit.
public final class SSHD {
    public let directory: String
    public let port: Int
    public let address = "127.0.0.1"
    public let user = "root"
    public let hostKey: String
    /// The ed25519 private key authorized for root.
    public let clientKey: String
    /// An RSA (3072-bit) private key authorized for root, when `withRSAClientKey`. The server
    /// then also accepts ssh-rsa (SHA-1) signatures: libssh2 1.10 signs RSA user keys with
    /// nothing else, and OpenSSH ≥ 8.8 refuses them by default.
    public let rsaClientKey: String?
    /// known_hosts holding this server's `[127.0.0.1]:PORT` entry.
    public let knownHostsFile: String
    public let daemon: Daemon

    /// Starts the server and waits (≤ 10 s) until it accepts connections. `directory` defaults
    /// to a fresh temp dir, removed by `stop()` if the fixture made it. `withSFTP: false` leaves
    /// out the `Subsystem sftp` line (hardened servers), so file transfers must use exec channels.
    /// `port` nil takes a free one; a benchmark gives fixed ports to stay inside its range.
    public init(withRSAClientKey: Bool = false, withSFTP: Bool = true, directory: String? = nil, port fixedPort: Int? = nil) throws {
        let ownsDirectory = directory == nil
        let dir = try directory ?? makeTempDir("sshd")
        self.directory = dir
        self.removeOnStop = ownsDirectory
        port = try fixedPort ?? freePort()
        hostKey = dir + "/ssh_host_ed25519_key"
        clientKey = dir + "/id_ed25519"
        knownHostsFile = dir + "/known_hosts"
        rsaClientKey = withRSAClientKey ? dir + "/id_rsa" : nil

        if !FileManager.default.fileExists(atPath: hostKey) { try generateSSHKey(type: "ed25519", at: hostKey) }
        if !FileManager.default.fileExists(atPath: clientKey) { try generateSSHKey(type: "ed25519", at: clientKey) }
        var authorized = [try publicKeyLine(clientKey + ".pub")]
        if let rsaClientKey {
            if !FileManager.default.fileExists(atPath: rsaClientKey) {
                try generateSSHKey(type: "rsa", at: rsaClientKey, bits: 3072)
            }
            authorized.append(try publicKeyLine(rsaClientKey + ".pub"))
        }
        try (authorized.joined(separator: "\n") + "\n").write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)
        try "[\(address)]:\(port) \(try publicKeyLine(hostKey + ".pub"))\n"
            .write(toFile: knownHostsFile, atomically: true, encoding: .utf8)

        let config = """
            ListenAddress \(address):\(port)
            HostKey \(hostKey)
            PidFile \(dir)/sshd.pid
            AuthorizedKeysFile \(dir)/authorized_keys
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            SetEnv SHLVL=1
            PrintMotd no
            PrintLastLog no
            MaxStartups 100:30:200
            MaxSessions 50
            \(withSFTP ? "Subsystem sftp /usr/lib/openssh/sftp-server" : "")
            \(withRSAClientKey ? "PubkeyAcceptedAlgorithms +ssh-rsa" : "")

            """
        // SetEnv SHLVL=1: bash skips ~/.bashrc under sshd when it believes it is nested; root's
        // ~/.bashrc on these machines runs `pyenv init` (~0.2 s per command), which would swamp
        // what the tests and the benchmark measure.
        try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
        // sshd's privilege separation directory; Debian creates it only when its service starts.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        daemon = try Daemon(name: "sshd", executable: "/usr/sbin/sshd",
                            arguments: ["-D", "-e", "-f", dir + "/sshd_config"], logPath: dir + "/sshd.log")
        let port = self.port
        let daemon = self.daemon
        guard waitUntil(timeout: 10, { !daemon.isRunning || portAccepts(port) }), daemon.isRunning else {
            daemon.stop(grace: 1)
            throw FixtureError("sshd on port \(port) did not start:\n\(daemon.logTail())")
        }
    }

    private let removeOnStop: Bool

    /// The `ssh-keygen -l`-style SHA256 fingerprint of the server's host key.
    public func hostKeyFingerprint() throws -> String { try sshKeyFingerprint(hostKey + ".pub") }

    /// Ansible-style host variables that reach this server (for INI or YAML inventories).
    public var inventoryVariables: [(String, String)] {
        [("ansible_host", address), ("ansible_port", String(port)), ("ansible_user", user),
         ("ansible_ssh_private_key_file", clientKey), ("ssh_known_hosts_file", knownHostsFile)]
    }

    /// One INI inventory line: `name ansible_host=… ansible_port=… …`.
    public func inventoryLine(_ name: String) -> String {
        ([name] + inventoryVariables.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    }

    /// Stops sshd by its PID (sessions it forked end with their connections) and removes the
    /// temp dir it made.
    public func stop() {
        daemon.stop(grace: 5)
        if removeOnStop { removeTree(directory) }
    }

    deinit { stop() }
}
