import Foundation

/// Variables whose values are templates themselves, rendered when looked up (as the engine does
/// for a host), so `{{ postgres_superuser_password }}` gives the password, not its lookup().
public final class NestedVariables {
    let vars: [String: Any]
    var depth = 0
    public init(_ vars: [String: Any]) { self.vars = vars }

    public var templater: Templater { Templater(lookup: { [self] in lookup($0) }) }

    public func lookup(_ name: String) -> Any? {
        guard let v = vars[name] else { return nil }
        guard let s = v as? String, s.contains("{{") || s.contains("{%"), depth < 20 else { return v }
        depth += 1
        defer { depth -= 1 }
        return try? templater.render(s, location: "variable '\(name)'")
    }
}
