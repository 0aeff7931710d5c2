// Patroni's health-check semantics: path + query → 200 or 503, judged from the cached snapshot only.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public enum HealthChecks {
    /// Every path answered with a status code (GET, HEAD and OPTIONS).
    public static let paths = ["/", "/primary", "/master", "/read-write", "/leader", "/replica", "/read-only",
                               "/health", "/liveness", "/readiness", "/sync", "/synchronous", "/async", "/asynchronous",
                               "/standby-leader", "/standby_leader"]

    /// Parses "16MB", "1024", "1 kB" into bytes.
    public static func bytes(_ s: String) -> Int64? {
        let t = s.trimmingSpaces().lowercased()
        let units: [(String, Int64)] = [("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        for (u, m) in units where t.hasSuffix(u) {
            return Int64(t.dropLast(u.count).trimmingSpaces()).map { $0 * m }
        }
        return Int64(t)
    }

    public static func status(path: String, query: [String: String], snapshot s: AgentSnapshot, now: Date = Date()) -> Int {
        let local = s.local
        let runningPrimary = local.isPrimary && s.holdsLeader
        let tagsOK = query.allSatisfy { k, v in
            guard k.hasPrefix("tag_") else { return true }
            let tag = String(k.dropFirst(4))
            let have = s.config.tags.asJSON[tag].map { "\($0)" } ?? (tag == "nofailover" || tag == "noloadbalance" || tag == "clonefrom" || tag == "nosync" ? "false" : nil)
            return have?.lowercased() == v.lowercased()
        }
        let lagOK: Bool = {
            guard let limit = query["lag"].flatMap(bytes) else { return true }
            return (s.lag ?? Int64.max) <= limit
        }()
        let replicationOK = query["replication_state"].map { $0 != "streaming" || local.streaming } ?? true
        // Patroni: the standby leader answers /standby-leader, not /replica (its role is standby_leader).
        let replica = local.isReplica && !s.isStandbyLeader && !s.config.tags.noloadbalance && tagsOK && lagOK && replicationOK
        let isSync = s.syncStandbys.contains(s.name)
        switch path {
        case "/", "/primary", "/master", "/read-write":
            return runningPrimary && tagsOK ? 200 : 503
        case "/leader":
            return s.holdsLeader && local.run == .running ? 200 : 503
        case "/standby-leader", "/standby_leader":
            return s.isStandbyLeader && tagsOK ? 200 : 503
        case "/replica":
            return replica ? 200 : 503
        case "/read-only":
            return runningPrimary || replica || s.isStandbyLeader ? 200 : 503
        case "/health":
            return local.run == .running ? 200 : 503
        case "/liveness":
            guard let last = s.lastLoop else { return 503 }
            return now.timeIntervalSince(last) <= s.timing.ttl ? 200 : 503
        case "/readiness":
            if runningPrimary { return 200 }
            return local.isReplica && (s.lag ?? Int64.max) <= s.timing.maximumLagOnFailover ? 200 : 503
        case "/sync", "/synchronous":
            return replica && isSync ? 200 : 503
        case "/async", "/asynchronous":
            return replica && !isSync ? 200 : 503
        default:
            return 404
        }
    }
}
