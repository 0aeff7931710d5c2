import Foundation
import Yams

/// PROVISIONAL: reads the parts of a YAML inventory the lab needs (host names, ansible_host, the
/// `all` group's variables) until the engine's Inventory loader is on main.
enum LabInventoryReader {
    static func read(_ path: String) throws -> (allVars: [String: Any], hosts: [(name: String, vars: [String: Any])]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw LabError("\(path): inventory not found")
        }
        let dir = isDir.boolValue ? path : (path as NSString).deletingLastPathComponent
        let file = isDir.boolValue
            ? ["hosts.yml", "hosts.yaml", "inventory.yml"].map { "\(path)/\($0)" }.first { FileManager.default.fileExists(atPath: $0) }
            : path
        guard let file else { throw LabError("\(path): no hosts.yml in the inventory directory") }
        let root = try load(file) as? [String: Any] ?? [:]
        var allVars: [String: Any] = [:]
        var order: [String] = []
        var hostVars: [String: [String: Any]] = [:]
        func walk(_ group: [String: Any]) {
            if let hosts = group["hosts"] as? [String: Any] {
                for name in hosts.keys.sorted() {
                    if hostVars[name] == nil { order.append(name); hostVars[name] = [:] }
                    for (k, v) in hosts[name] as? [String: Any] ?? [:] { hostVars[name]?[k] = v }
                }
            }
            for child in (group["children"] as? [String: Any] ?? [:]).values { walk(child as? [String: Any] ?? [:]) }
        }
        for (name, group) in root {
            let g = group as? [String: Any] ?? [:]
            if name == "all" { for (k, v) in g["vars"] as? [String: Any] ?? [:] { allVars[k] = v } }
            walk(g)
        }
        for candidate in ["\(dir)/group_vars/all.yml", "\(dir)/group_vars/all.yaml", "\(dir)/group_vars/all/lab.yml"]
        where FileManager.default.fileExists(atPath: candidate) {
            for (k, v) in try load(candidate) as? [String: Any] ?? [:] { allVars[k] = v }
        }
        for name in order {
            let candidate = "\(dir)/host_vars/\(name).yml"
            if FileManager.default.fileExists(atPath: candidate) {
                for (k, v) in try load(candidate) as? [String: Any] ?? [:] { hostVars[name]?[k] = v }
            }
        }
        return (allVars, order.map { ($0, hostVars[$0] ?? [:]) })
    }

    private static func load(_ file: String) throws -> Any? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw LabError("\(file): cannot read") }
        do { return try Yams.load(yaml: text) } catch { throw LabError("\(file): \(error)") }
    }
}

extension Lab {
    /// The lab an inventory declares (its `lab:` mapping and hosts' `ansible_host`).
    public convenience init(inventory path: String, stateRoot: String = LabSpec.defaultStateRoot,
                            cacheRoot: String = LabSpec.defaultCacheRoot, log: @escaping (String) -> Void = { print($0) }) throws {
        let inv = try LabInventoryReader.read(path)
        self.init(spec: try LabSpec.fromInventory(path: path, allVars: inv.allVars, hosts: inv.hosts,
                                                  stateRoot: stateRoot, cacheRoot: cacheRoot), log: log)
    }
}
