import EmulatedWatchdog
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `lab.watchdog: true`: every host gets an emulated hardware watchdog. The device is a FIFO in
/// the host's state dir, bound into the container at /dev/watchdog; one server process per lab
/// (`provision lab watchdog-serve`, started detached by `up`/`start`, stopped by PID by
/// `down`/`destroy`) reads every FIFO (protocol: EmulatedWatchdogDevice) and power-cycles a host
/// whose armed device went unfed past its timeout, exactly as `lab kill` then `lab start`.
/// Like hardware, a device dies with its host: a host that is off, or booted again since the
/// device was armed (`lab kill`/`stop`/`start` by hand), counts as disarmed.
public struct WatchdogServerRecord: Codable, Equatable, Sendable {
    public var process: ProcessRef
    public var inventory: String
}

extension Lab {
    /// Makes every host's FIFO and starts the server unless it runs (no-op without lab.watchdog).
    func ensureWatchdogServer() throws {
        guard spec.watchdog else { return }
        for host in spec.hosts {
            try FileManager.default.createDirectory(atPath: layout.hostDir(host.name), withIntermediateDirectories: true)
            do { try EmulatedWatchdogDevice.makeFIFO(layout.watchdogDevice(host.name)) } catch { throw LabError("lab.watchdog: \(error)") }
        }
        if let r = RecordStore.load(WatchdogServerRecord.self, from: layout.watchdogRecordPath), r.process.isAlive { return }
        guard let inventory = inventoryPath else {
            throw LabError("lab \(spec.name): lab.watchdog needs the lab loaded from its inventory (Lab(inventory:)) to start the watchdog server")
        }
        var argv = [try LabWatchdog.provisionExecutable(), "lab", "watchdog-serve", inventory]
        if spec.stateRoot != LabSpec.defaultStateRoot { argv += ["--state-root", spec.stateRoot] }
        if spec.cacheRoot != LabSpec.defaultCacheRoot { argv += ["--cache-root", spec.cacheRoot] }
        let pid = try DetachedSpawn.start(argv, logPath: layout.watchdogLog)
        guard let ref = ProcessRef.of(pid) else {
            throw LabError("lab \(spec.name): the watchdog server did not start; see \(layout.watchdogLog):\n\(ControlShell.tail(of: layout.watchdogLog, lines: 10))")
        }
        try RecordStore.save(WatchdogServerRecord(process: ref, inventory: inventory), to: layout.watchdogRecordPath)
        // Hosts booting next arm their devices only once an agent leads; the server opens the FIFOs at once.
        log("watchdog server started (PID \(pid)), log \(layout.watchdogLog)")
    }

    /// SIGTERM to the recorded server (SIGKILL after 5 s); forgets it.
    func stopWatchdogServer() {
        guard let r = RecordStore.load(WatchdogServerRecord.self, from: layout.watchdogRecordPath) else { return }
        if r.process.isAlive {
            Glibc.kill(r.process.pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while r.process.isAlive && Date() < deadline { usleep(20_000) }
            if r.process.isAlive { Glibc.kill(r.process.pid, SIGKILL) }
        }
        unlink(layout.watchdogRecordPath)
    }

    /// The server's loop (`provision lab watchdog-serve`); runs until killed. `note` gets one line per event.
    public func serveWatchdogs(pollInterval: Double = 0.1, note: @escaping (String) -> Void) throws -> Never {
        var devices: [String: EmulatedWatchdogDevice] = [:]
        var boots: [String: ProcessRef] = [:]
        for host in spec.hosts {
            do { devices[host.name] = try EmulatedWatchdogDevice(path: layout.watchdogDevice(host.name)) } catch {
                throw LabError("lab.watchdog: \(error)")
            }
            boots[host.name] = RecordStore.load(HostRecord.self, from: layout.recordPath(host.name))?.initProcess
        }
        note("watching \(spec.hosts.count) emulated watchdogs of lab \(spec.name)")
        let restarts = DispatchQueue(label: "watchdog-restarts", attributes: .concurrent)
        while true {
            let now = Date().timeIntervalSince1970
            for host in spec.hosts {
                guard let device = devices[host.name] else { continue }
                let record = RecordStore.load(HostRecord.self, from: layout.recordPath(host.name))
                if record?.initProcess != boots[host.name] {
                    // Powered off, killed or booted by someone else: the old device state died with that boot.
                    if device.isArmed { note("\(host.name): power state changed; watchdog disarmed") }
                    device.reset()
                    boots[host.name] = record?.initProcess
                }
                guard let overdue = device.poll(now: now) else { continue }
                device.reset()
                guard let record, LabMachine.isRunning(record) else {
                    note("\(host.name): watchdog expired but the host is off; disarmed"); continue
                }
                note("\(host.name): watchdog not fed for \(Int(overdue)) s: power-cycling")
                do { try self.kill(host: host.name) } catch { note("\(host.name): power-cycle: kill failed: \(error)"); continue }
                boots[host.name] = nil
                restarts.async { [self] in
                    do {
                        try start(host: host.name)
                        note("\(host.name): booted again after the watchdog reset")
                    } catch { note("\(host.name): power-cycle: start failed: \(error)") }
                }
            }
            usleep(UInt32(pollInterval * 1_000_000))
        }
    }
}

enum LabWatchdog {
    /// The `provision` executable to run the server with: PROVISION_BIN, this process if it is
    /// `provision`, else the one `swift build` put next to the running test (lab tests use the API).
    static func provisionExecutable() throws -> String {
        if let env = ProcessInfo.processInfo.environment["PROVISION_BIN"] { return env }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if (exe as NSString).lastPathComponent == "provision" { return exe }
        var dir = (exe as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" {
            let candidate = dir + "/provision"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        throw LabError("lab.watchdog: cannot find the provision executable to run the watchdog server (set PROVISION_BIN)")
    }
}
