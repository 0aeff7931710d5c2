import Foundation

/// Where a lab keeps things and what it names them on the control machine.
///
/// State (per lab, removed by `destroy`):
///   <stateRoot>/<lab>/lab.json                  what was created (bridge, nft tables, hosts)
///   <stateRoot>/<lab>/ssh/id_ed25519{,.pub}     the lab key (root's authorized_keys on every host)
///   <stateRoot>/<lab>/ssh/known_hosts           every host's key, for strict checking
///   <stateRoot>/<lab>/hosts/<host>/{upper,work} the host's disk (overlay over the base image)
///   <stateRoot>/<lab>/hosts/<host>/root         the overlay mount nspawn boots
///   <stateRoot>/<lab>/hosts/<host>/record.json  recorded PIDs (nspawn, inner init), mount, links
///   <stateRoot>/<lab>/hosts/<host>/console.log  the host's console
///   <stateRoot>/<lab>/hosts/<host>/watchdog     the host's emulated /dev/watchdog (a FIFO; lab.watchdog)
///   <stateRoot>/<lab>/watchdog.json             the watchdog server's recorded PID (lab.watchdog)
///   <stateRoot>/<lab>/watchdog.log              what the watchdog server did (power cycles)
/// Cache (shared by all labs, kept by `destroy` unless --all):
///   <cacheRoot>/images/<release>/rootfs  (+ build.log, .complete)
///   <cacheRoot>/repo/<release>/          *.deb + Packages (the offline apt repository)
public struct LabLayout: Sendable {
    public let spec: LabSpec
    public init(_ spec: LabSpec) { self.spec = spec }

    public var stateDir: String { "\(spec.stateRoot)/\(spec.name)" }
    public var labRecordPath: String { "\(stateDir)/lab.json" }
    public var sshDir: String { "\(stateDir)/ssh" }
    public var privateKey: String { "\(sshDir)/id_ed25519" }
    public var knownHosts: String { "\(sshDir)/known_hosts" }
    public func hostDir(_ host: String) -> String { "\(stateDir)/hosts/\(host)" }
    public func upperDir(_ host: String) -> String { "\(hostDir(host))/upper" }
    public func workDir(_ host: String) -> String { "\(hostDir(host))/work" }
    public func rootDir(_ host: String) -> String { "\(hostDir(host))/root" }
    public func hostKeyDir(_ host: String) -> String { "\(hostDir(host))/hostkey" }
    public func recordPath(_ host: String) -> String { "\(hostDir(host))/record.json" }
    public func consoleLog(_ host: String) -> String { "\(hostDir(host))/console.log" }
    public func watchdogDevice(_ host: String) -> String { "\(hostDir(host))/watchdog" }
    public var watchdogRecordPath: String { "\(stateDir)/watchdog.json" }
    public var watchdogLog: String { "\(stateDir)/watchdog.log" }
    /// Where the emulated device appears inside every host.
    public static let watchdogMountPoint = "/dev/watchdog"

    public var imageDir: String { "\(spec.cacheRoot)/images/\(spec.release)" }
    public var imageRoot: String { "\(imageDir)/rootfs" }
    public var repoDir: String { "\(spec.cacheRoot)/repo/\(spec.release)" }

    /// Where the offline repository appears inside every host (bound read-only).
    public static let repoMountPoint = "/srv/lab-repo"

    /// The network namespace holding the host's interface (persists across container restarts,
    /// like a NIC's configuration): /run/netns/<name>.
    public func netns(_ host: String) -> String { "provision-\(spec.name)-\(host)" }
    public func veth(_ host: String) -> String { LabLayout.vethName(lab: spec.name, host: host) }
    /// nftables table (families bridge and inet) holding the lab's air gap and partitions.
    /// A lab that joins another uses that lab's tables (its partitions are on the shared bridge).
    public var nftTable: String { "provision_" + (spec.joins ?? spec.name).replacingOccurrences(of: "-", with: "_") }
    /// The state of the lab this one joins (`lab.join`).
    public var joinedLabRecordPath: String? { spec.joins.map { "\(spec.stateRoot)/\($0)/lab.json" } }

    /// Host side of a host's veth pair: `pl` + 4 hex of the lab name + `-` + host (≤ 15 chars),
    /// so two labs with the same host names never collide.
    static func vethName(lab: String, host: String) -> String {
        var h: UInt32 = 2166136261
        for b in lab.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let tag = String(format: "%04x", h & 0xffff)
        return "pl\(tag)-\(host.prefix(8))"
    }
}
