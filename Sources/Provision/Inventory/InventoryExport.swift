import Foundation

extension Inventory {
    /// ansible-inventory `--list` shape: every group with `hosts` / `children` / `vars` (empty
    /// ones left out), and `_meta.hostvars` with every host's merged variables.
    public func listJSON() -> [String: Any] {
        var out: [String: Any] = [:]
        for (name, g) in groups {
            var entry: [String: Any] = [:]
            let hosts = name == "all" ? [] : g.hosts
            if !hosts.isEmpty { entry["hosts"] = hosts }
            if !g.children.isEmpty { entry["children"] = g.children }
            if !g.vars.isEmpty { entry["vars"] = g.vars }
            if name == "ungrouped" && hosts.isEmpty { continue }
            out[name] = entry
        }
        if groups["ungrouped"]!.hosts.isEmpty { out["all"] = ["children": groups["all"]!.children.filter { $0 != "ungrouped" }] }
        var hostvars: [String: Any] = [:]
        for h in hostNames { hostvars[h] = variables(forHost: h) }
        out["_meta"] = ["hostvars": hostvars]
        return out
    }

    /// ansible-inventory `--graph`: the group tree from `name` with hosts as leaves.
    public func graph(from name: String = "all") -> String {
        var lines: [String] = []
        func walk(_ g: String, _ depth: Int) {
            let pad = String(repeating: "  |", count: depth)
            lines.append(depth == 0 ? "@\(g):" : "\(pad)--@\(g):")
            guard let group = groups[g] else { return }
            for c in group.children.sorted() where !(c == "ungrouped" && (groups[c]?.hosts.isEmpty ?? true)) {
                walk(c, depth + 1)
            }
            if g != "all" { for h in group.hosts { lines.append("\(pad)  |--\(h)") } }
        }
        walk(name, 0)
        return lines.joined(separator: "\n")
    }
}
