import Foundation

/// The lab's air-gapped apt repository: the offered packages and every dependency the base image
/// lacks, downloaded once on the control machine and bound read-only into each host as its only
/// apt source (`deb [trusted=yes] file:/srv/lab-repo ./`).
enum OfflineRepo {
    /// Ensures the repo holds `layout.spec.packages`; returns the seconds spent (0 when cached).
    static func ensure(_ layout: LabLayout, log: (String) -> Void) throws -> Double {
        let fm = FileManager.default
        let listPath = "\(layout.repoDir)/packages.txt"
        let wanted = Set(layout.spec.packages)
        func have() -> Set<String> {
            guard fm.fileExists(atPath: "\(layout.repoDir)/Packages"),
                  let text = try? String(contentsOfFile: listPath, encoding: .utf8) else { return [] }
            return Set(text.split(separator: "\n").map(String.init))
        }
        if wanted.isSubset(of: have()) { return 0 }
        try fm.createDirectory(atPath: layout.repoDir, withIntermediateDirectories: true)
        let lock = try FileLock("\(layout.repoDir)/.lock")
        defer { lock.unlock() }
        let present = have()
        if wanted.isSubset(of: present) { return 0 }
        guard ControlShell.has("apt-ftparchive") else { throw LabError.missingTool("apt-ftparchive", package: "apt-utils") }
        let all = wanted.union(present).sorted()
        let started = Date()
        let logPath = "\(layout.repoDir)/download.log"
        log("downloading \(all.joined(separator: " ")) and their dependencies into \(layout.repoDir)")
        try download(all, layout: layout, logPath: logPath)
        let index = try ControlShell.run(["sh", "-c", "cd '\(layout.repoDir)' && apt-ftparchive packages ."])
        try BaseImage.write(index.stdout, to: "\(layout.repoDir)/Packages")
        try BaseImage.write(all.joined(separator: "\n") + "\n", to: listPath)
        return Date().timeIntervalSince(started)
    }

    /// Resolves and downloads inside a throw-away overlay of the base image (so dependencies are
    /// computed against what the hosts already have), using the machine's network and mirror.
    private static func download(_ packages: [String], layout: LabLayout, logPath: String) throws {
        let fm = FileManager.default
        let scratch = "\(layout.spec.cacheRoot)/scratch-\(getpid())"
        let merged = "\(scratch)/merged"
        for d in ["upper", "work", "merged"] {
            try fm.createDirectory(atPath: "\(scratch)/\(d)", withIntermediateDirectories: true)
        }
        var mounted: [String] = []
        defer {
            for m in mounted.reversed() { _ = try? ControlShell.run(["umount", m], allowFailure: true) }
            if !Mounts.anyUnder(scratch) { _ = try? ControlShell.run(["rm", "-rf", "--one-file-system", scratch]) }
        }
        try ControlShell.run(["mount", "-t", "overlay", "overlay", "-o",
                              "lowerdir=\(layout.imageRoot),upperdir=\(scratch)/upper,workdir=\(scratch)/work", merged])
        mounted.append(merged)
        try ControlShell.run(["mount", "-t", "proc", "proc", "\(merged)/proc"])
        mounted.append("\(merged)/proc")
        let mirror = try AptSources.mirror(for: layout.spec.release)
        try BaseImage.write("deb \(mirror) \(layout.spec.release) main\n", to: "\(merged)/etc/apt/sources.list")
        if let resolv = fm.contents(atPath: "/etc/resolv.conf") {
            try? fm.removeItem(atPath: "\(merged)/etc/resolv.conf")
            _ = fm.createFile(atPath: "\(merged)/etc/resolv.conf", contents: resolv)
        }
        do {
            try ControlShell.runLogged(["chroot", merged, "apt-get", "update", "-q"], logPath: logPath)
            try ControlShell.runLogged(["chroot", merged, "apt-get", "install", "--download-only", "-y", "-q"] + packages,
                                       logPath: logPath)
        } catch let error as LabError {
            throw LabError("preparing the offline repository failed: \(error.message)")
        }
        let archives = "\(merged)/var/cache/apt/archives"
        for name in try fm.contentsOfDirectory(atPath: archives) where name.hasSuffix(".deb") {
            let dest = "\(layout.repoDir)/\(name)"
            if !fm.fileExists(atPath: dest) { try fm.copyItem(atPath: "\(archives)/\(name)", toPath: dest) }
        }
    }
}
