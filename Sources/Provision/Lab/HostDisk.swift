import Foundation

/// A lab host's disk: an overlay (copy-on-write) over the base image, mounted at hosts/<h>/root,
/// plus the per-host files written into it before its first boot.
struct HostDisk {
    let layout: LabLayout
    let host: LabHostSpec
    var root: String { layout.rootDir(host.name) }

    var exists: Bool { FileManager.default.fileExists(atPath: "\(layout.upperDir(host.name))/etc/hostname") }

    func mount() throws {
        let fm = FileManager.default
        for d in [layout.upperDir(host.name), layout.workDir(host.name), root] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        if Mounts.isMounted(root) { return }
        try ControlShell.run(["mount", "-t", "overlay", "overlay", "-o",
                              "lowerdir=\(layout.imageRoot),upperdir=\(layout.upperDir(host.name)),workdir=\(layout.workDir(host.name))",
                              root])
    }

    func unmount() throws {
        guard Mounts.isMounted(root) else { return }
        if try ControlShell.run(["umount", root], allowFailure: true).exitStatus != 0 {
            throw LabError("host \(host.name): cannot unmount \(root) (still in use?)")
        }
    }

    /// First boot preparation: identity, /etc/hosts, keys, sshd settings, apt index of the repo.
    func personalize(allHosts: [LabHostSpec], authorizedKey: String, hostKey: HostKey) throws {
        let w = BaseImage.write
        try w("\(host.name)\n", "\(root)/etc/hostname", 0o644)
        var hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        hosts += "\(layout.spec.network.gateway)\tcontrol\n"
        for h in allHosts { hosts += "\(h.address)\t\(h.name)\n" }
        try w(hosts, "\(root)/etc/hosts", 0o644)
        try w(Self.randomHex(16) + "\n", "\(root)/etc/machine-id", 0o444)
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(root)/root/.ssh", withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o700])
        try w(authorizedKey.hasSuffix("\n") ? authorizedKey : authorizedKey + "\n", "\(root)/root/.ssh/authorized_keys", 0o600)
        try w(hostKey.privateKey, "\(root)/etc/ssh/ssh_host_ed25519_key", 0o600)
        try w(hostKey.publicKey, "\(root)/etc/ssh/ssh_host_ed25519_key.pub", 0o644)
        try w("""
            # Written by provision lab: the per-host key the lab's known_hosts records; keys only.
            HostKey /etc/ssh/ssh_host_ed25519_key
            PasswordAuthentication no
            UseDNS no

            """, "\(root)/etc/ssh/sshd_config.d/provision-lab.conf", 0o644)
        try refreshAptIndex()
    }

    /// `apt-get update` against the offline repo, so `apt-get install` works on first boot.
    private func refreshAptIndex() throws {
        let repoMount = "\(root)\(LabLayout.repoMountPoint)"
        try FileManager.default.createDirectory(atPath: repoMount, withIntermediateDirectories: true)
        try ControlShell.run(["mount", "--bind", "-o", "ro", layout.repoDir, repoMount])
        defer { _ = try? ControlShell.run(["umount", repoMount], allowFailure: true) }
        try ControlShell.run(["chroot", root, "apt-get", "update", "-qq"])
    }

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// An ed25519 key pair made with ssh-keygen on the control machine.
struct HostKey {
    var privateKey: String
    var publicKey: String

    /// Loads the pair at `path` (+ .pub), generating it first if missing.
    static func ensure(at path: String, comment: String) throws -> HostKey {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard ControlShell.has("ssh-keygen") else { throw LabError.missingTool("ssh-keygen", package: "openssh-client") }
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            try ControlShell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
        }
        guard let priv = try? String(contentsOfFile: path, encoding: .utf8),
              let pub = try? String(contentsOfFile: path + ".pub", encoding: .utf8) else {
            throw LabError("cannot read the key pair \(path)")
        }
        return HostKey(privateKey: priv, publicKey: pub)
    }

    /// "ssh-ed25519 AAAA…" without the comment.
    var publicKeyBody: String {
        publicKey.split(separator: " ").prefix(2).joined(separator: " ")
    }
}
