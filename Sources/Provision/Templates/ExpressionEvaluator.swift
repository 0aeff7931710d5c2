import Foundation

/// Evaluates parsed expressions against variables. A name or attribute that does not exist
/// throws `UndefinedVariableError` naming it (`x`, `x.y`); only `is defined` / `is undefined`,
/// `default(...)` and the short-circuit of `and`/`or`/`if` keep it from failing the task.
struct ExpressionEvaluator {
    /// The value of `omit`: a module option rendering to exactly this is left out.
    static let omit = "__omit_place_holder__provision"

    /// Looks a top-level name up; nil when undefined.
    let lookup: (String) -> Any?

    func eval(_ e: Expr) throws -> Any {
        switch e {
        case let .literal(v): return v
        case let .name(n):
            guard let v = lookup(n) else {
                if n == "omit" { return Self.omit }
                throw UndefinedVariableError(name: n)
            }
            return v
        case let .list(items): return try items.map { try eval($0) }
        case let .dict(pairs):
            var d: [String: Any] = [:]
            for (k, v) in pairs { d[Values.string(try eval(k))] = try eval(v) }
            return d
        case let .attr(base, name):
            let b = try eval(base)
            if let d = b as? [String: Any], let v = d[name] { return v }
            throw UndefinedVariableError(name: path(e))
        case let .index(base, idx):
            let b = try eval(base), i = try eval(idx)
            if let d = b as? [String: Any], let v = d[Values.string(i)] { return v }
            if let a = b as? [Any], let n = i as? Int {
                let k = n < 0 ? a.count + n : n
                if a.indices.contains(k) { return a[k] }
            }
            if let s = b as? String, let n = i as? Int {
                let chars = Array(s), k = n < 0 ? chars.count + n : n
                if chars.indices.contains(k) { return String(chars[k]) }
            }
            throw UndefinedVariableError(name: "\(path(base))[\(Values.json(i))]")
        case let .filter(base, name, args, named):
            if name == "default" || name == "d" {
                let fallback = try args.first.map { try eval($0) } ?? ""
                let onFalse = try args.count > 1 ? Values.truthy(eval(args[1])) : false
                guard let v = try defined(base) else { return fallback }
                return onFalse && !Values.truthy(v) ? fallback : v
            }
            if name == "mandatory" {
                guard let v = try defined(base) else {
                    let msg = try args.first.map { Values.string(try eval($0)) } ?? "Mandatory variable '\(path(base))' not defined."
                    throw ProvisionError(msg)
                }
                return v
            }
            return try Filters.apply(name, to: eval(base), args: args.map { try eval($0) },
                                     named: named.mapValues { try eval($0) })
        case let .call(.literal(base), fn, args, named) where base is NSNull && (fn == "lookup" || fn == "query" || fn == "q"):
            return try Lookups.call(wantList: fn != "lookup", args: args.map { try eval($0) }, named: named.mapValues { try eval($0) },
                                    variables: lookup)
        case let .call(.literal(base), fn, args, _) where base is NSNull:
            return try Filters.function(fn, args: args.map { try eval($0) })
        case let .call(base, method, args, _):
            return try Filters.method(method, on: eval(base), args: args.map { try eval($0) })
        case let .unary(op, x):
            if op == "not" { return !Values.truthy(try eval(x)) }
            let v = try eval(x)
            if let i = v as? Int { return -i }
            if let d = Values.number(v) { return -d }
            throw ProvisionError("cannot negate a \(Values.typeName(v))")
        case let .binary(op, l, r):
            return try binary(op, l, r)
        case let .test(x, name, negated, args):
            return try test(x, name, args.map { try eval($0) }) != negated
        case let .conditional(then, cond, otherwise):
            return Values.truthy(try eval(cond)) ? try eval(then) : try eval(otherwise)
        }
    }

    /// The value, or nil when it (or a part of its path) is undefined.
    func defined(_ e: Expr) throws -> Any? {
        do { return try eval(e) } catch is UndefinedVariableError { return nil }
    }

    func path(_ e: Expr) -> String {
        switch e {
        case let .name(n): return n
        case let .attr(b, n): return path(b) + "." + n
        case let .index(b, i): return path(b) + "[" + ((try? Values.json(eval(i))) ?? "?") + "]"
        default: return "(expression)"
        }
    }

