import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The base image every lab host's overlay sits on: a minimal Debian of the lab's release with
/// systemd and sshd, bootstrapped once from the machine's own mirror and cached.
enum BaseImage {
    /// What debootstrap adds to minbase: an init, a bus, sshd, `ip`, and what admins expect.
    /// No Python: the engine needs only sshd and a POSIX shell on its targets.
    static let packages = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo",
                           "ca-certificates", "locales", "procps", "iputils-ping", "less"]

    /// Builds the image unless it is cached; returns the seconds spent building (0 when cached).
    static func ensure(_ layout: LabLayout, log: (String) -> Void) throws -> Double {
        let fm = FileManager.default
        let complete = "\(layout.imageDir)/.complete"
        if fm.fileExists(atPath: complete) { return 0 }
        try fm.createDirectory(atPath: layout.imageDir, withIntermediateDirectories: true)
        let lock = try FileLock("\(layout.imageDir)/.lock")
        defer { lock.unlock() }
        if fm.fileExists(atPath: complete) { return 0 }  // another process built it meanwhile
        guard ControlShell.has("debootstrap") else { throw LabError.missingTool("debootstrap", package: "debootstrap") }
        let mirror = try AptSources.mirror(for: layout.spec.release)
        let started = Date()
        let building = "\(layout.imageDir)/rootfs.building"
        let logPath = "\(layout.imageDir)/build.log"
        try? fm.removeItem(atPath: logPath)
        _ = try? ControlShell.run(["rm", "-rf", "--one-file-system", building])
        log("building the \(layout.spec.release) base image from \(mirror) (log: \(logPath))")
        do {
            try ControlShell.runLogged(["debootstrap", "--variant=minbase",
                                        "--include=" + packages.joined(separator: ","),
                                        layout.spec.release, building, mirror], logPath: logPath)
            try configure(building, logPath: logPath)
        } catch let error as LabError {
            throw LabError("image build failed: \(error.message)")
        }
        _ = try? ControlShell.run(["rm", "-rf", "--one-file-system", layout.imageRoot])
        try fm.moveItem(atPath: building, toPath: layout.imageRoot)
        _ = fm.createFile(atPath: complete, contents: Data())
        return Date().timeIntervalSince(started)
    }

    /// Makes the bootstrapped tree a lab host template: no shared host keys, the offline repo as
    /// the only apt source, a UTF-8 locale, an empty machine-id (each host gets its own).
    private static func configure(_ root: String, logPath: String) throws {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: "\(root)/etc/ssh")) ?? [] where name.hasPrefix("ssh_host_") {
            try fm.removeItem(atPath: "\(root)/etc/ssh/\(name)")
        }
        try write("deb [trusted=yes] file:\(LabLayout.repoMountPoint) ./\n", to: "\(root)/etc/apt/sources.list")
        try? fm.removeItem(atPath: "\(root)/etc/apt/sources.list.d")
        try fm.createDirectory(atPath: "\(root)/etc/apt/sources.list.d", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(root)\(LabLayout.repoMountPoint)", withIntermediateDirectories: true)
        try write("en_US.UTF-8 UTF-8\n", to: "\(root)/etc/locale.gen")
        try write("LANG=C.UTF-8\n", to: "\(root)/etc/default/locale")
        try ControlShell.runLogged(["chroot", root, "locale-gen"], logPath: logPath)
        try ControlShell.runLogged(["chroot", root, "apt-get", "clean"], logPath: logPath)
        try ControlShell.run(["sh", "-c", "rm -rf '\(root)'/var/lib/apt/lists/* '\(root)'/etc/resolv.conf"])
        try write("", to: "\(root)/etc/machine-id")
        try fm.createDirectory(atPath: "\(root)/etc/ssh/sshd_config.d", withIntermediateDirectories: true)
    }

    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: path)
        guard fm.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw LabError("cannot write \(path)")
        }
    }
}

/// An exclusive flock(2) on a file, so two `lab up`s never build the same cache at once.
final class FileLock {
    private let fd: Int32
    init(_ path: String) throws {
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LabError("cannot open lock \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX) == 0 else {
            close(fd)
            throw LabError("cannot lock \(path): \(String(cString: strerror(errno)))")
        }
    }
    func unlock() { close(fd) }
}
