import Foundation

/// Parse-time checks of expressions, so a playbook with a syntax error or an unknown filter in
/// `{{ }}` or `when:` is refused before anything runs (variables are only known at run time).
enum ExpressionCheck {
    /// Checks every `{{ }}` in a value (strings inside lists and mappings too).
    static func templates(in value: Any) throws {
        switch value {
        case let s as String:
            guard s.contains("{{"), !s.contains("{%") else { return }
            for case let .expression(e) in try Templater.split(s, location: nil) { try expression(e) }
        case let a as [Any]: for v in a { try templates(in: v) }
        case let d as [String: Any]: for v in d.values { try templates(in: v) }
        default: break
        }
    }

    /// Checks a bare expression (`when:` etc.), or the templates in it.
    static func condition(_ value: Any) throws {
        if let list = value as? [Any] { for v in list { try condition(v) }; return }
        guard let s = value as? String else { return }
        if s.contains("{{") || s.contains("{%") { return try templates(in: s) }
        try expression(s)
    }

    static func expression(_ source: String) throws {
        try walk(ExpressionCache.parse(source), source)
    }

    private static func walk(_ e: Expr, _ source: String) throws {
        switch e {
        case .literal, .name: break
        case let .list(items): for i in items { try walk(i, source) }
        case let .dict(pairs): for (k, v) in pairs { try walk(k, source); try walk(v, source) }
        case let .attr(b, _): try walk(b, source)
        case let .index(b, i): try walk(b, source); try walk(i, source)
        case let .filter(b, name, args, named):
            guard Filters.names.contains(name) else { throw ProvisionError("unknown filter '\(name)' in '\(source)'") }
            try walk(b, source)
            for a in args { try walk(a, source) }
            for a in named.values { try walk(a, source) }
        case let .call(b, _, args, named): try walk(b, source); for a in args + Array(named.values) { try walk(a, source) }
        case let .unary(_, x): try walk(x, source)
        case let .binary(_, l, r): try walk(l, source); try walk(r, source)
        case let .test(x, _, _, args): try walk(x, source); for a in args { try walk(a, source) }
        case let .conditional(a, b, c): try walk(a, source); try walk(b, source); try walk(c, source)
        }
    }
}
