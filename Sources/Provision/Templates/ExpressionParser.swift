import Foundation

/// The Jinja-like expression language of `{{ }}`, `when`, `changed_when`, `failed_when`,
/// `until` and `assert`. Grammar (lowest precedence first):
/// `a if c else b` · `or` · `and` · `not` · comparisons (`== != < <= > >= in, not in,
/// is [not] test`) · `~` `+` `-` · `*` `/` `//` `%` · unary `-` · postfix (`.attr`, `[index]`,
/// `| filter(args)`, `(args)` on a few methods) · literals, names, `(...)`, `[...]`, `{...}`.
indirect enum Expr {
    case literal(Any)
    case name(String)
    case list([Expr])
    case dict([(Expr, Expr)])
    case attr(Expr, String)
    case index(Expr, Expr)
    case filter(Expr, String, [Expr], [String: Expr])
    case call(Expr, String, [Expr], [String: Expr])   // x.items(), s.startswith(...), lookup('vars', n, default=1)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case test(Expr, String, Bool, [Expr])   // x is [not] name(args)
    case conditional(Expr, Expr, Expr)      // then if cond else otherwise
}

struct ExpressionParser {
    enum Token: Equatable {
        case number(Double, isInt: Bool), string(String), ident(String), op(String), end
    }

    private var tokens: [Token] = []
    private var pos = 0
    let source: String

    init(_ source: String) throws {
        self.source = source
        tokens = try Self.lex(source)
    }

    static func parse(_ source: String) throws -> Expr {
        var p = try ExpressionParser(source)
        let e = try p.parseConditional()
        guard p.peek == .end else { throw p.error("unexpected \(p.describe(p.peek))") }
        return e
    }

    func error(_ msg: String) -> ProvisionError { ProvisionError("expression '\(source)': \(msg)") }

