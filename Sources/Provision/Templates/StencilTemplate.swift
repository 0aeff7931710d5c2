import Foundation
import Stencil

/// Jinja-style templates (the `template` module, and `{% %}` in playbook strings) on Stencil.
///
/// How undefined variables become errors, never empty strings: Stencil resolves variables
/// leniently (a missing one renders as ""), so no Stencil variable resolution is used at all.
/// Before parsing, `{{ expr }}` is rewritten to `{% pvexpr expr %}` and `if`/`elif`/`endif`/
/// `for`/`endfor` to `pv`-prefixed tags (same line numbers); a Stencil `Extension` registers
/// those tags with nodes that evaluate with the engine's own expression language
/// (`ExpressionEvaluator`), looking names up in Stencil's `Context` (loop variables included)
/// and then in the host's variables. A name found nowhere throws `UndefinedVariableError` with
/// the template name and line. Filters are therefore Jinja's syntax (`x | join(', ')`).
/// Whitespace: Ansible's default `trim_blocks` (the newline right after a block tag is
/// dropped); `{%-`/`-%}` work as in Stencil.
public struct StencilTemplate {
    public let source: String
    public let name: String

    public init(source: String, name: String) {
        self.source = source
        self.name = name
    }

    /// Loads a template file; `name` in errors is its path.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProvisionError("cannot read template", at: SourceLocation(file: path))
        }
        self.init(source: String(decoding: data, as: UTF8.self), name: path)
    }

    public func render(variables: [String: Any]) throws -> String {
        try render(lookup: { variables[$0] })
    }

    /// `trimBlocks` / `lstripBlocks` are Jinja's (and the template module's) options of those
    /// names: the newline after a block tag dropped (the default), the blanks before a block tag
    /// that starts a line dropped.
    ///
    /// `{% include 'name' %}` renders another template with the same variables (loop variables
    /// included); `include` finds it (the template module: beside this template, then the
    /// templates/ search path), by default beside this template. As in Jinja, an included
    /// file's one trailing newline is dropped.
    public func render(lookup: @escaping (String) -> Any?, trimBlocks: Bool = true, lstripBlocks: Bool = false,
                       include: ((String) throws -> String)? = nil, depth: Int = 0) throws -> String {
        var (source, raws) = Self.extractRaw(self.source)
        if lstripBlocks {
            source = source.replacingOccurrences(of: #"(?m)^[ \t]+(\{%(?!\+))"#, with: "$1", options: .regularExpression)
        }
        // Without trim_blocks the newline after a block tag stays: one more is written for
        // the parser to drop (`{{ }}` is not rewritten to a tag yet, so only block tags match).
        if !trimBlocks { source = source.replacingOccurrences(of: #"([^-]%\})\n"#, with: "$1\n\n", options: .regularExpression) }
        let ext = Self.makeExtension(lookup: lookup, name: name)
        ext.registerTag("pvraw") { parser, token in
            StencilTemplate.trimAfterBlock(parser)
            return RawNode(text: raws[Int(StencilTemplate.argument(token, after: "pvraw")) ?? 0])
        }
        let dir = (name as NSString).deletingLastPathComponent
        let resolve = include ?? { (file: String) in
            let path = file.hasPrefix("/") ? file : (dir as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else { throw ProvisionError("template '\(file)' not found beside \(dir)") }
            return path
        }
        let options = IncludeNode.Options(resolve: resolve, trimBlocks: trimBlocks, lstripBlocks: lstripBlocks, depth: depth)
        ext.registerTag("pvinclude") { parser, token in
            StencilTemplate.trimAfterBlock(parser)
            return IncludeNode(StencilTemplate.argument(token, after: "pvinclude"), token: token, templateName: name, lookup: lookup, options: options)
        }
        let env = Environment(extensions: [ext])
        do {
            let template = Template(templateString: Self.rewrite(source), environment: env, name: name)
            return try template.render([:])
        } catch let error as TemplateSyntaxError {
            if let inner = StencilErrorBox.take(error.reason) { throw inner }
            let line = error.token.map { ":\($0.sourceMap.location.lineNumber)" } ?? ""
            throw ProvisionError("template \(name)\(line): \(error.reason)")
        }
    }

    /// `{% raw %}…{% endraw %}` → `{% pvraw N %}`, the text kept apart so nothing in it is
    /// parsed (Jinja's raw; trim_blocks drops the newline after `{% endraw %}`, not after `{% raw %}`).
    static func extractRaw(_ s: String) -> (String, [String]) {
        guard s.contains("raw") else { return (s, []) }
        let re = try! NSRegularExpression(pattern: #"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}"#, options: .dotMatchesLineSeparators)
        var out = "", raws: [String] = [], last = s.startIndex
        for m in re.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
            let whole = Range(m.range, in: s)!
            out += s[last..<whole.lowerBound] + "{% pvraw \(raws.count) %}"
            raws.append(String(s[Range(m.range(at: 1), in: s)!]))
            last = whole.upperBound
        }
        return (out + s[last...], raws)
    }

    /// `{{ e }}` → `{% pvexpr e %}`; `{% if/elif/endif/for/endfor/include` → `pv…` (positions kept).
    static func rewrite(_ s: String) -> String {
        var out = s.replacingOccurrences(of: #"\{\{(-?)((?:(?!\}\}).)*?)(-?)\}\}"#, with: "{%$1 pvexpr $2 $3%}",
                                         options: .regularExpression)
        out = out.replacingOccurrences(of: #"\{%(-?)(\s*)(if|elif|endif|for|endfor|include)\b"#, with: "{%$1$2pv$3",
                                       options: .regularExpression)
        return out
    }

    static func makeExtension(lookup: @escaping (String) -> Any?, name: String) -> Extension {
        let ext = Extension()
        ext.registerTag("pvexpr") { _, token in
            ExprNode(source: argument(token, after: "pvexpr"), token: token, templateName: name, lookup: lookup)
        }
        ext.registerTag("pvif") { parser, token in try IfNode.parse(parser, token, name, lookup) }
        ext.registerTag("pvfor") { parser, token in try ForNode.parse(parser, token, name, lookup) }
        return ext
    }

    static func argument(_ token: Token, after tag: String) -> String {
        let c = token.contents.trimmingCharacters(in: .whitespaces)
        return String(c.dropFirst(tag.count)).trimmingCharacters(in: .whitespaces)
    }

    /// Drops the newline right after a block tag (Jinja's trim_blocks).
    static func trimAfterBlock(_ parser: TokenParser) {
        guard let next = parser.nextToken() else { return }
        if case .text = next.kind, next.contents.hasPrefix("\n") {
            parser.prependToken(.text(value: String(next.contents.dropFirst()), at: next.sourceMap))
        } else {
            parser.prependToken(next)
        }
    }
}

/// Stencil wraps node errors into TemplateSyntaxError(reason: "\(error)"); this keeps the
/// original error so callers get `UndefinedVariableError` back.
enum StencilErrorBox {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pending: [String: Error] = [:]
    static func wrap(_ error: Error) -> Error {
        lock.lock(); pending["\(error)"] = error; lock.unlock()
        return error
    }
    static func take(_ reason: String) -> Error? {
        lock.lock(); defer { lock.unlock() }
        return pending.removeValue(forKey: reason)
    }
}

/// Shared evaluation for the custom nodes: context first (loop variables), then host variables.
private func evaluate(_ source: String, _ token: Token, _ name: String, _ context: Context,
                      _ lookup: @escaping (String) -> Any?) throws -> Any {
    let evaluator = ExpressionEvaluator(lookup: { key in
        if let v = context[key] { return v }
        return lookup(key)
    })
    let location = "\(name):\(token.sourceMap.location.lineNumber)"
    do {
        return try evaluator.eval(ExpressionCache.parse(source))
    } catch var error as UndefinedVariableError {
        error.location = error.location ?? location
        throw StencilErrorBox.wrap(error)
    } catch let error as ProvisionError {
        throw StencilErrorBox.wrap(ProvisionError("\(location): \(error.message)"))
    }
}

private final class ExprNode: NodeType {
    let source: String, token: Token?, templateName: String, lookup: (String) -> Any?
    init(source: String, token: Token, templateName: String, lookup: @escaping (String) -> Any?) {
        self.source = source; self.token = token; self.templateName = templateName; self.lookup = lookup
    }
    func render(_ context: Context) throws -> String {
        Values.string(try evaluate(source, token!, templateName, context, lookup))
    }
}

private final class RawNode: NodeType {
    let text: String
    let token: Token? = nil
    init(text: String) { self.text = text }
    func render(_ context: Context) throws -> String { text }
}

private final class IfNode: NodeType {
    let branches: [(condition: String?, nodes: [NodeType])], token: Token?, templateName: String
    let lookup: (String) -> Any?
    init(branches: [(String?, [NodeType])], token: Token, templateName: String, lookup: @escaping (String) -> Any?) {
        self.branches = branches.map { (condition: $0.0, nodes: $0.1) }
        self.token = token; self.templateName = templateName; self.lookup = lookup
    }

    static func parse(_ parser: TokenParser, _ token: Token, _ name: String, _ lookup: @escaping (String) -> Any?) throws -> NodeType {
        var branches: [(String?, [NodeType])] = []
        var condition: String? = StencilTemplate.argument(token, after: "pvif")
        while true {
            StencilTemplate.trimAfterBlock(parser)
            let nodes = try parser.parse(until(["pvelif", "else", "pvendif"]))
            branches.append((condition, nodes))
            guard let end = parser.nextToken() else { throw TemplateSyntaxError("`endif` was not found.") }
            let word = end.components.first ?? ""
            if word == "pvendif" { StencilTemplate.trimAfterBlock(parser); break }
            condition = word == "else" ? nil : StencilTemplate.argument(end, after: "pvelif")
        }
        return IfNode(branches: branches, token: token, templateName: name, lookup: lookup)
    }

    func render(_ context: Context) throws -> String {
        for b in branches {
            if let c = b.condition, !Values.truthy(try evaluate(c, token!, templateName, context, lookup)) { continue }
            return try renderNodes(b.nodes, context)
        }
        return ""
    }
}

private final class ForNode: NodeType {
    let names: [String], iterable: String, body: [NodeType], empty: [NodeType], token: Token?
    let templateName: String, lookup: (String) -> Any?
    init(names: [String], iterable: String, body: [NodeType], empty: [NodeType], token: Token, templateName: String,
         lookup: @escaping (String) -> Any?) {
        self.names = names; self.iterable = iterable; self.body = body; self.empty = empty
        self.token = token; self.templateName = templateName; self.lookup = lookup
    }

    static func parse(_ parser: TokenParser, _ token: Token, _ name: String, _ lookup: @escaping (String) -> Any?) throws -> NodeType {
        let arg = StencilTemplate.argument(token, after: "pvfor")
        guard let inRange = arg.range(of: " in ") else { throw TemplateSyntaxError("for: expected `for x in items`") }
        let names = arg[..<inRange.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let iterable = String(arg[inRange.upperBound...])
        StencilTemplate.trimAfterBlock(parser)
        let body = try parser.parse(until(["else", "pvendfor"]))
        var empty: [NodeType] = []
        guard var end = parser.nextToken() else { throw TemplateSyntaxError("`endfor` was not found.") }
        if end.components.first == "else" {
            StencilTemplate.trimAfterBlock(parser)
            empty = try parser.parse(until(["pvendfor"]))
            guard let e = parser.nextToken() else { throw TemplateSyntaxError("`endfor` was not found.") }
            end = e
        }
        StencilTemplate.trimAfterBlock(parser)
        return ForNode(names: names, iterable: iterable, body: body, empty: empty, token: token, templateName: name, lookup: lookup)
    }

    func render(_ context: Context) throws -> String {
        let value = try evaluate(iterable, token!, templateName, context, lookup)
        let items: [Any]
        switch value {
        case let a as [Any]: items = a
        case let d as [String: Any]: items = d.keys.sorted()
        case let s as String: items = s.map { String($0) }
        default: throw StencilErrorBox.wrap(ProvisionError("\(templateName):\(token!.sourceMap.location.lineNumber): cannot loop over a \(Values.typeName(value))"))
        }
        if items.isEmpty { return try renderNodes(empty, context) }
        var out = ""
        for (i, item) in items.enumerated() {
            var scope: [String: Any] = ["loop": ["index": i + 1, "index0": i, "first": i == 0, "last": i == items.count - 1,
                                                 "length": items.count, "revindex": items.count - i]]
            if names.count == 1 { scope[names[0]] = item } else {
                let tuple = item as? [Any] ?? []
                for (n, name) in names.enumerated() { scope[name] = n < tuple.count ? tuple[n] : NSNull() }
            }
            out += try context.push(dictionary: scope) { try renderNodes(body, context) }
        }
        return out
    }
}

/// `{% include expr [ignore missing] [with context|without context] %}`.
private final class IncludeNode: NodeType {
    struct Options {
        var resolve: (String) throws -> String
        var trimBlocks: Bool, lstripBlocks: Bool, depth: Int
    }
    let source: String, ignoreMissing: Bool, token: Token?, templateName: String
    let lookup: (String) -> Any?, options: Options

    init(_ argument: String, token: Token, templateName: String, lookup: @escaping (String) -> Any?, options: Options) {
        var arg = argument
        for suffix in [" with context", " without context"] where arg.hasSuffix(suffix) { arg.removeLast(suffix.count) }
        ignoreMissing = arg.hasSuffix(" ignore missing")
        if ignoreMissing { arg.removeLast(" ignore missing".count) }
        source = arg; self.token = token; self.templateName = templateName; self.lookup = lookup; self.options = options
    }

    func render(_ context: Context) throws -> String {
        let file = Values.string(try evaluate(source, token!, templateName, context, lookup))
        let location = "\(templateName):\(token!.sourceMap.location.lineNumber)"
        guard options.depth < 20 else { throw StencilErrorBox.wrap(ProvisionError("\(location): include nested too deeply (\(file))")) }
        let path: String
        do { path = try options.resolve(file) } catch {
            if ignoreMissing { return "" }
            throw StencilErrorBox.wrap(ProvisionError("\(location): \(error)"))
        }
        do {
            var template = try StencilTemplate(path: path)
            // Jinja's keep_trailing_newline=False, as Ansible leaves it for included files.
            if template.source.hasSuffix("\n") { template = StencilTemplate(source: String(template.source.dropLast()), name: path) }
            let lookup = self.lookup
            return try template.render(lookup: { context[$0] ?? lookup($0) }, trimBlocks: options.trimBlocks,
                                       lstripBlocks: options.lstripBlocks, include: options.resolve, depth: options.depth + 1)
        } catch {
            throw StencilErrorBox.wrap(error)
        }
    }
}
