import Foundation

/// Builds the transport for a host from its merged variables, like Ansible's connection vars:
/// `ansible_connection: local` → `LocalTransport`; otherwise SSH to `ansible_host` (default: the
/// inventory name) on `ansible_port` (22) as `ansible_user` (default: the current user, as
/// Ansible does), keys from `ansible_ssh_private_key_file`, known_hosts from
/// `ssh_known_hosts_file` (default `$HOME/.ssh/known_hosts`), `host_key_checking: accept-new`
/// to record unknown keys (default strict), `ansible_timeout` seconds to connect (default 10);
/// one long-lived shell per host unless `provision_persistent_shell` is false / no / 0 / off.
public enum Connector {
    public static func transport(forHost host: String, variables vars: [String: Any]) throws -> Transport {
        let connection = Values.string(vars["ansible_connection"] ?? vars["connection"] ?? "ssh")
        switch connection {
        case "local": return LocalTransport(hostName: host)
        case "ssh", "smart", "paramiko", "": return try SSHTransport(hostName: host, target: sshTarget(forHost: host, variables: vars))
        default: throw TransportError.unreachable(host: host, reason: "unsupported ansible_connection '\(connection)' (local or ssh)")
        }
    }

    public static func sshTarget(forHost host: String, variables vars: [String: Any]) -> SSHTarget {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        func str(_ k: String) -> String? {
            guard let v = vars[k], !(v is NSNull) else { return nil }
            let s = Values.string(v)
            return s.isEmpty ? nil : s
        }
        func expand(_ p: String) -> String { p.hasPrefix("~/") ? home + p.dropFirst(1) : p }
        var keys: [String] = []
        if let k = str("ansible_ssh_private_key_file") ?? str("ansible_private_key_file") { keys = [expand(k)] }
        let checking = str("host_key_checking") ?? str("ansible_host_key_checking") ?? "strict"
        let policy: SSHTarget.HostKeyPolicy = ["accept-new", "accept_new", "no", "false", "False"].contains(checking) ? .acceptNew : .strict
        return SSHTarget(
            address: str("ansible_host") ?? str("ansible_ssh_host") ?? host,
            port: str("ansible_port").flatMap { Int($0) } ?? 22,
            user: str("ansible_user") ?? str("ansible_ssh_user") ?? currentUser(),
            privateKeyFiles: keys,
            knownHostsFile: expand(str("ssh_known_hosts_file") ?? home + "/.ssh/known_hosts"),
            hostKeyPolicy: policy,
            connectTimeout: str("ansible_timeout").flatMap { Double($0) } ?? 10,
            persistentShell: !["false", "no", "0", "off"].contains((str("provision_persistent_shell") ?? "true").lowercased()))
    }

    /// The user this process runs as (Ansible's default remote user).
    public static func currentUser() -> String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }
}
