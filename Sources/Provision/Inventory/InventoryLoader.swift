import Foundation
import Yams

extension Inventory {
    /// Loads an inventory from a file (YAML or INI, by content) or a directory holding
    /// `hosts.yml` / `hosts.yaml` / `hosts.ini` / `hosts`, then `group_vars/<group>.yml|yaml|json`
    /// (or `group_vars/<group>/*.yml`) and `host_vars/<host>.yml` next to it.
    /// Errors name the file (and line:column for YAML).
    public static func load(path: String) throws -> Inventory {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ProvisionError("inventory not found", at: SourceLocation(file: path))
        }
        let inv = Inventory(source: path)
        let base: String
        if isDir.boolValue {
            base = path
            let names = ["hosts.yml", "hosts.yaml", "hosts.ini", "hosts"]
            let files = names.map { (path as NSString).appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0) }
            guard !files.isEmpty else {
                throw ProvisionError("inventory directory has none of \(names.joined(separator: ", "))",
                                     at: SourceLocation(file: path))
            }
            for f in files { try inv.loadHostsFile(f) }
        } else {
            base = (path as NSString).deletingLastPathComponent
            try inv.loadHostsFile(path)
        }
        inv.finish()
        try inv.loadVarsDirectory((base as NSString).appendingPathComponent("group_vars"), forGroups: true)
        try inv.loadVarsDirectory((base as NSString).appendingPathComponent("host_vars"), forGroups: false)
        return inv
    }

    func loadHostsFile(_ file: String) throws {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ProvisionError("cannot read inventory file", at: SourceLocation(file: file))
        }
        let yamlName = file.hasSuffix(".yml") || file.hasSuffix(".yaml") || file.hasSuffix(".json")
        let looksINI = file.hasSuffix(".ini") || (!yamlName
            && text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") })
        // As Ansible's auto plugin order: a file with another name that is not a YAML mapping
        // (`localhost ansible_connection=local`, hosts before any [group]) is read as INI. The
        // document parsed to decide is the one loaded: parsed once.
        if looksINI { try INIInventoryParser(file: file, inventory: self).parse(text); return }
        if yamlName { try loadYAML(try YAMLSource.parse(text, file: file), file: file); return }
        guard let root = try? YAMLSource.parse(text, file: file), YAMLSource.pairs(root) != nil else {
            try INIInventoryParser(file: file, inventory: self).parse(text); return
        }
        try loadYAML(root, file: file)
    }

    // MARK: YAML format

    func loadYAML(_ root: Node?, file: String) throws {
        guard let root else { return }
        guard let pairs = YAMLSource.pairs(root) else {
            throw ProvisionError("inventory must be a mapping of groups (e.g. `all:`)", at: YAMLSource.location(root, file: file))
        }
        for p in pairs { try loadYAMLGroup(p.key, p.value, parent: nil, file: file) }
    }

    private func loadYAMLGroup(_ name: String, _ node: Node, parent: String?, file: String) throws {
        addGroup(name, parent: parent)
        if case .scalar = node, node.null != nil { return }
        guard let pairs = YAMLSource.pairs(node) else {
            throw ProvisionError("group '\(name)' must be a mapping with hosts/children/vars", at: YAMLSource.location(node, file: file))
        }
        for p in pairs {
            switch p.key {
            case "hosts":
                if case .scalar = p.value, p.value.null != nil { continue }
                guard let hosts = YAMLSource.pairs(p.value) else {
                    throw ProvisionError("'hosts' of group '\(name)' must be a mapping of host names", at: YAMLSource.location(p.value, file: file))
                }
                for h in hosts {
                    let vars = YAMLSource.value(h.value) as? [String: Any] ?? [:]
                    if !(h.value.null != nil || YAMLSource.value(h.value) is [String: Any]) {
                        throw ProvisionError("host '\(h.key)' must map to its variables or nothing", at: YAMLSource.location(h.value, file: file))
                    }
                    for host in try expandHostRange(h.key, at: YAMLSource.location(h.keyNode, file: file)) {
                        addHost(host, group: name, vars: vars)
                    }
                }
            case "children":
                if case .scalar = p.value, p.value.null != nil { continue }
                guard let children = YAMLSource.pairs(p.value) else {
                    throw ProvisionError("'children' of group '\(name)' must be a mapping of groups", at: YAMLSource.location(p.value, file: file))
                }
                for c in children { try loadYAMLGroup(c.key, c.value, parent: name, file: file) }
            case "vars":
                if case .scalar = p.value, p.value.null != nil { continue }
                guard let vars = YAMLSource.value(p.value) as? [String: Any] else {
                    throw ProvisionError("'vars' of group '\(name)' must be a mapping", at: YAMLSource.location(p.value, file: file))
                }
                setGroupVars(name, vars)
            default:
                throw ProvisionError("unknown key '\(p.key)' in group '\(name)' (expected hosts, children, vars)",
                                     at: YAMLSource.location(p.keyNode, file: file))
            }
        }
    }

    // MARK: group_vars / host_vars

    func loadVarsDirectory(_ dir: String, forGroups: Bool) throws {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: dir) else { return }
        for entry in entries.sorted() where !entry.hasPrefix(".") {
            let full = (dir as NSString).appendingPathComponent(entry)
            var isDir: ObjCBool = false
            fm.fileExists(atPath: full, isDirectory: &isDir)
            let name: String
            var files: [String]
            if isDir.boolValue {
                name = entry
                files = ((try? fm.contentsOfDirectory(atPath: full)) ?? []).sorted()
                    .filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
                    .map { (full as NSString).appendingPathComponent($0) }
            } else {
                let ext = (entry as NSString).pathExtension
                guard ["yml", "yaml", "json", ""].contains(ext) else { continue }
                name = (entry as NSString).deletingPathExtension
                files = [full]
            }
            for f in files {
                guard let node = try YAMLSource.load(path: f) else { continue }
                guard let vars = YAMLSource.value(node) as? [String: Any] else {
                    throw ProvisionError("variables file must be a mapping", at: YAMLSource.location(node, file: f))
                }
                if forGroups { if groups[name] != nil { setGroupVars(name, vars) } } else { setHostVars(name, vars) }
            }
        }
    }

    /// `web[01:03].example` → web01.example, web02.example, web03.example (also `[a:c]`).
    func expandHostRange(_ name: String, at location: SourceLocation) throws -> [String] {
        guard let open = name.firstIndex(of: "["), let close = name[open...].firstIndex(of: "]") else { return [name] }
        let inner = name[name.index(after: open)..<close].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard inner.count == 2 || inner.count == 3 else { return [name] }
        let prefix = String(name[..<open]), suffix = String(name[name.index(after: close)...])
        let step = inner.count == 3 ? (Int(inner[2]) ?? 1) : 1
        if let a = Int(inner[0]), let b = Int(inner[1]), a <= b, step > 0 {
            let width = inner[0].hasPrefix("0") ? inner[0].count : 0
            return stride(from: a, through: b, by: step).map {
                prefix + (width > 0 ? String(format: "%0\(width)d", $0) : String($0)) + suffix
            }
        }
        if inner[0].count == 1, inner[1].count == 1, let a = inner[0].unicodeScalars.first?.value,
           let b = inner[1].unicodeScalars.first?.value, a <= b {
            return (a...b).compactMap { Unicode.Scalar($0).map { prefix + String(Character($0)) + suffix } }
        }
        throw ProvisionError("bad host range in '\(name)'", at: location)
    }
}