    static func lex(_ s: String) throws -> [Token] {
        var out: [Token] = []
        let chars = Array(s)
        var i = 0
        let ops3 = ["//"], ops2 = ["==", "!=", "<=", ">=", "**"] + ops3
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            if c.isNumber {
                var j = i, isInt = true
                while j < chars.count, chars[j].isNumber || (chars[j] == "." && isInt && j + 1 < chars.count && chars[j + 1].isNumber) {
                    if chars[j] == "." { isInt = false }
                    j += 1
                }
                out.append(.number(Double(String(chars[i..<j]))!, isInt: isInt)); i = j; continue
            }
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                out.append(.ident(String(chars[i..<j]))); i = j; continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1, str = ""
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count {
                        j += 1
                        // Python's string escapes; an unknown one keeps its backslash, as Jinja's
                        // lexer does ('\d+' in a regex test stays \d+).
                        switch chars[j] {
                        case "n": str.append("\n")
                        case "t": str.append("\t")
                        case "r": str.append("\r")
                        case "\\", "'", "\"": str.append(chars[j])
                        default: str.append("\\"); str.append(chars[j])
                        }
                    } else { str.append(chars[j]) }
                    j += 1
                }
                guard j < chars.count else { throw ProvisionError("expression '\(s)': unterminated string") }
                out.append(.string(str)); i = j + 1; continue
            }
            if i + 1 < chars.count, ops2.contains(String(chars[i...i + 1])) {
                out.append(.op(String(chars[i...i + 1]))); i += 2; continue
            }
            if "()[]{}.,:|+-*/%<>~!=".contains(c) { out.append(.op(String(c))); i += 1; continue }
            throw ProvisionError("expression '\(s)': unexpected character '\(c)'")
        }
        out.append(.end)
        return out
    }

    var peek: Token { tokens[pos] }
    mutating func next() -> Token { defer { pos += 1 }; return tokens[pos] }
    mutating func accept(_ t: Token) -> Bool { if peek == t { pos += 1; return true }; return false }
    mutating func expect(_ op: String) throws { guard accept(.op(op)) else { throw error("expected '\(op)' but found \(describe(peek))") } }
    func describe(_ t: Token) -> String {
        switch t {
        case let .number(n, isInt): return isInt ? "\(Int(n))" : "\(n)"
        case let .string(s): return "'\(s)'"
        case let .ident(s): return "'\(s)'"
        case let .op(s): return "'\(s)'"
        case .end: return "end of expression"
        }
    }

    mutating func parseConditional() throws -> Expr {
        let then = try parseOr()
        if accept(.ident("if")) {
            let cond = try parseOr()
            let otherwise: Expr = accept(.ident("else")) ? try parseConditional() : .literal(NSNull())
            return .conditional(then, cond, otherwise)
        }
        return then
    }

    mutating func parseOr() throws -> Expr {
        var e = try parseAnd()
        while accept(.ident("or")) { e = .binary("or", e, try parseAnd()) }
        return e
    }

    mutating func parseAnd() throws -> Expr {
        var e = try parseNot()
        while accept(.ident("and")) { e = .binary("and", e, try parseNot()) }
        return e
    }

    mutating func parseNot() throws -> Expr {
        if accept(.ident("not")) { return .unary("not", try parseNot()) }
        return try parseComparison()
    }

    mutating func parseComparison() throws -> Expr {
        var e = try parseAdditive()
        while true {
            if case let .op(o) = peek, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                pos += 1; e = .binary(o, e, try parseAdditive())
            } else if accept(.ident("in")) {
                e = .binary("in", e, try parseAdditive())
            } else if peek == .ident("not"), tokens[pos + 1] == .ident("in") {
                pos += 2; e = .unary("not", .binary("in", e, try parseAdditive()))
            } else if accept(.ident("is")) {
                let negated = accept(.ident("not"))
                guard case let .ident(name) = next() else { throw error("expected a test name after 'is'") }
                var args: [Expr] = []
                if accept(.op("(")) { args = try parseArgs(close: ")").positional }
                else if case .number = peek { args = [try parsePrimary()] }
                else if case .string = peek { args = [try parsePrimary()] }
                e = .test(e, name, negated, args)
            } else { return e }
        }
    }

    mutating func parseAdditive() throws -> Expr {
        var e = try parseMultiplicative()
        while case let .op(o) = peek, ["+", "-", "~"].contains(o) { pos += 1; e = .binary(o, e, try parseMultiplicative()) }
        return e
    }

    mutating func parseMultiplicative() throws -> Expr {
        var e = try parseUnary()
        while case let .op(o) = peek, ["*", "/", "//", "%"].contains(o) { pos += 1; e = .binary(o, e, try parseUnary()) }
        return e
    }

    mutating func parseUnary() throws -> Expr {
        if accept(.op("-")) { return .unary("-", try parseUnary()) }
        if accept(.op("+")) { return try parseUnary() }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws -> Expr {
        var e = try parsePrimary()
        while true {
            if accept(.op(".")) {
                guard case let .ident(name) = next() else {
                    if case let .number(n, true) = tokens[pos - 1] { e = .index(e, .literal(Int(n))); continue }
                    throw error("expected an attribute name after '.'")
                }
                if accept(.op("(")) { let a = try parseArgs(close: ")"); e = .call(e, name, a.positional, a.named) } else { e = .attr(e, name) }
            } else if accept(.op("[")) {
                e = .index(e, try parseConditional()); try expect("]")
            } else if case let .name(fn) = e, accept(.op("(")) {
                let a = try parseArgs(close: ")"); e = .call(.literal(NSNull()), fn, a.positional, a.named)
            } else if accept(.op("|")) {
                guard case var .ident(name) = next() else { throw error("expected a filter name after '|'") }
                // A collection-qualified name (`ansible.utils.ipaddr`) names the same filter.
                while accept(.op(".")) {
                    guard case let .ident(part) = next() else { throw error("expected a filter name after '\(name).'") }
                    name += "." + part
                }
                name = Filters.shortName(name)
                var args = (positional: [Expr](), named: [String: Expr]())
                if accept(.op("(")) { args = try parseArgs(close: ")") }
                e = .filter(e, name, args.positional, args.named)
            } else { return e }
        }
    }

    mutating func parseArgs(close: String) throws -> (positional: [Expr], named: [String: Expr]) {
        var positional: [Expr] = [], named: [String: Expr] = [:]
        if accept(.op(close)) { return (positional, named) }
        repeat {
            if case let .ident(name) = peek, tokens[pos + 1] == .op("=") {
                pos += 2; named[name] = try parseConditional()
            } else { positional.append(try parseConditional()) }
        } while accept(.op(","))
        try expect(close)
        return (positional, named)
    }

    mutating func parsePrimary() throws -> Expr {
        switch next() {
        case let .number(n, isInt): return .literal(isInt && n < 9.2e18 ? Int(n) as Any : n as Any)
        case let .string(s): return .literal(s)
        case let .ident(name):
            switch name {
            case "true", "True": return .literal(true)
            case "false", "False": return .literal(false)
            case "none", "None", "null": return .literal(NSNull())
            case "and", "or", "in", "is", "if", "else": throw error("unexpected '\(name)'")
            default: return .name(name)
            }
        case .op("("):
            let e = try parseConditional(); try expect(")"); return e
        case .op("["):
            return .list(try parseArgs(close: "]").positional)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            if accept(.op("}")) { return .dict(pairs) }
            repeat {
                let k = try parseConditional(); try expect(":"); pairs.append((k, try parseConditional()))
            } while accept(.op(","))
            try expect("}")
            return .dict(pairs)
        case let t: throw error("unexpected \(describe(t))")
        }
    }
}
