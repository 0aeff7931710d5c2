import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local lab of systemd-nspawn hosts declared by an inventory: bring it up, inject faults
/// (kill, stop, partition), tear it down. Every method is safe to call from another command or a
/// test; teardown acts only on what lab.json and the hosts' record.json say was created.
public final class Lab {
    public let spec: LabSpec
    public let layout: LabLayout
    /// Progress lines (the CLI prints them; tests may collect them).
    public var log: (String) -> Void
    /// The inventory this lab was loaded from (absolute), for the watchdog server it starts.
    public var inventoryPath: String?
    var network: LabNetwork { LabNetwork(layout: layout) }

    public init(spec: LabSpec, log: @escaping (String) -> Void = { print($0) }) {
        self.spec = spec
        self.layout = LabLayout(spec)
        self.log = log
    }

    // MARK: up

    /// Builds what is missing (image, repo, bridge, disks) and boots every host not running.
    @discardableResult
    public func up(sshTimeout: Double = 60) throws -> LabUpReport {
        try Self.checkPrerequisites()
        let started = Date()
        var report = LabUpReport(lab: spec.name)
        // Refuse a clashing network or bridge name before anything is built or recorded.
        let existed = FileManager.default.fileExists(atPath: layout.labRecordPath)
        if spec.joins != nil { try checkJoinedLab() }
        else if !LabNetwork.linkExists(spec.bridge) { try network.checkAddressesFree() } else if !existed {
            _ = try network.ensureBridge(owned: false)  // throws: a link of that name is not ours
        }
        report.imageBuildSeconds = try BaseImage.ensure(layout, log: log)
        report.repoSeconds = try OfflineRepo.ensure(layout, log: log)
        let owned = try recordLab()
        let labKey = try HostKey.ensure(at: layout.privateKey, comment: "provision-lab-\(spec.name)")
        if spec.joins == nil { report.created += try network.ensureBridge(owned: owned) }
        try ensureWatchdogServer()
        var booted: [HostRecord] = []
        for host in spec.hosts {
            if let r = RecordStore.load(HostRecord.self, from: layout.recordPath(host.name)), LabMachine.isRunning(r) {
                report.hosts.append((host.name, "running (left alone)"))
                continue
            }
            let disk = HostDisk(layout: layout, host: host)
            let isNew = !disk.exists
            try disk.mount()
            let hostKey = try HostKey.ensure(at: "\(layout.hostKeyDir(host.name))/ssh_host_ed25519_key",
                                             comment: "root@\(host.name)")
            if isNew {
                try disk.personalize(allHosts: spec.hosts, authorizedKey: labKey.publicKey, hostKey: hostKey)
            }
            booted.append(try boot(host))
            report.hosts.append((host.name, isNew ? "created" : "started (disk kept)"))
        }
        try writeKnownHosts()
        try waitForSSH(booted, timeout: sshTimeout)
        report.totalSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// Records the lab (lab.json) before creating anything; returns whether the lab existed.
    private func recordLab() throws -> Bool {
        try FileManager.default.createDirectory(atPath: layout.stateDir, withIntermediateDirectories: true)
        let previous = RecordStore.load(LabRecord.self, from: layout.labRecordPath)
        if let previous, previous.bridge != spec.bridge || previous.network != spec.network.description {
            throw LabError("lab \(spec.name) exists with bridge \(previous.bridge) on \(previous.network); the inventory now says \(spec.bridge) on \(spec.network): run `provision lab destroy` first")
        }
        let hosts = Array(Set(previous?.hosts ?? []).union(spec.hosts.map(\.name))).sorted()
        try RecordStore.save(LabRecord(name: spec.name, bridge: spec.bridge, network: spec.network.description,
                                       nftTable: layout.nftTable, hosts: hosts), to: layout.labRecordPath)
        return previous != nil
    }

    /// Network, disk mount and container for one host whose disk exists; records the PIDs.
    private func boot(_ host: LabHostSpec) throws -> HostRecord {
        try network.ensureHostLink(host)
        try HostDisk(layout: layout, host: host).mount()
        var record = HostRecord(host: host.name, address: host.address.description, veth: layout.veth(host.name),
                                netns: layout.netns(host.name), root: layout.rootDir(host.name),
                                nspawn: nil, initProcess: nil, partitioned: network.isPartitioned(veth: layout.veth(host.name)))
        try RecordStore.save(record, to: layout.recordPath(host.name))
        let (nspawn, initProcess) = try LabMachine.boot(layout: layout, host: host)
        record.nspawn = nspawn
        record.initProcess = initProcess
        try RecordStore.save(record, to: layout.recordPath(host.name))
        return record
    }

    private func waitForSSH(_ records: [HostRecord], timeout: Double) throws {
        var failed: [String] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: records.count) { i in
            if !LabMachine.waitForSSH(records[i].address, timeout: timeout) {
                lock.lock(); failed.append(records[i].host); lock.unlock()
            }
        }
        if let host = failed.sorted().first {
            throw LabError("host \(host): sshd did not answer on \(try spec.host(host).address):22 within \(Int(timeout))s; console log \(layout.consoleLog(host)):\n\(ControlShell.tail(of: layout.consoleLog(host), lines: 15))")
        }
    }

