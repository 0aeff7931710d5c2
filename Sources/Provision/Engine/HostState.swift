import Foundation

/// Everything the engine keeps about one host for the whole run: its connection (opened
/// once, on first use, and reused by every task and play), facts and registered values, and
/// whether it has failed or become unreachable.
final class HostState {
    let name: String
    /// Re-read by `refresh` after add_host / group_by, between tasks (no worker runs then).
    private(set) var inventoryVars: [String: Any]
    private(set) var magicVars: [String: Any]
    /// set_fact / register / gathered facts (above play and task vars, below -e). Written by
    /// this host's worker (loops) or the main thread; other hosts' workers read them through
    /// `hostvars`, so writes and cross-thread reads go through `factsLock`.
    private(set) var facts: [String: Any] = [:]
    private let factsLock = NSLock()

    func mergeFacts(_ new: [String: Any]) {
        factsLock.lock(); facts.merge(new) { _, n in n }; factsLock.unlock()
    }

    func factsSnapshot() -> [String: Any] {
        factsLock.lock(); defer { factsLock.unlock() }
        return facts
    }
    var failed = false
    var unreachable = false
    var unreachableReason: String?
    var recap = HostRecap()
    /// Handler names notified in the current play.
    var notified = Set<String>()
    private var transport: Transport?
    /// Serialises use of this host's connection (delegate_to may share it across workers).
    let connectionLock = NSLock()

    init(name: String, inventory: Inventory) {
        self.name = name
        self.inventoryVars = inventory.variables(forHost: name)
        self.magicVars = inventory.magicVariables(forHost: name)
    }

    func refresh(from inventory: Inventory) {
        inventoryVars = inventory.variables(forHost: name)
        magicVars = inventory.magicVariables(forHost: name)
    }

    /// `meta: end_host` / `end_batch` / `end_play` took the host out of the current play.
    var ended = false

    var active: Bool { !failed && !unreachable && !ended }

    /// The user commands run as on this host (to skip sudo when become_user is the same).
    var remoteUser: String {
        let conn = Values.string(inventoryVars["ansible_connection"] ?? "ssh")
        if conn == "local" { return Connector.currentUser() }
        return inventoryVars["ansible_user"].map { Values.string($0) } ?? Connector.currentUser()
    }

    /// The host's transport, connecting on first use. Unreachable errors are remembered so a
    /// dead host is not dialled again for every task.
    func connection(_ factory: (String, [String: Any]) throws -> Transport) throws -> Transport {
        if let transport { return transport }
        if let unreachableReason { throw TransportError.unreachable(host: name, reason: unreachableReason) }
        do {
            let t = try factory(name, inventoryVars)
            transport = t
            return t
        } catch let e as TransportError where e.isUnreachable {
            unreachableReason = "\(e)"
            throw e
        }
    }

    func close() {
        transport?.close()
        transport = nil
    }
}

/// Variable lookup for one host and task, highest precedence first: -e extra vars, loop
/// variable, set_fact/registered facts, task vars, play vars (with vars_files), inventory
/// (host < child group < parent group < all), magic variables (inventory_hostname, groups,
/// group_names, hostvars, playbook_dir, ansible_check_mode).
/// Values that contain `{{ }}` are rendered when looked up (lazily, like Ansible), so play vars
/// may refer to inventory vars and facts.
final class VariableScope {
    let host: HostState
    let extraVars: [String: Any]
    var playVars: [String: Any]
    var taskVars: [String: Any] = [:]
    /// The running task's role vars (above play vars) and defaults (below inventory vars).
    var roleVars: [String: Any] = [:]
    var roleDefaults: [String: Any] = [:]
    var locals: [String: Any] = [:]
    let hostvars: () -> [String: Any]
    private var depth = 0

    init(host: HostState, extraVars: [String: Any], playVars: [String: Any], hostvars: @escaping () -> [String: Any]) {
        self.host = host
        self.extraVars = extraVars
        self.playVars = playVars
        self.hostvars = hostvars
    }

    func raw(_ name: String) -> Any? {
        if let v = extraVars[name] { return v }
        if let v = locals[name] { return v }
        if let v = host.factsSnapshot()[name] { return v }
        if let v = taskVars[name] { return v }
        if let v = roleVars[name] { return v }
        if let v = playVars[name] { return v }
        if let v = host.inventoryVars[name] { return v }
        if let v = roleDefaults[name] { return v }
        if let v = host.magicVars[name] { return v }
        if name == "hostvars" { return hostvars() }
        // Jinja's `vars` (every variable of the host, what lookup('varnames') searches) and
        // ansible_managed's default string, as ansible.cfg leaves it.
        if name == "vars" { return merged() }
        if name == "ansible_managed" { return "Ansible managed" }
        return nil
    }

    func lookup(_ name: String) -> Any? {
        guard let v = raw(name) else { return nil }
        guard containsTemplate(v), depth < 20 else { return v }
        depth += 1
        defer { depth -= 1 }
        do { return try templater.renderDeep(v, location: "variable '\(name)'") } catch {
            nestedErrors[name] = error
            return nil
        }
    }

    /// Why a variable whose value is a template could not be rendered (reported instead of
    /// a plain "undefined").
    var nestedErrors: [String: Error] = [:]

    var templater: Templater { Templater(lookup: { [unowned self] in self.lookup($0) }) }

    /// All variables visible to the host (for hostvars and debugging), templates unrendered.
    func merged() -> [String: Any] {
        var all = host.magicVars
        for layer in [host.inventoryVars, playVars, taskVars, host.factsSnapshot(), locals, extraVars] { all.merge(layer) { _, n in n } }
        return all
    }

    func containsTemplate(_ v: Any) -> Bool {
        switch v {
        case let s as String: return s.contains("{{") || s.contains("{%")
        case let a as [Any]: return a.contains(where: containsTemplate)
        case let d as [String: Any]: return d.values.contains(where: containsTemplate)
        default: return false
        }
    }
}