    func binary(_ op: String, _ l: Expr, _ r: Expr) throws -> Any {
        switch op {
        case "and": let a = try eval(l); return Values.truthy(a) ? try eval(r) : a
        case "or": let a = try eval(l); return Values.truthy(a) ? a : try eval(r)
        default: break
        }
        let a = try eval(l), b = try eval(r)
        switch op {
        case "==": return Values.equal(a, b)
        case "!=": return !Values.equal(a, b)
        case "<", "<=", ">", ">=":
            guard let c = Values.compare(a, b) else {
                throw ProvisionError("cannot compare \(Values.typeName(a)) with \(Values.typeName(b)) using '\(op)'")
            }
            switch op {
            case "<": return c == .orderedAscending
            case "<=": return c != .orderedDescending
            case ">": return c == .orderedDescending
            default: return c != .orderedAscending
            }
        case "in":
            if let s = b as? String { return s.contains(Values.string(a)) }
            if let arr = b as? [Any] { return arr.contains { Values.equal($0, a) } }
            if let d = b as? [String: Any] { return d[Values.string(a)] != nil }
            throw ProvisionError("'in' needs a string, list or mapping on the right, got \(Values.typeName(b))")
        case "~": return Values.string(a) + Values.string(b)
        case "+":
            if let x = a as? Int, let y = b as? Int { return x + y }
            if let x = Values.number(a), let y = Values.number(b) { return x + y }
            if let x = a as? String, let y = b as? String { return x + y }
            if let x = a as? [Any], let y = b as? [Any] { return x + y }
            throw ProvisionError("cannot add \(Values.typeName(a)) and \(Values.typeName(b))")
        default:
            if let x = a as? Int, let y = b as? Int, op != "/" {
                switch op {
                case "-": return x - y
                case "*": return x * y
                case "//": guard y != 0 else { throw ProvisionError("division by zero") }; return Int((Double(x) / Double(y)).rounded(.down))
                default: guard y != 0 else { throw ProvisionError("division by zero") }; return ((x % y) + y) % y
                }
            }
            guard let x = Values.number(a), let y = Values.number(b) else {
                throw ProvisionError("'\(op)' needs numbers, got \(Values.typeName(a)) and \(Values.typeName(b))")
            }
            switch op {
            case "-": return x - y
            case "*": return x * y
            case "/": guard y != 0 else { throw ProvisionError("division by zero") }; return x / y
            case "//": guard y != 0 else { throw ProvisionError("division by zero") }; return (x / y).rounded(.down)
            default: guard y != 0 else { throw ProvisionError("division by zero") }; return x.truncatingRemainder(dividingBy: y)
            }
        }
    }

    func test(_ x: Expr, _ name: String, _ args: [Any]) throws -> Bool {
        switch name {
        case "defined": return try defined(x) != nil
        case "undefined": return try defined(x) == nil
        default: break
        }
        let v = try eval(x)
        switch name {
        case "none": return v is NSNull
        case "string": return v is String
        case "number": return Values.number(v) != nil
        case "integer": return v is Int && !(v is Bool)
        case "boolean": return v is Bool
        case "mapping": return v is [String: Any]
        case "sequence", "iterable": return v is [Any] || v is String || v is [String: Any]
        case "true": return (v as? Bool) == true
        case "false": return (v as? Bool) == false
        case "truthy": return Values.truthy(v)
        case "falsy": return !Values.truthy(v)
        case "even": return ((v as? Int) ?? 1) % 2 == 0
        case "odd": return ((v as? Int) ?? 0) % 2 == 1
        case "eq", "equalto", "sameas": return Values.equal(v, args.first)
        case "in": return try Values.truthy(binaryIn(v, args.first))
        case "match", "search":
            let s = Values.string(v), pattern = Values.string(args.first)
            let anchored = name == "match" ? "^(?:\(pattern))" : pattern
            return s.range(of: anchored, options: .regularExpression) != nil
        case "failed", "failure": return Values.truthy(try result(v, name)["failed"])
        case "succeeded", "success", "successful": return !Values.truthy(try result(v, name)["failed"])
        case "changed", "change": return Values.truthy(try result(v, name)["changed"])
        case "skipped", "skip": return Values.truthy(try result(v, name)["skipped"])
        case "unreachable": return Values.truthy(try result(v, name)["unreachable"])
        case "reachable": return !Values.truthy(try result(v, name)["unreachable"])
        case "finished": return try result(v, name)["finished"].map { Values.truthy($0) } ?? true
        default: throw ProvisionError("unknown test '\(name)'")
        }
    }

    /// A registered task result, as the `is changed` family of tests needs (Ansible refuses others).
    private func result(_ v: Any, _ test: String) throws -> [String: Any] {
        guard let d = v as? [String: Any] else {
            throw ProvisionError("the '\(test)' test expects a registered task result (a mapping), got \(Values.typeName(v))")
        }
        return d
    }

    private func binaryIn(_ a: Any, _ b: Any?) throws -> Bool {
        if let arr = b as? [Any] { return arr.contains { Values.equal($0, a) } }
        if let s = b as? String { return s.contains(Values.string(a)) }
        if let d = b as? [String: Any] { return d[Values.string(a)] != nil }
        return false
    }
}
