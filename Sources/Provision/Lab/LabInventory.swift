import Foundation


/// From inventory data to a `LabSpec`: the `lab:` mapping of the `all` group's variables and each
/// host's `ansible_host`. Keys of `lab:` — provider (must be nspawn), network (CIDR, required),
/// name, bridge, release, packages, watchdog (bool), join (another lab's name).
extension LabSpec {
    public static func fromInventory(path: String, allVars: [String: Any],
                                     hosts: [(name: String, vars: [String: Any])],
                                     stateRoot: String = LabSpec.defaultStateRoot,
                                     cacheRoot: String = LabSpec.defaultCacheRoot) throws -> LabSpec {
        guard let lab = allVars["lab"] as? [String: Any] else {
            throw LabError("\(path): no `lab:` mapping in the variables of group all (e.g. group_vars/all.yml)")
        }
        let where_ = "\(path): lab"
        func string(_ key: String) throws -> String? {
            guard let v = lab[key] else { return nil }
            guard let s = v as? String else { throw LabError("\(where_).\(key) must be a string") }
            return s
        }
        let provider = try string("provider") ?? "nspawn"
        guard provider == "nspawn" else { throw LabError("\(where_).provider: '\(provider)' is not supported (only nspawn)") }
        guard let cidr = try string("network") else { throw LabError("\(where_).network is required (e.g. 10.77.0.0/24)") }
        guard let network = IPv4Network(cidr) else {
            throw LabError("\(where_).network: '\(cidr)' is not an IPv4 network in CIDR form with host bits zero (prefix 8-30)")
        }
        var packages = LabSpec.defaultPackages
        if let p = lab["packages"] {
            guard let list = p as? [Any], list.allSatisfy({ $0 is String }) else {
                throw LabError("\(where_).packages must be a list of package names")
            }
            packages = list.compactMap { $0 as? String }
        }
        var watchdog = false
        if let w = lab["watchdog"] {
            guard let b = w as? Bool else { throw LabError("\(where_).watchdog must be true or false") }
            watchdog = b
        }
        var labHosts: [LabHostSpec] = []
        for (name, vars) in hosts {
            guard let a = vars["ansible_host"] as? String else {
                throw LabError("\(path): host \(name): ansible_host (its lab address) is required")
            }
            guard let address = IPv4Address(a) else { throw LabError("\(path): host \(name): ansible_host '\(a)' is not an IPv4 address") }
            labHosts.append(LabHostSpec(name: name, address: address))
        }
        return try LabSpec(name: try string("name") ?? defaultName(path), network: network, bridge: try string("bridge"),
                           release: try string("release") ?? AptSources.hostCodename(), packages: packages,
                           hosts: labHosts, stateRoot: stateRoot, cacheRoot: cacheRoot, watchdog: watchdog,
                           joins: try string("join"))
    }

    /// inventories/lab → "lab"; inventories/lab/hosts.yml → "lab".
    static func defaultName(_ path: String) -> String {
        var isDir: ObjCBool = false
        let url = URL(fileURLWithPath: path).standardized
        let dir = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
            ? url : url.deletingLastPathComponent()
        return dir.lastPathComponent.lowercased()
    }
}

extension Lab {
    /// The lab an inventory declares: the `lab:` mapping of group `all` and the hosts' `ansible_host`.
    public convenience init(inventory path: String, stateRoot: String = LabSpec.defaultStateRoot,
                            cacheRoot: String = LabSpec.defaultCacheRoot, log: @escaping (String) -> Void = { print($0) }) throws {
        let inventory: Inventory
        do { inventory = try Inventory.load(path: path) } catch { throw LabError("\(error)") }
        try self.init(inventory: inventory, path: path, stateRoot: stateRoot, cacheRoot: cacheRoot, log: log)
    }

    public convenience init(inventory: Inventory, path: String, stateRoot: String = LabSpec.defaultStateRoot,
                            cacheRoot: String = LabSpec.defaultCacheRoot, log: @escaping (String) -> Void = { print($0) }) throws {
        let hosts = inventory.hostNames.map { (name: $0, vars: inventory.variables(forHost: $0)) }
        self.init(spec: try LabSpec.fromInventory(path: path, allVars: inventory.groups["all"]?.vars ?? [:], hosts: hosts,
                                                  stateRoot: stateRoot, cacheRoot: cacheRoot), log: log)
        // The watchdog server is a separate process that loads the same lab from the same inventory.
        inventoryPath = URL(fileURLWithPath: path).standardized.path
    }
}
