import Foundation

/// Hosts, groups and their variables, read from an Ansible inventory (YAML or INI, a file or a
/// directory with group_vars/ and host_vars/).
///
/// ```swift
/// let inv = try Inventory.load(path: "inventories/lab")
/// for host in try inv.hosts(matching: "db:&lab") { let vars = inv.variables(forHost: host) }
/// ```
///
/// Variable precedence for a host, lowest first (Ansible's order; later wins, mappings are
/// replaced, not merged): group `all` < parent groups < child groups (by depth, then name)
/// < host. Play vars, registered/set_fact values and `-e` extra vars are layered on top by the
/// engine (`VariableScope`).
public final class Inventory {
    /// One group: its own hosts, its child groups and its own variables.
    public struct Group {
        public var name: String
        public var hosts: [String] = []
        public var children: [String] = []
        public var vars: [String: Any] = [:]
        public init(name: String) { self.name = name }
    }

    /// Every group by name, including `all` and `ungrouped`.
    public private(set) var groups: [String: Group] = [:]
    /// Host names in the order the inventory lists them.
    public private(set) var hostNames: [String] = []
    /// Each host's own variables (inline, host_vars/).
    public private(set) var hostVars: [String: [String: Any]] = [:]
    /// Where the inventory was read from.
    public let source: String

    public init(source: String = "<memory>") {
        self.source = source
        groups["all"] = Group(name: "all")
        groups["ungrouped"] = Group(name: "ungrouped")
        groups["all"]!.children = ["ungrouped"]
    }

    // MARK: building

    /// Adds `host` (if new) to `group` (created if new) and merges `vars` into its own variables.
    public func addHost(_ host: String, group: String? = nil, vars: [String: Any] = [:]) {
        if hostVars[host] == nil {
            hostNames.append(host)
            hostVars[host] = [:]
        }
        hostVars[host]!.merge(vars) { _, new in new }
        if let group, group != "all" {
            addGroup(group)
            if !groups[group]!.hosts.contains(host) { groups[group]!.hosts.append(host) }
        }
    }

    /// Creates `name` (a child of `parent`, default `all`) if it does not exist yet.
    public func addGroup(_ name: String, parent: String? = nil) {
        if groups[name] == nil {
            groups[name] = Group(name: name)
            if name != "all" { groups["all"]!.children.append(name) }
        }
        if let parent, parent != name {
            addGroup(parent)
            if !groups[parent]!.children.contains(name) { groups[parent]!.children.append(name) }
        }
    }

    public func setGroupVars(_ name: String, _ vars: [String: Any]) {
        addGroup(name)
        groups[name]!.vars.merge(vars) { _, new in new }
    }

    public func setHostVars(_ host: String, _ vars: [String: Any]) {
        guard hostVars[host] != nil else { return }
        hostVars[host]!.merge(vars) { _, new in new }
    }

    /// Hosts in no group other than `all` go to `ungrouped` (Ansible's rule); groups nested
    /// under another group stop being direct children of `all`.
    func finish() {
        var grouped = Set<String>()
        for (name, g) in groups where name != "all" && name != "ungrouped" { grouped.formUnion(g.hosts) }
        groups["ungrouped"]!.hosts = hostNames.filter { !grouped.contains($0) }
        let nested = Set(groups.values.filter { $0.name != "all" }.flatMap(\.children))
        groups["all"]!.children = groups["all"]!.children.filter { !nested.contains($0) }
    }

    // MARK: queries

    /// All hosts of a group, its descendants' included, in inventory order.
    public func hosts(inGroup name: String) -> [String] {
        if name == "all" { return hostNames }
        var seen = Set<String>()
        var stack = [name], members = Set<String>()
        while let g = stack.popLast() {
            guard seen.insert(g).inserted, let group = groups[g] else { continue }
            members.formUnion(group.hosts)
            stack.append(contentsOf: group.children)
        }
        return hostNames.filter { members.contains($0) }
    }

    /// Groups `host` belongs to (directly or through a child group), without `all`; sorted.
    public func groupNames(forHost host: String) -> [String] {
        groups.keys.filter { $0 != "all" && hosts(inGroup: $0).contains(host) }.sorted()
    }

    /// Depth of each group below `all` (longest path), for precedence ordering.
    func depths() -> [String: Int] {
        var depth: [String: Int] = ["all": 0]
        var changed = true, rounds = 0
        while changed && rounds <= groups.count {
            changed = false; rounds += 1
            for (name, g) in groups {
                guard let d = depth[name] else { continue }
                for c in g.children where (depth[c] ?? -1) < d + 1 {
                    depth[c] = d + 1; changed = true
                }
            }
        }
        return depth
    }

    /// The host's merged inventory variables: all < parent groups < child groups < host.
    /// Empty for an unknown host.
    public func variables(forHost host: String) -> [String: Any] {
        guard let own = hostVars[host] else { return [:] }
        let depth = depths()
        let member = ["all"] + groupNames(forHost: host)
        let ordered = member.sorted { (depth[$0] ?? 0, $0) < (depth[$1] ?? 0, $1) }
        var vars: [String: Any] = [:]
        for g in ordered { vars.merge(groups[g]?.vars ?? [:]) { _, new in new } }
        vars.merge(own) { _, new in new }
        return vars
    }

    /// Variables Ansible defines for every host: inventory_hostname, group_names, groups.
    public func magicVariables(forHost host: String) -> [String: Any] {
        var groupMap: [String: Any] = [:]
        for name in groups.keys { groupMap[name] = hosts(inGroup: name) }
        return ["inventory_hostname": host,
                "inventory_hostname_short": String(host.split(separator: ".").first ?? Substring(host)),
                "group_names": groupNames(forHost: host), "groups": groupMap]
    }

    /// Hosts matching an Ansible host pattern, in inventory order. See `HostPattern`.
    public func hosts(matching pattern: String) throws -> [String] {
        try HostPattern(pattern).resolve(in: self)
    }
}
