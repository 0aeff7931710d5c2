// The operations' dynamic settings read from the `config` key (pause, synchronous mode, failsafe) and
// the `sync` / `failsafe` keys, as plain values for the decision.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Settings from the `config` key beyond timing and parameters, with Patroni's names and our defaults.
public struct DynamicSettings: Equatable, Sendable {
    /// `pause`: maintenance mode, no automatic failover and no automatic Postgres restarts.
    public var pause = false
    public var synchronousMode = false
    /// Block writes rather than run without a synchronous standby.
    public var synchronousModeStrict = false
    public var synchronousNodeCount = 1
    /// ON by default (Patroni: off): a healthy primary should not go read-only just because etcd is
    /// down while every member can still vouch that nobody else promoted (no one promotes without the key).
    public var failsafeMode = true
    /// Patroni's check_timeline: a candidate on an older timeline than the last leader does not race.
    public var checkTimeline = false
    public init() {}

    public static func parse(_ raw: String?) -> DynamicSettings {
        var s = DynamicSettings()
        guard let raw, let d = JSONText.object(raw) else { return s }
        s.pause = JSONNumber.bool(d["pause"]) ?? false
        s.synchronousMode = JSONNumber.bool(d["synchronous_mode"]) ?? (d["synchronous_mode"] as? String == "on")
        s.synchronousModeStrict = JSONNumber.bool(d["synchronous_mode_strict"]) ?? false
        if let n = JSONNumber.truncatedInt(d["synchronous_node_count"]), n >= 1 { s.synchronousNodeCount = n }
        if let f = JSONNumber.bool(d["failsafe_mode"]) { s.failsafeMode = f }
        s.checkTimeline = JSONNumber.bool(d["check_timeline"]) ?? false
        return s
    }
}

extension ClusterView {
    public var settings: DynamicSettings { DynamicSettings.parse(config?.raw) }
    public var paused: Bool { settings.pause }

    /// Members named in the `sync` key's sync_standby (comma separated when several).
    public var syncStandbys: [String] {
        guard let json = syncJSON,
              let d = JSONText.object(json),
              let s = d["sync_standby"] as? String else { return [] }
        return s.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// The `failsafe` key: member name → api_url.
    public var failsafeMembers: [String: String] {
        guard let json = failsafeJSON,
              let d = JSONText.object(json) else { return [:] }
        return d.compactMapValues { $0 as? String }
    }

    /// What the leader keeps in `failsafe`: every member that publishes an api_url.
    public var failsafeWanted: [String: String] {
        Dictionary(members.filter { !$0.apiURL.isEmpty }.map { ($0.name, $0.apiURL) }, uniquingKeysWith: { a, _ in a })
    }

    /// Bytes `m` is behind the leader's last published position (nil when unknown).
    public func lag(of m: MemberInfo) -> Int64? {
        guard let optime = leaderOptime, m.state == "running" || m.state == "streaming" else { return nil }
        return max(0, optime - m.xlogLocation)
    }

    /// Why `m` may not take over as leader right now, nil when it may. `checkLag` applies
    /// maximum_lag_on_failover (switchover); a manual failover skips it. `freshLag`: the lag
    /// the leader measured just now in pg_stat_replication; without it the lag is read from etcd,
    /// where the leader's optime and the member's position can be a loop apart (right after a
    /// bulk load that overstates it).
    public func ineligibility(_ m: MemberInfo, checkLag: Bool, freshLag: Int64? = nil) -> String? {
        if m.name == leader { return "\(m.name) is already the leader" }
        if m.state != "running" && m.state != "streaming" { return "\(m.name) is not running (state \(m.state))" }
        if m.nofailover || m.failoverPriority <= 0 { return "\(m.name) is tagged nofailover" }
        if checkLag, let lag = freshLag ?? lag(of: m), lag > timing.maximumLagOnFailover {
            let limit = timing.maximumLagOnFailover
            return "candidate \(m.name) is lagging \(lag) bytes behind the leader (maximum_lag_on_failover \(limit))"
        }
        if settings.synchronousMode && !syncStandbys.contains(m.name) {
            return "\(m.name) is not a synchronous standby (synchronous_mode is on)"
        }
        return nil
    }

    /// The member a switchover without a named candidate goes to: eligible, most WAL, then priority.
    public func bestCandidate() -> MemberInfo? {
        members.filter { ineligibility($0, checkLag: true) == nil }
            .max { ($0.xlogLocation, $0.failoverPriority) < ($1.xlogLocation, $1.failoverPriority) }
    }
}

extension MemberInfo {
    public var nosync: Bool {
        let d = JSONText.object(tagsJSON)
        return JSONNumber.bool(d?["nosync"]) ?? false
    }
}

/// A switchover is due when it has no time or its time has come (ISO 8601; unparsable counts as now).
public func scheduledTime(_ s: String?) -> Date? {
    guard let s, !s.isEmpty else { return nil }
    return parseISO8601(s)
}
