// Changing the dynamic configuration (`config` key): JSON merge patch (RFC 7386, null removes),
// validation, and one compare-and-swap write, shared by PATCH/PUT /config and `pgha edit-config`.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public enum ConfigEdit {
    /// RFC 7386: objects merge recursively, null deletes, anything else replaces.
    public static func mergePatch(_ base: Any?, _ patch: Any) -> Any {
        guard let p = patch as? [String: Any] else { return patch }
        var out = base as? [String: Any] ?? [:]
        for (k, v) in p {
            if v is JSONNull { out[k] = nil } else { out[k] = mergePatch(out[k], v) }
        }
        return out
    }

    /// JSON true/false (not 0 or 1).
    public static func isBool(_ v: Any) -> Bool { v is Bool }

    static func isNumber(_ v: Any) -> Bool { JSONNumber.isNumber(v) }

    /// The problem with a new dynamic config, in words naming the key; nil when it is acceptable.
    /// Timing that breaks the safety rule is accepted (the values used are adjusted, `timingNote`);
    /// a parameter `server` does not know is refused when the change sets it (one already in
    /// `before` stays: refusing every later edit for it would help nobody).
    public static func problem(_ c: [String: Any], before: [String: Any] = [:], server: ServerParameters? = nil) -> String? {
        var t = Timing()
        if let problem = PatroniTimingKeys.apply(c, to: &t) { return problem }
        if let problem = t.invalid { return problem }
        for key in ["pause", "synchronous_mode", "synchronous_mode_strict", "failsafe_mode", "check_timeline"] {
            if let v = c[key], !isBool(v) && !(v is JSONNull) { return "\(key): expected true or false, got \(v)" }
        }
        if let v = c["standby_cluster"], !(v is JSONNull) {
            guard let d = v as? [String: Any] else { return "standby_cluster: expected an object (or null to promote the cluster)" }
            if let problem = StandbyCluster.problem(d) { return problem }
        }
        if let v = c["synchronous_node_count"], (JSONNumber.truncatedInt(v) ?? 0) < 1 { return "synchronous_node_count: expected an integer ≥ 1, got \(v)" }
        if let pg = c["postgresql"] {
            guard let pgd = pg as? [String: Any] else { return "postgresql: expected an object" }
            if let params = pgd["parameters"] {
                guard let pd = params as? [String: Any] else { return "postgresql.parameters: expected an object" }
                for (k, v) in pd where v is [Any] || v is [String: Any] { return "postgresql.parameters.\(k): expected a scalar" }
                let old = ((before["postgresql"] as? [String: Any])?["parameters"] as? [String: Any]) ?? [:]
                if let server {
                    for k in pd.keys.sorted() where old[k].map({ "\($0)" }) != pd[k].map({ "\($0)" }) {
                        if let why = ParameterFit.refusal(k, server: server) { return "postgresql.parameters.\(k): \(why)" }
                        if let v = pd[k].map({ JSONNumber.text($0) ?? "\($0)" }),
                           let why = ParameterFit.valueProblem(k, v, server: server) { return "postgresql.parameters.\(k): \(why)" }
                    }
                }
            }
            if let v = pgd["use_pg_rewind"], !isBool(v) { return "postgresql.use_pg_rewind: expected true or false" }
        }
        return nil
    }

    /// What the members will use instead of timing that breaks the safety rule (nil: as given).
    public static func timingNote(_ c: [String: Any]) -> String? {
        var t = Timing()
        PatroniTimingKeys.apply(c, to: &t)
        return t.adjusted.note
    }

    /// Which changed parameters only take effect after a restart (context postmaster), in words.
    public static func restartNote(before: [String: Any], after: [String: Any], server: ServerParameters) -> String? {
        func params(_ c: [String: Any]) -> [String: String] {
            (((c["postgresql"] as? [String: Any])?["parameters"] as? [String: Any]) ?? [:]).mapValues { "\($0)" }
        }
        let old = params(before), new = params(after)
        let changed = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] && server.needsRestart($0) }.sorted()
        guard !changed.isEmpty else { return nil }
        return "\(changed.joined(separator: ", ")) take effect after a restart (context postmaster): pgha restart --pending"
    }

    public static func encode(_ object: Any) -> String {
        (try? JSONText.bytes(object, sortedKeys: true)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads `config`, applies `change` to its object, validates, writes it back if nobody changed it
    /// meanwhile. Returns (before, after) JSON text.
    public static func update(_ store: ClusterStore, server: ServerParameters? = nil,
                              _ change: ([String: Any]) throws -> [String: Any]) async throws -> (String, String) {
        let kv = try await store.readConfig()
        let before = kv?.value ?? "{}"
        let object = JSONText.object(before) ?? [:]
        let after = try change(object)
        if let problem = problem(after, before: object, server: server) { throw ConfigError("config: \(problem); nothing changed") }
        let text = encode(after)
        guard try await store.replaceConfig(text, ifRevision: kv?.modRevision ?? 0) else {
            throw ConfigError("config: changed by someone else meanwhile; nothing changed, try again")
        }
        return (before, text)
    }
}
