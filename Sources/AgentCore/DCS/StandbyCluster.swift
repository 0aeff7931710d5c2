// Patroni's standby_cluster (bootstrap.dcs and the `config` key): this cluster replicates from a
// remote primary; its leader is a standby leader that never promotes while the section is there.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public struct StandbyCluster: Equatable, Sendable {
    /// libpq host list: "10.0.0.1" or "a,b" (tried in order; with several, the read-write one is used).
    public var host: String?
    /// "5432", or one port per host ("5432,5433").
    public var port: String?
    /// The slot on the remote primary (nil: none; the remote cluster must keep it).
    public var primarySlotName: String?
    public var restoreCommand: String?
    public var archiveCleanupCommand: String?
    /// Names of postgresql.<name> replica methods (or basebackup) that make the standby leader's copy.
    public var createReplicaMethods: [String] = []
    public var recoveryMinApplyDelay: String?
    public init(host: String? = nil, port: String? = nil) { self.host = host; self.port = port }

    /// What a standby leader's pgha.conf records as its upstream: a changed host or port is followed.
    public var upstreamName: String { "(standby_cluster \(host ?? "-"):\(port ?? "5432"))" }
    public static func isRemote(_ upstream: String?) -> Bool { upstream?.hasPrefix("(standby_cluster ") == true }
    /// How operators read it in the log.
    public var remote: String { host.map { "\($0):\(port ?? "5432")" } ?? "restore_command" }

    /// Patroni's keys, for the `config` key.
    public var json: [String: Any] {
        var d: [String: Any] = [:]
        if let host { d["host"] = host }
        if let port { d["port"] = Int(port).map { $0 as Any } ?? port }
        if let primarySlotName { d["primary_slot_name"] = primarySlotName }
        if let restoreCommand { d["restore_command"] = restoreCommand }
        if let archiveCleanupCommand { d["archive_cleanup_command"] = archiveCleanupCommand }
        if !createReplicaMethods.isEmpty { d["create_replica_methods"] = createReplicaMethods }
        if let recoveryMinApplyDelay { d["recovery_min_apply_delay"] = Int(recoveryMinApplyDelay).map { $0 as Any } ?? recoveryMinApplyDelay }
        return d
    }

    static let keys: Set<String> = ["host", "port", "primary_slot_name", "restore_command", "archive_cleanup_command",
                                    "create_replica_methods", "recovery_min_apply_delay"]

    /// Reads the section from the `config` key (nil: absent, null, or neither host nor restore_command).
    public static func parse(_ any: Any?) -> StandbyCluster? {
        guard let d = any as? [String: Any], problem(d) == nil else { return nil }
        func text(_ k: String) -> String? { d[k].map { v in JSONNumber.text(v) ?? "\(v)" } }
        var s = StandbyCluster(host: text("host"), port: text("port"))
        s.primarySlotName = text("primary_slot_name")
        s.restoreCommand = text("restore_command")
        s.archiveCleanupCommand = text("archive_cleanup_command")
        s.createReplicaMethods = (d["create_replica_methods"] as? [Any])?.map { "\($0)" } ?? []
        s.recoveryMinApplyDelay = text("recovery_min_apply_delay")
        return s
    }

    /// What is wrong with a standby_cluster object, naming the key; nil when it is usable.
    public static func problem(_ d: [String: Any]) -> String? {
        if d["host"] == nil && d["restore_command"] == nil { return "standby_cluster: needs host or restore_command" }
        for k in ["host", "primary_slot_name", "restore_command", "archive_cleanup_command"] where d[k] != nil && !(d[k] is String) {
            return "standby_cluster.\(k): expected a string"
        }
        if let p = d["port"] {
            let ports = JSONNumber.text(p).map { [$0] } ?? (p as? String)?.split(separator: ",").map { $0.trimmingSpaces() } ?? []
            if ports.isEmpty || !ports.allSatisfy({ Int($0).map { (1...65535).contains($0) } ?? false }) {
                return "standby_cluster.port: expected a port or a comma-separated list of ports, got \(p)"
            }
        }
        if let m = d["create_replica_methods"], !((m as? [Any])?.allSatisfy { $0 is String } ?? false) {
            return "standby_cluster.create_replica_methods: expected a list of method names"
        }
        if let v = d["recovery_min_apply_delay"], !(JSONNumber.isNumber(v) || v is Bool || v is String) || ConfigEdit.isBool(v) {
            return "standby_cluster.recovery_min_apply_delay: expected a time (\"1h\", 3600000)"
        }
        return nil
    }
}