    /// One line per host with both its name and address, so strict checking works either way.
    private func writeKnownHosts() throws {
        var text = ""
        for host in spec.hosts {
            let key = try HostKey.ensure(at: "\(layout.hostKeyDir(host.name))/ssh_host_ed25519_key", comment: "root@\(host.name)")
            text += "\(host.address),\(host.name) \(key.publicKeyBody)\n"
        }
        try BaseImage.write(text, to: layout.knownHosts, mode: 0o644)
    }

    // MARK: faults and single hosts

    /// Clean poweroff (systemd shuts down); disk, mount and links stay for `start`.
    public func stop(host name: String) throws {
        var r = try runningRecord(name)
        try LabMachine.powerOff(r)
        r.nspawn = nil; r.initProcess = nil
        try RecordStore.save(r, to: layout.recordPath(name))
    }

    /// Pulled plug: SIGKILL of the container's recorded init; nothing inside gets to clean up.
    public func kill(host name: String) throws {
        var r = try runningRecord(name)
        try LabMachine.pullPlug(r)
        try network.resetHostInterface(try spec.host(name), up: false)
        r.nspawn = nil; r.initProcess = nil
        try RecordStore.save(r, to: layout.recordPath(name))
    }

    /// Boots a stopped or killed host on its existing disk and waits for sshd.
    public func start(host name: String, sshTimeout: Double = 60) throws {
        try Self.checkPrerequisites()
        let host = try spec.host(name)
        guard HostDisk(layout: layout, host: host).exists else {
            throw LabError("host \(name): lab \(spec.name) has no disk for it; run `provision lab up` first")
        }
        if let r = RecordStore.load(HostRecord.self, from: layout.recordPath(name)), LabMachine.isRunning(r) {
            log("\(name): already running"); return
        }
        if spec.joins != nil { try checkJoinedLab() } else { _ = try network.ensureBridge(owned: true) }
        try ensureWatchdogServer()
        let record = try boot(host)
        try waitForSSH([record], timeout: sshTimeout)
    }

    /// Drops every frame between the host and the other lab hosts (the control machine still
    /// reaches it). Survives the host's restarts; `heal` undoes it.
    public func partition(host name: String) throws {
        var r = try existingRecord(name)
        try network.setPartitioned(veth: r.veth, true)
        r.partitioned = true
        try RecordStore.save(r, to: layout.recordPath(name))
    }

    public func heal(host name: String) throws {
        var r = try existingRecord(name)
        try network.setPartitioned(veth: r.veth, false)
        r.partitioned = false
        try RecordStore.save(r, to: layout.recordPath(name))
    }

    // MARK: whole lab

