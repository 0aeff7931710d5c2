import Foundation

/// `add_host`: adds a host (with `groups` and any other keys as its variables) to the run's
/// in-memory inventory, for later plays. Like Ansible it bypasses the host loop (runs once
/// unless looped) and reports changed when the host, a group membership or a variable is new.
/// The engine applies `add_host` from the result (Engine/PlaybookRunner.swift).
public struct AddHostModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "add_host"
    public static let options = [OptionSpec("name", required: true, aliases: ["host", "hostname"]),
                                 OptionSpec("groups", .list, aliases: ["group", "groupname"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var name = try args.optionalString("name") ?? args.optionalString("host") ?? args.string("hostname")
        var vars = args.values.filter { !["name", "host", "hostname", "groups", "group", "groupname"].contains($0.key) }
        // `name: "10.0.0.5:2222"` carries the port, as in Ansible.
        if let colon = name.lastIndex(of: ":"), name.filter({ $0 == ":" }).count == 1, let port = Int(name[name.index(after: colon)...]) {
            vars["ansible_port"] = port
            name = String(name[..<colon])
        }
        let key = args.has("groups") ? "groups" : args.has("group") ? "group" : "groupname"
        let groups = args.list(key).map { Values.string($0) }
        return ModuleResult(data: ["add_host": ["host_name": name, "groups": groups, "host_vars": vars] as [String: Any]])
    }
}

/// `group_by`: puts the host into the group named by `key` (created as a child of `parents`,
/// default `all`) for later plays; changed when the host was not in it yet (the engine decides).
public struct GroupByModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "group_by"
    public static let options = [OptionSpec("key", required: true), OptionSpec("parents", .list)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let key = try args.string("key")
        guard !key.isEmpty, !key.contains(" ") else { return .fail("group_by: the group name must not be empty or contain spaces, got '\(key)'") }
        let parents = args.has("parents") ? args.list("parents").map { Values.string($0) } : ["all"]
        return ModuleResult(data: ["add_group": key, "parent_groups": parents])
    }
}

extension Inventory {
    /// Applies an add_host / group_by result; true when it changed the inventory.
    func apply(moduleResult r: [String: Any], host: String) -> Bool {
        var changed = false
        if let add = r["add_host"] as? [String: Any], let name = add["host_name"] as? String {
            if !hostNames.contains(name) { changed = true }
            let vars = add["host_vars"] as? [String: Any] ?? [:]
            if vars.contains(where: { k, v in !Values.equal(hostVars[name]?[k], v) }) { changed = true }
            addHost(name, vars: vars)
            for g in add["groups"] as? [String] ?? [] where !hosts(inGroup: g).contains(name) {
                addHost(name, group: g)
                changed = true
            }
        }
        if let group = r["add_group"] as? String {
            for p in r["parent_groups"] as? [String] ?? ["all"] { addGroup(group, parent: p) }
            if !hosts(inGroup: group).contains(host) {
                addHost(host, group: group)
                changed = true
            }
        }
        return changed
    }
}
