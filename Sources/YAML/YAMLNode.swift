// YAML documents as trees of nodes with their positions, read with libyaml's parser: what the agent
// needs from YAML (pgha.yml / patroni.yml, edit-config) without Yams, which needs full Foundation
// (issue 14). The node API and the error text follow Yams's, so messages keep their file:line:column.
import CLibYAML

/// A position in the text, both 1-based.
public struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public var description: String { "\(line):\(column)" }
    public init(line: Int, column: Int) { self.line = line; self.column = column }
}

public struct YAMLScalar: Sendable {
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    public let string: String
    /// The explicit tag ("tag:yaml.org,2002:str", "!custom"), nil when the text had none.
    public let tag: String?
    public let style: Style
}

public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar, YAMLMark)
    case sequence([YAMLNode], YAMLMark)
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)

    public var scalar: YAMLScalar? { if case let .scalar(s, _) = self { return s }; return nil }
    public var sequence: [YAMLNode]? { if case let .sequence(s, _) = self { return s }; return nil }
    public var mapping: [(key: YAMLNode, value: YAMLNode)]? { if case let .mapping(m, _) = self { return m }; return nil }
    public var mark: YAMLMark? {
        switch self { case let .scalar(_, m), let .sequence(_, m), let .mapping(_, m): return m }
    }
}

/// A parse error, described as Yams described it: "line:column: error: parser: problem:" and the line.
public struct YAMLError: Error, CustomStringConvertible {
    public let description: String
}

public enum YAMLText {
    /// The single document in `text` as a tree, nil for an empty stream. Aliases are replaced by
    /// the anchored node; duplicate keys in a mapping are an error (as in Yams 6).
    public static func compose(_ text: String) throws -> YAMLNode? {
        let composer = Composer(text)
        return try composer.singleRoot()
    }
}

/// Owns one libyaml parser (which points at itself: it must not move, hence a class and the heap).
final class Composer {
    let text: String
    let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var anchors: [String: YAMLNode] = [:]

    init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        buffer = .allocate(capacity: max(bytes.count, 1))
        _ = buffer.initialize(from: bytes)
        parser.initialize(to: yaml_parser_t())
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, buffer.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        buffer.deallocate()
    }

    static func mark(_ m: yaml_mark_t) -> YAMLMark { YAMLMark(line: Int(m.line) + 1, column: Int(m.column) + 1) }

    func snippet(_ mark: YAMLMark) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = mark.line - 1 < lines.count ? String(lines[mark.line - 1]) : ""
        let prefix = line.unicodeScalars.prefix(mark.column - 1)
        return line + "\n" + String(repeating: " ", count: String(String.UnicodeScalarView(prefix)).utf16.count) + "^"
    }

    func parserError() -> YAMLError {
        let problem = parser.pointee.problem.map { String(cString: $0) } ?? "unknown problem"
        let context = parser.pointee.context.map { String(cString: $0) + " in line \(Int(parser.pointee.context_mark.line) + 1), column \(Int(parser.pointee.context_mark.column) + 1)\n" } ?? ""
        let mark = Composer.mark(parser.pointee.problem_mark)
        let kind: String
        switch parser.pointee.error {
        case YAML_READER_ERROR:
            return YAMLError(description: "\(YAMLMark(line: 1, column: Int(parser.pointee.problem_offset) + 1)): error: reader: \(problem):\n\(text)")
        case YAML_SCANNER_ERROR: kind = "scanner"
        case YAML_COMPOSER_ERROR: kind = "composer"
        case YAML_MEMORY_ERROR: return YAMLError(description: "Memory error")
        default: kind = "parser"
        }
        return YAMLError(description: "\(mark): error: \(kind): \(context)\(problem):\n" + snippet(mark))
    }

    /// The next event; the caller owns it and deletes it.
    func next() throws -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        return event
    }

    func singleRoot() throws -> YAMLNode? {
        var event = try next()  // stream start
        yaml_event_delete(&event)
        event = try next()
        defer { yaml_event_delete(&event) }
        guard event.type == YAML_DOCUMENT_START_EVENT else { return nil }
        let root = try document()
        var after = try next()
        defer { yaml_event_delete(&after) }
        if after.type != YAML_STREAM_END_EVENT {
            let mark = Composer.mark(after.start_mark)
            throw YAMLError(description: "\(mark): error: composer: expected a single document in the stream in line 1, column 1\nbut found another document:\n" + snippet(mark))
        }
        return root
    }

    func document() throws -> YAMLNode {
        var event = try next()
        let node = try self.node(&event)
        yaml_event_delete(&event)
        var end = try next()  // document end
        yaml_event_delete(&end)
        return node
    }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    /// The node that starts with `event` (which the caller deletes).
    func node(_ event: inout yaml_event_t) throws -> YAMLNode {
        let mark = Composer.mark(event.start_mark)
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = Composer.string(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else {
                throw YAMLError(description: "\(mark): error: composer: found undefined alias:\n" + snippet(mark))
            }
            return node
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            let style: YAMLScalar.Style
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            let node = YAMLNode.scalar(YAMLScalar(string: text, tag: Composer.string(s.tag), style: style), mark)
            if let anchor = Composer.string(s.anchor) { anchors[anchor] = node }
            return node
        case YAML_SEQUENCE_START_EVENT:
            let anchor = Composer.string(event.data.sequence_start.anchor)
            var items: [YAMLNode] = []
            while true {
                var e = try next()
                defer { yaml_event_delete(&e) }
                if e.type == YAML_SEQUENCE_END_EVENT { break }
                items.append(try node(&e))
            }
            let node = YAMLNode.sequence(items, mark)
            if let anchor { anchors[anchor] = node }
            return node
        case YAML_MAPPING_START_EVENT:
            let anchor = Composer.string(event.data.mapping_start.anchor)
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            while true {
                var k = try next()
                defer { yaml_event_delete(&k) }
                if k.type == YAML_MAPPING_END_EVENT { break }
                let key = try node(&k)
                var v = try next()
                defer { yaml_event_delete(&v) }
                pairs.append((key, try node(&v)))
            }
            try checkDuplicates(pairs)
            let node = YAMLNode.mapping(pairs, mark)
            if let anchor { anchors[anchor] = node }
            return node
        default:
            throw YAMLError(description: "\(mark): error: composer: unexpected event:\n" + snippet(mark))
        }
    }

    func checkDuplicates(_ pairs: [(key: YAMLNode, value: YAMLNode)]) throws {
        var seen: [String: YAMLMark] = [:], duplicates: Set<String> = [], first: YAMLMark?
        for (k, _) in pairs {
            guard let s = k.scalar?.string, let m = k.mark else { continue }
            if let earlier = seen[s] {
                duplicates.insert(s)
                if first == nil || (earlier.line, earlier.column) < (first!.line, first!.column) { first = earlier }
            } else { seen[s] = m }
        }
        guard !duplicates.isEmpty, let first else { return }
        let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
        throw YAMLError(description: """
            Parser: expected all keys to be unique but found the following duplicated key(s): \(keys).
            Context:
            \(text) in line \(first.line), column \(first.column)

            """)
    }
}
