import Foundation

/// How a playbook run behaves; the defaults are `provision run`'s.
public struct RunOptions {
    /// Report what would change, change nothing (`--check`).
    public var check = false
    /// Show unified diffs of file content and state (`--diff`).
    public var diff = false
    /// Restrict every play to hosts also matching this pattern (`--limit`).
    public var limit: String?
    /// Run only tasks with one of these tags (`always`-tagged tasks run too); empty = all.
    public var tags: [String] = []
    /// Skip tasks with one of these tags.
    public var skipTags: [String] = []
    /// Highest-precedence variables (`-e`).
    public var extraVars: [String: Any] = [:]
    /// Hosts worked on at once (`--forks`, default 10 like Ansible).
    public var forks = 10
    /// Verbosity (`-v`): adds module results to the human output.
    public var verbosity = 0
    /// Seconds after which a task still running prints a progress line (then every 10 s).
    public var progressAfter: Double = 5

    public init(check: Bool = false, diff: Bool = false, limit: String? = nil, tags: [String] = [], skipTags: [String] = [],
                extraVars: [String: Any] = [:], forks: Int = 10, verbosity: Int = 0) {
        self.check = check; self.diff = diff; self.limit = limit; self.tags = tags; self.skipTags = skipTags
        self.extraVars = extraVars; self.forks = max(1, forks); self.verbosity = verbosity
    }

    /// Parses `-e` values: `k=v k2=v2` (strings), `@file` (YAML/JSON mapping) or inline JSON/YAML.
    public static func parseExtraVars(_ specs: [String]) throws -> [String: Any] {
        var vars: [String: Any] = [:]
        for spec in specs {
            if spec.hasPrefix("@") {
                let path = String(spec.dropFirst())
                guard let node = try YAMLSource.load(path: path) else { continue }
                guard let d = YAMLSource.value(node) as? [String: Any] else {
                    throw ProvisionError("extra vars file must be a mapping", at: SourceLocation(file: path))
                }
                vars.merge(d) { _, n in n }
            } else if spec.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
                guard let node = try YAMLSource.parse(spec, file: "-e"), let d = YAMLSource.value(node) as? [String: Any] else {
                    throw ProvisionError("-e '\(spec)': expected a mapping")
                }
                vars.merge(d) { _, n in n }
            } else {
                let words = try INIInventoryParser(file: "-e", inventory: Inventory()).shellWords(spec, at: SourceLocation(file: "-e"))
                for w in words {
                    guard let eq = w.firstIndex(of: "="), eq != w.startIndex else { throw ProvisionError("-e '\(spec)': expected key=value") }
                    var v = String(w[w.index(after: eq)...])
                    if v.count >= 2, let f = v.first, f == "'" || f == "\"", v.last == f { v = String(v.dropFirst().dropLast()) }
                    vars[String(w[..<eq])] = v
                }
            }
        }
        return vars
    }
}

/// The outcome of a run: per-host recap, exit code and wall time.
public struct RunSummary {
    /// Hosts in the order they were first seen.
    public var hosts: [String] = []
    public var recap: [String: HostRecap] = [:]
    /// 0 success, 1 parse/usage error, 2 a host failed, 4 a host unreachable (2 wins when both).
    public var exitCode: Int32 = 0
    public var seconds: Double = 0
    /// Set when the run stopped before starting (parse or inventory error).
    public var error: String?
    /// Each host's registered results, set_fact values and gathered facts at the end of the run
    /// (so callers can read e.g. a `postgresql_query`'s rows).
    public var hostFacts: [String: [String: Any]] = [:]

    public var changedTotal: Int { recap.values.reduce(0) { $0 + $1.changed } }
    public var failedHosts: [String] { hosts.filter { (recap[$0]?.failed ?? 0) > 0 } }
    public var unreachableHosts: [String] { hosts.filter { (recap[$0]?.unreachable ?? 0) > 0 } }
}
