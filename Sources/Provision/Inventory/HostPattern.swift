import Foundation

/// An Ansible host pattern: terms separated by `:` or `,`; a plain term adds hosts, `&term`
/// intersects, `!term` excludes (applied in that order, like Ansible). A term is `all` / `*`, a
/// group, a host, a glob over group and host names (`web*`, `db[12]`), or `~regex`.
public struct HostPattern {
    public let text: String
    public init(_ text: String) { self.text = text }

    public func resolve(in inventory: Inventory) throws -> [String] {
        let terms = text.split(whereSeparator: { $0 == ":" || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var union = Set<String>(), intersections: [Set<String>] = [], exclusions = Set<String>()
        var sawPlain = false
        for term in terms {
            if term.hasPrefix("&") {
                intersections.append(try match(String(term.dropFirst()), inventory))
            } else if term.hasPrefix("!") {
                exclusions.formUnion(try match(String(term.dropFirst()), inventory))
            } else {
                sawPlain = true
                union.formUnion(try match(term, inventory))
            }
        }
        // Only `&`/`!` terms: they apply to all hosts (`!db` means all but db).
        if !sawPlain { union = Set(inventory.hostNames) }
        for i in intersections { union.formIntersection(i) }
        union.subtract(exclusions)
        return inventory.hostNames.filter { union.contains($0) }
    }

    private func match(_ term: String, _ inv: Inventory) throws -> Set<String> {
        if term == "all" || term == "*" { return Set(inv.hostNames) }
        if inv.groups[term] != nil { return Set(inv.hosts(inGroup: term)) }
        if inv.hostVars[term] != nil { return [term] }
        if term.hasPrefix("~") {
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: String(term.dropFirst())) } catch {
                throw ProvisionError("host pattern '\(text)': bad regular expression '\(term)'")
            }
            return select(inv) { name in
                regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
            }
        }
        if term.contains(where: { "*?[".contains($0) }) {
            return select(inv) { fnmatch(term, $0, 0) == 0 }
        }
        return []
    }

    private func select(_ inv: Inventory, _ test: (String) -> Bool) -> Set<String> {
        var result = Set(inv.hostNames.filter(test))
        for g in inv.groups.keys where test(g) { result.formUnion(inv.hosts(inGroup: g)) }
        return result
    }
}