    /// Powers every host off and removes mounts, links, bridge and nft tables; disks stay, so
    /// the next `up` boots the same hosts.
    public func down() throws {
        try Self.checkRoot()
        guard let lab = RecordStore.load(LabRecord.self, from: layout.labRecordPath) else {
            log("lab \(spec.name): nothing to bring down (no \(layout.labRecordPath))"); return
        }
        stopWatchdogServer()  // first: it must not power a host back on while the lab goes down
        let records = lab.hosts.compactMap { RecordStore.load(HostRecord.self, from: layout.recordPath($0)) }
        var errors: [String] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: records.count) { i in
            do { try LabMachine.powerOff(records[i]) } catch {
                lock.lock(); errors.append("\(error)"); lock.unlock()
            }
        }
        if !errors.isEmpty { throw LabError(errors.joined(separator: "\n")) }
        for var r in records {
            try releaseHost(r)
            r.nspawn = nil; r.initProcess = nil; r.partitioned = false
            try RecordStore.save(r, to: layout.recordPath(r.host))
        }
        if spec.joins == nil { LabNetwork.removeShared(bridge: lab.bridge, nftTable: lab.nftTable) }
    }

    /// Kills every host and removes its disk, mount and links, the bridge, the nft tables and the
    /// lab's state directory. `removeCache` also deletes the cached image and repository.
    public func destroy(removeCache: Bool = false) throws {
        try Self.checkRoot()
        let lab = RecordStore.load(LabRecord.self, from: layout.labRecordPath)
        stopWatchdogServer()
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: "\(layout.stateDir)/hosts")) ?? []
        for name in Set(dirs).union(lab?.hosts ?? []).sorted() {
            if let r = RecordStore.load(HostRecord.self, from: layout.recordPath(name)) {
                if LabMachine.isRunning(r) { try LabMachine.pullPlug(r) }
                try releaseHost(r)
            }
        }
        if let lab, spec.joins == nil { LabNetwork.removeShared(bridge: lab.bridge, nftTable: lab.nftTable) }
        try removeTree(layout.stateDir)
        if removeCache {
            let others = ((try? FileManager.default.contentsOfDirectory(atPath: spec.stateRoot)) ?? []).filter { $0 != spec.name }
            guard others.isEmpty else {
                throw LabError("kept the cached image: other labs (\(others.joined(separator: ", "))) still use it; destroy them first")
            }
            try removeTree(layout.imageDir)
            try removeTree(layout.repoDir)
        }
    }

    /// Unmounts the host's disk and deletes its namespace and veth.
    private func releaseHost(_ r: HostRecord) throws {
        for m in Mounts.targets().filter({ $0 == r.root || $0.hasPrefix(r.root + "/") }).reversed() {
            _ = try? ControlShell.run(["umount", m], allowFailure: true)
        }
        if Mounts.isMounted(r.root) { throw LabError("host \(r.host): cannot unmount \(r.root)") }
        network.removeHostLink(netns: r.netns, veth: r.veth)
    }

    /// rm -rf that refuses while anything below is mounted (an overlay's lower dir is the image).
    private func removeTree(_ dir: String) throws {
        guard FileManager.default.fileExists(atPath: dir) else { return }
        if Mounts.anyUnder(dir) { throw LabError("not removing \(dir): something below it is still mounted") }
        try ControlShell.run(["rm", "-rf", "--one-file-system", dir])
    }

    // MARK: helpers

    /// `lab.join`: the other lab is up on the same bridge and network, and none of its hosts has
    /// one of this lab's addresses.
    func checkJoinedLab() throws {
        guard let other = spec.joins, let path = layout.joinedLabRecordPath else { return }
        guard let joined = RecordStore.load(LabRecord.self, from: path), LabNetwork.linkExists(joined.bridge) else {
            throw LabError("lab \(spec.name): lab.join: lab \(other) is not up (no \(path) or its bridge is gone); run `provision lab up` on its inventory first")
        }
        guard joined.bridge == spec.bridge, joined.network == spec.network.description else {
            throw LabError("lab \(spec.name): lab.join: lab \(other) runs bridge \(joined.bridge) on \(joined.network); this inventory says \(spec.bridge) on \(spec.network): make lab.network (and lab.bridge) match")
        }
        for name in joined.hosts {
            guard let r = RecordStore.load(HostRecord.self, from: "\(spec.stateRoot)/\(other)/hosts/\(name)/record.json") else { continue }
            if let mine = spec.hosts.first(where: { $0.address.description == r.address }) {
                throw LabError("lab \(spec.name): host \(mine.name): ansible_host \(r.address) is host \(name)'s of lab \(other)")
            }
        }
    }

    func existingRecord(_ name: String) throws -> HostRecord {
        _ = try spec.host(name)
        try Self.checkRoot()
        guard let r = RecordStore.load(HostRecord.self, from: layout.recordPath(name)) else {
            throw LabError("host \(name): lab \(spec.name) has not created it; run `provision lab up` first")
        }
        return r
    }

    func runningRecord(_ name: String) throws -> HostRecord {
        let r = try existingRecord(name)
        guard LabMachine.isRunning(r) else { throw LabError("host \(name) is not running") }
        return r
    }

    static func checkRoot() throws {
        if geteuid() != 0 { throw LabError.notRoot() }
    }

    static func checkPrerequisites() throws {
        try checkRoot()
        for (tool, package) in [("systemd-nspawn", "systemd-container"), ("ip", "iproute2"), ("nft", "nftables"),
                                ("ssh-keygen", "openssh-client"), ("apt-ftparchive", "apt-utils")]
        where !ControlShell.has(tool) {
            throw LabError.missingTool(tool, package: package)
        }
    }
}
