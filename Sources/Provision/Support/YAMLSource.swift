import Foundation
import Yams

/// Reads YAML files as Yams nodes (kept for their marks, so errors name file:line:column) and
/// converts nodes to plain values (`String`, `Int`, `Double`, `Bool`, `NSNull`, `[Any]`,
/// `[String: Any]`). Timestamps and binary stay strings: variables are text-first like Ansible's.
public enum YAMLSource {
    /// Parses `path`; a syntax error becomes a `ProvisionError` at file:line:column.
    public static func load(path: String) throws -> Node? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProvisionError("cannot read file", at: SourceLocation(file: path))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProvisionError("file is not UTF-8", at: SourceLocation(file: path))
        }
        return try parse(text, file: path)
    }

    /// Parses YAML text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw convert(error, file: file)
        }
    }

    static func convert(_ error: YamlError, file: String) -> ProvisionError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let extra = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            return ProvisionError("YAML syntax error: \(problem)\(extra)",
                                  at: SourceLocation(file: file, line: mark.line, column: mark.column))
        case let .duplicatedKeysInMapping(duplicates, context):
            return ProvisionError("YAML: duplicate key(s) \(duplicates.joined(separator: ", "))",
                                  at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column))
        default:
            return ProvisionError("YAML error: \(error)", at: SourceLocation(file: file))
        }
    }

    /// Location of a node in `file`.
    public static func location(_ node: Node?, file: String) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// The plain value of a node (YAML 1.1 scalars resolved by Yams' tags).
    public static func value(_ node: Node) -> Any {
        switch node {
        case let .scalar(scalar):
            // Quoted and block scalars, and explicit !!str, are strings; plain ones resolve.
            if scalar.style != .plain || scalar.tag.rawValue == Tag.Name.str.rawValue { return scalar.string }
            if let v = node.null { return v }
            if let b = node.bool { return b }
            if let i = node.int { return i }
            if let d = node.float, scalar.string.first.map({ $0.isNumber || "+-.".contains($0) }) == true {
                return d
            }
            return scalar.string
        case let .sequence(seq):
            return seq.map { value($0) }
        case let .mapping(map):
            var dict: [String: Any] = [:]
            for (k, v) in map { dict[k.string ?? "\(value(k))"] = value(v) }
            return dict
        case let .alias(alias):
            return alias.anchor.rawValue
        }
    }

    /// A mapping's string-keyed pairs in document order.
    public static func pairs(_ node: Node) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case let .mapping(map) = node else { return nil }
        return map.map { (key: $0.key.string ?? "\(value($0.key))", keyNode: $0.key, value: $0.value) }
    }
}
