// Which parameters the installed server knows, asked of the server itself (`postgres --describe-config`,
// once per binary), and the pure rules that fit requested parameters to it as Patroni does: renamed
// parameters mapped by major version, unknown ones left out with a warning naming them.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The parameters one Postgres binary knows, with their context (postmaster = needs a restart).
public struct ServerParameters: Equatable, Sendable {
    /// Major version: 15 for 15.x (10 and later number majors by their first component).
    public var major: Int
    /// Lower-case name → context (internal, postmaster, sighup, superuser-backend, backend, superuser, user).
    public var contexts: [String: String]
    /// Lower-case name → type and bounds, for the values that can be checked without knowing units.
    public var settings: [String: Setting]
    public init(major: Int, contexts: [String: String], settings: [String: Setting] = [:]) {
        self.major = major; self.contexts = contexts; self.settings = settings
    }

    /// A parameter's type (BOOLEAN, INTEGER, REAL, STRING, ENUM) and bounds in its base unit.
    public struct Setting: Equatable, Sendable {
        public var type: String
        public var min: Double?
        public var max: Double?
        public init(type: String, min: Double? = nil, max: Double? = nil) { self.type = type; self.min = min; self.max = max }
    }

    /// From `postgres -V` ("postgres (PostgreSQL) 15.18 (Debian …)") and `--describe-config`
    /// (tab-separated: name, context, group, type, …). Nil when either is not what a server prints.
    public static func parse(version: String, describeConfig: String) -> ServerParameters? {
        guard let range = version.firstRange(of: "(PostgreSQL) ") else { return nil }
        let number = version[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        let parts = number.split(separator: ".").compactMap { Int($0) }
        guard let first = parts.first else { return nil }
        let major = first >= 10 ? first : first * 10 + (parts.count > 1 ? parts[1] : 0)  // 9.6 → 96
        var contexts: [String: String] = [:], settings: [String: Setting] = [:]
        for line in describeConfig.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2, !fields[0].isEmpty else { continue }
            let name = fields[0].lowercased()
            contexts[name] = String(fields[1])
            if fields.count >= 7 {  // name, context, group, type, reset value, min, max, …
                settings[name] = Setting(type: String(fields[3]), min: Double(fields[5]), max: Double(fields[6]))
            }
        }
        guard !contexts.isEmpty else { return nil }
        return ServerParameters(major: major, contexts: contexts, settings: settings)
    }

    /// Names with a dot are extension parameters (`pg_stat_statements.max`): Postgres accepts any.
    public func knows(_ name: String) -> Bool { name.contains(".") || contexts[name.lowercased()] != nil }
    public func needsRestart(_ name: String) -> Bool { contexts[name.lowercased()] == "postmaster" }
    public var versionName: String { major >= 10 ? "PostgreSQL \(major)" : "PostgreSQL \(major / 10).\(major % 10)" }

    // MARK: The server asked once per binary

    static let cache = Locked([String: ServerParameters]())

    /// What the server at `binDir` knows, when it was asked already (nil before `load`).
    public static func cached(binDir: String) -> ServerParameters? { cache.get()[binDir] }

    /// Asks `binDir/postgres` (`-V`, `--describe-config`; both run as any user, root too) once.
    /// Nil when it cannot be run: the parameters are then written as given.
    @discardableResult
    public static func load(binDir: String) async -> ServerParameters? {
        if let known = cached(binDir: binDir) { return known }
        let postgres = binDir + "/postgres"
        guard FileManager.default.isExecutableFile(atPath: postgres) else { return nil }
        let version = await Command.run(postgres, ["-V"], timeout: 20)
        let described = await Command.run(postgres, ["--describe-config"], timeout: 20)
        guard version.ok, described.ok, let server = parse(version: version.output, describeConfig: described.output) else { return nil }
        cache.update { $0[binDir] = server }
        return server
    }
}

/// A parameter Postgres renamed, and how a value carries over (Patroni maps these by major version).
public struct ParameterRename: Sendable {
    public var old: String
    public var new: String
    /// The first major version that knows `new` and not `old`.
    public var since: Int
    public var forward: @Sendable (String) -> String?
    public var backward: @Sendable (String) -> String?

    /// WAL segments are 16 MB unless initdb was given --wal-segsize (not read here).
    static let segmentMB = 16

    public static let all: [ParameterRename] = [
        ParameterRename(old: "wal_keep_segments", new: "wal_keep_size", since: 13,
                        forward: { Int($0.trimmingSpaces()).map { "\($0 * segmentMB)MB" } },
                        backward: { megabytes($0).map { "\(($0 + segmentMB - 1) / segmentMB)" } }),
    ]

