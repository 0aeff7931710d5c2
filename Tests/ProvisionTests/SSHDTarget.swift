import Fixtures
import Provision

extension SSHD {
    /// An SSHTarget reaching this sshd as root with its ed25519 client key (or `keyFiles`).
    func target(keyFiles: [String]? = nil, knownHostsFile: String? = nil,
                policy: SSHTarget.HostKeyPolicy = .strict, connectTimeout: Double = 5, persistentShell: Bool = false) -> SSHTarget {
        SSHTarget(address: address, port: port, user: user, privateKeyFiles: keyFiles ?? [clientKey],
                  knownHostsFile: knownHostsFile ?? self.knownHostsFile, hostKeyPolicy: policy,
                  connectTimeout: connectTimeout, persistentShell: persistentShell)
    }
}
