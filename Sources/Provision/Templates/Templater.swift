import Foundation

/// Renders `{{ expr }}` in playbook strings and evaluates bare expressions (`when:` etc.)
/// against one host's variables.
///
/// A string that is exactly one `{{ expr }}` keeps the expression's native type (a list stays a
/// list, `{{ 3 }}` is an Int); anything else renders to a string. Strings containing `{%` are
/// rendered by `StencilTemplate` (for/if blocks). An undefined variable throws
/// `UndefinedVariableError` carrying the variable's name and `location` (file:line) — it never
/// renders as an empty string.
public struct Templater {
    /// Top-level variable lookup; nil means undefined.
    public let lookup: (String) -> Any?

    public init(lookup: @escaping (String) -> Any?) { self.lookup = lookup }
    public init(variables: [String: Any]) { self.lookup = { variables[$0] } }

    private var evaluator: ExpressionEvaluator { ExpressionEvaluator(lookup: lookup) }

    /// Evaluates a bare expression (`x > 1 and y is defined`). A value that is already a
    /// non-string (a YAML bool in `when: true`) is returned as is; `{{ }}` inside is allowed.
    public func evaluate(_ expression: Any, location: String? = nil) throws -> Any {
        guard let text = expression as? String else { return expression }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("{{") || trimmed.contains("{%") { return try render(trimmed, location: location) }
        return try located(location) { try evaluator.eval(ExpressionCache.parse(trimmed)) }
    }

    /// Evaluates a condition (`when`, `failed_when`, ...): a string is an expression, a list
    /// means all of them, anything else is judged by truthiness.
    public func condition(_ expression: Any, location: String? = nil) throws -> Bool {
        if let list = expression as? [Any] { return try list.allSatisfy { try condition($0, location: location) } }
        return Values.truthy(try evaluate(expression, location: location))
    }

    /// Renders a string with `{{ }}` (and `{% %}` via Stencil); returns the input unchanged when
    /// it has neither.
    public func render(_ text: String, location: String? = nil) throws -> Any {
        if text.contains("{%") {
            return try StencilTemplate(source: text, name: location ?? "<string>").render(lookup: lookup)
        }
        guard text.contains("{{") else { return text }
        let parts = try Self.split(text, location: location)
        if parts.count == 1, case let .expression(e) = parts[0] {
            return try located(location) { try evaluator.eval(ExpressionCache.parse(e)) }
        }
        var out = ""
        for part in parts {
            switch part {
            case let .text(t): out += t
            case let .expression(e):
                let v: Any = try located(location) { try evaluator.eval(ExpressionCache.parse(e)) }
                out += Values.string(v)
            }
        }
        return out
    }

    /// Renders every string inside a value (lists and mappings walked; keys rendered too).
    public func renderDeep(_ value: Any, location: String? = nil) throws -> Any {
        switch value {
        case let s as String: return try render(s, location: location)
        case let a as [Any]: return try a.map { try renderDeep($0, location: location) }
        case let d as [String: Any]:
            var out: [String: Any] = [:]
            for (k, v) in d { out[Values.string(try render(k, location: location))] = try renderDeep(v, location: location) }
            return out
        default: return value
        }
    }

    enum Part { case text(String), expression(String) }

    /// Splits `a {{ x }} b` into text and expression parts.
    static func split(_ text: String, location: String?) throws -> [Part] {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw ProvisionError("unterminated '{{' in \"\(text)\"" + (location.map { " at \($0)" } ?? ""))
            }
            parts.append(.expression(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return parts
    }

    /// Adds `location` to undefined-variable errors and expression errors raised by `body`.
    func located<T>(_ location: String?, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var error as UndefinedVariableError {
            if error.location == nil { error.location = location }
            throw error
        } catch let error as ProvisionError where error.location == nil && location != nil {
            throw ProvisionError("\(error.message) (in \(location!))")
        }
    }
}

/// Parsed expressions by source text: a playbook evaluates the same few expressions on every
/// host and loop item, and parsing is most of the cost.
enum ExpressionCache {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Expr] = [:]

    static func parse(_ source: String) throws -> Expr {
        lock.lock()
        if let e = cache[source] { lock.unlock(); return e }
        lock.unlock()
        let e = try ExpressionParser.parse(source)
        lock.lock(); cache[source] = e; lock.unlock()
        return e
    }
}
