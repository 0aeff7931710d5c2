import Foundation

/// How to reach one host over SSH, resolved from its inventory variables
/// (`ansible_host`, `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`,
/// `ssh_known_hosts_file`, `host_key_checking`).
public struct SSHTarget: Sendable, Equatable {
    /// What to do with a host key that known_hosts does not have yet. A key that differs from the
    /// recorded one is refused under every policy.
    public enum HostKeyPolicy: String, Sendable {
        /// Refuse unknown keys (the default, like `StrictHostKeyChecking yes`).
        case strict
        /// Record an unknown key in known_hosts and go on (`accept-new`).
        case acceptNew = "accept-new"
    }

    public var address: String
    public var port: Int
    public var user: String
    /// Private key files tried in order; when empty, ssh-agent ($SSH_AUTH_SOCK) and then
    /// ~/.ssh/id_ed25519 and ~/.ssh/id_rsa are tried.
    public var privateKeyFiles: [String]
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    /// Seconds to wait for TCP connect + handshake before calling the host unreachable.
    public var connectTimeout: Double
    /// Seconds between keepalive messages on an idle session (0 = off).
    public var keepaliveInterval: Int
    /// Commands go to one long-lived shell per host instead of an exec channel each
    /// (the default; `provision_persistent_shell: false` turns it off, see docs/playbooks.md "SSH transport").
    public var persistentShell: Bool

    public init(address: String, port: Int = 22, user: String, privateKeyFiles: [String] = [],
                knownHostsFile: String, hostKeyPolicy: HostKeyPolicy = .strict,
                connectTimeout: Double = 10, keepaliveInterval: Int = 15, persistentShell: Bool = true) {
        self.address = address
        self.port = port
        self.user = user
        self.privateKeyFiles = privateKeyFiles
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.persistentShell = persistentShell
    }
}