    /// "128MB", "1GB", "512kB", a bare number (MB, wal_keep_size's unit) → whole megabytes.
    static func megabytes(_ s: String) -> Int? {
        let t = s.trimming(scalarsIn: " '")
        let digits = t.prefix { $0.isNumber }
        guard let n = Int(digits) else { return nil }
        switch t.dropFirst(digits.count).trimmingSpaces() {
        case "", "MB": return n
        case "kB": return (n + 1023) / 1024
        case "GB": return n * 1024
        case "TB": return n * 1024 * 1024
        default: return nil
        }
    }
}

/// Requested parameters fitted to one server: what to write, and what was changed or left out, in words.
public struct ParameterFit: Equatable, Sendable {
    public var parameters: [String: String]
    /// "wal_keep_segments = 100 written as wal_keep_size = 1600MB (renamed in PostgreSQL 13)"
    public var renamed: [String] = []
    /// Names left out because this server does not know them.
    public var unknown: [String] = []
    /// "max_connections = lots: expected a number": values left out because Postgres would refuse them.
    public var invalid: [String] = []

    public var warnings: [String] {
        renamed + (unknown.isEmpty ? [] : ["parameters unknown to this server left out: \(unknown.joined(separator: ", "))"])
            + invalid.map { "left out, Postgres would not start with it: \($0)" }
    }

    /// Pure: renames applied for `server.major`, then unknown names dropped. Without a server
    /// (its binary could not be asked) everything is kept as given.
    public static func fit(_ requested: [String: String], to server: ServerParameters?) -> ParameterFit {
        guard let server else { return ParameterFit(parameters: requested) }
        var p = requested
        var fit = ParameterFit(parameters: [:])
        for r in ParameterRename.all {
            let (from, to, convert) = server.major >= r.since ? (r.old, r.new, r.forward) : (r.new, r.old, r.backward)
            guard let value = p.removeValue(forKey: from) else { continue }
            let when = "renamed in \(ServerParameters(major: r.since, contexts: [:]).versionName)"
            if let given = p[to] {
                fit.renamed.append("\(from) = \(value) left out: \(to) = \(given) is given too (\(when))")
            } else if let converted = convert(value) {
                p[to] = converted
                fit.renamed.append("\(from) = \(value) written as \(to) = \(converted) (\(when))")
            } else {
                fit.renamed.append("\(from) = \(value) left out: not a value \(to) can take (\(when))")
            }
        }
        for (name, value) in p {
            if !server.knows(name) { fit.unknown.append(name) }
            else if let why = valueProblem(name, value, server: server) { fit.invalid.append("\(name) = \(value): \(why)") }
            else { fit.parameters[name] = value }
        }
        fit.unknown.sort()
        fit.invalid.sort()
        return fit
    }

    /// Why `value` is not one Postgres takes for `name` (nil: it may be). Permissive: booleans in
    /// any spelling Postgres reads, numbers with or without a unit; bounds only for a value without
    /// a unit (the list gives them in the parameter's base unit, which it does not name).
    public static func valueProblem(_ name: String, _ value: String, server: ServerParameters) -> String? {
        guard let setting = server.settings[name.lowercased()] else { return nil }
        let v = value.trimming(scalarsIn: " '\"")
        switch setting.type {
        case "BOOLEAN":
            let l = v.lowercased()
            let ok = ["on", "off", "1", "0"].contains(l) || (!l.isEmpty && ["true", "false", "yes", "no"].contains { $0.hasPrefix(l) })
            return ok ? nil : "expected on or off (a boolean), got \(value)"
        case "INTEGER", "REAL":
            if setting.type == "INTEGER", v.lowercased().hasPrefix("0x"), Int(v.dropFirst(2), radix: 16) != nil { return nil }
            let digits = v.prefix { $0.isNumber || "+-.eE".contains($0) }
            let unit = v.dropFirst(digits.count).trimmingSpaces()
            guard let number = Double(digits) else { return "expected a number, got \(value)" }
            if !unit.isEmpty {
                let units = ["B", "kB", "MB", "GB", "TB", "us", "ms", "s", "min", "h", "d"]
                return units.contains(unit) ? nil : "unknown unit \(unit) in \(value) (Postgres reads \(units.joined(separator: ", ")))"
            }
            if setting.type == "INTEGER", number != number.rounded() { return "expected an integer, got \(value)" }
            if let min = setting.min, number < min { return "\(value) is below the minimum \(fmt(min))" }
            if let max = setting.max, number > max { return "\(value) is above the maximum \(fmt(max))" }
            return nil
        default:
            return nil
        }
    }

    static func fmt(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    /// Why `name` may not be set in the `config` key of a cluster running `server` (nil: it may).
    public static func refusal(_ name: String, server: ServerParameters) -> String? {
        if server.knows(name) { return nil }
        if let r = ParameterRename.all.first(where: { $0.old == name || $0.new == name }) {
            let other = r.old == name ? r.new : r.old
            if server.knows(other) { return nil }  // mapped when written
        }
        return "unknown to \(server.versionName) (the server's own list, postgres --describe-config); a member would not start with it"
    }
}
