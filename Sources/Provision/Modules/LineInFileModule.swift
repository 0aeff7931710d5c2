import Foundation

/// `lineinfile`: ensures one line is present (replacing the last `regexp` match, else inserted
/// after/before a match, at EOF or BOF) or absent. Reads facts and content in one round trip.
public struct LineInFileModule: ProvisionModule {
    public static let name = "lineinfile"
    public static let pathOptions: Set<String> = ["path", "dest", "name"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "name"]), OptionSpec("line", .any, aliases: ["value"]),
        OptionSpec("regexp", aliases: ["regex"]), OptionSpec("state", choices: ["present", "absent"]),
        OptionSpec("insertafter"), OptionSpec("insertbefore"), OptionSpec("create", .bool), OptionSpec("mode", .any),
        OptionSpec("owner"), OptionSpec("group"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let (path, facts, state) = try EditedFile.open(args, ctx)
        if !facts.exists {
            if state == "absent" { return ModuleResult(data: ["path": path]) }
            guard try args.bool("create") else { return .fail("\(path) does not exist (set create: yes to create it)") }
        }
        let old = String(decoding: facts.content ?? Data(), as: UTF8.self)
        var lines = UnifiedDiff.lines(old)
        let regex = try args.optionalString("regexp").map { try Filters.regex($0) }
        func matches(_ l: String) -> Bool { regex.map { $0.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)) != nil } ?? false }
        // Ansible's msg: "line added", "line replaced", "N line(s) removed".
        var msg = ""
        if state == "absent" {
            let line = args.optionalString("line")
            let before = lines.count
            lines.removeAll { matches($0) || (regex == nil && $0 == line) }
            if lines.count < before { msg = "\(before - lines.count) line(s) removed" }
        } else {
            let line = try args.string("line")
            if let idx = lines.lastIndex(where: matches) {
                if lines[idx] != line { msg = "line replaced" }
                lines[idx] = line
            } else if !lines.contains(line) {
                lines.insert(line, at: try EditedFile.insertionIndex(args, lines))
                msg = "line added"
            }
        }
        let new = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        // Same lines (a missing final newline alone is not worth a rewrite).
        if facts.exists && UnifiedDiff.lines(new) == UnifiedDiff.lines(old) { msg = "" }
        return try EditedFile.write(ctx, args, path, facts, old: old, new: new, msg: msg)
    }
}

/// `blockinfile`: a block of lines between `# BEGIN/END ANSIBLE MANAGED BLOCK` markers,
/// inserted, replaced or removed as a whole.
public struct BlockInFileModule: ProvisionModule {
    public static let name = "blockinfile"
    public static let pathOptions: Set<String> = ["path", "dest", "name"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "name"]), OptionSpec("block", .any, aliases: ["content"]),
        OptionSpec("marker"), OptionSpec("marker_begin"), OptionSpec("marker_end"),
        OptionSpec("state", choices: ["present", "absent"]), OptionSpec("insertafter"), OptionSpec("insertbefore"),
        OptionSpec("create", .bool), OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let (path, facts, state) = try EditedFile.open(args, ctx)
        if !facts.exists {
            if state == "absent" { return ModuleResult(data: ["path": path]) }
            guard try args.bool("create") else { return .fail("\(path) does not exist (set create: yes to create it)") }
        }
        let marker = args.string("marker", default: "# {mark} ANSIBLE MANAGED BLOCK")
        let begin = marker.replacingOccurrences(of: "{mark}", with: args.string("marker_begin", default: "BEGIN"))
        let end = marker.replacingOccurrences(of: "{mark}", with: args.string("marker_end", default: "END"))
        let old = String(decoding: facts.content ?? Data(), as: UTF8.self)
        var lines = UnifiedDiff.lines(old)
        var at: Int?
        if let b = lines.firstIndex(of: begin), let e = lines[b...].firstIndex(of: end) {
            lines.removeSubrange(b...e); at = b
        }
        let block = UnifiedDiff.lines(args.string("block", default: ""))
        if state == "present" && !block.isEmpty {
            // An existing block is replaced where it stands; a new one goes where the shared rules say.
            let idx = try at ?? EditedFile.insertionIndex(args, lines)
            lines.insert(contentsOf: [begin] + block + [end], at: idx)
        }
        let new = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        // Ansible's msg: "File created", "Block inserted", "Block removed".
        let msg = !facts.exists ? "File created" : UnifiedDiff.lines(new) == UnifiedDiff.lines(old) ? ""
            : state == "absent" || block.isEmpty ? "Block removed" : "Block inserted"
        return try EditedFile.write(ctx, args, path, facts, old: old, new: new, msg: msg)
    }
}

/// What lineinfile and blockinfile read first: the path, its facts with content, the state.
enum EditedFile {
    /// Writes the edited text (unless only a missing final newline differs) with the module's
    /// attributes; `msg` as Ansible words it, attribute-only changes said so, `backup` key present.
    static func write(_ ctx: ModuleContext, _ args: ModuleArgs, _ path: String, _ facts: FileFacts, old: String, new: String,
                      msg: String) throws -> ModuleResult {
        let same = facts.exists && UnifiedDiff.lines(new) == UnifiedDiff.lines(old)
        var r = try FileWriter.ensure(ctx, path: path, data: same ? (facts.content ?? Data()) : Data(new.utf8), mode: args.mode("mode"),
                                      owner: args.optionalString("owner"), group: args.optionalString("group"), facts: facts,
                                      checksum: same ? facts.sha256 : nil, createParents: true)
        guard !r.failed else { return r }
        let attributes = "ownership, perms or SE linux context changed"
        r.msg = !r.changed ? msg : same ? attributes : msg
        r.data["backup"] = ""
        return r
    }

    static func open(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> (String, FileFacts, String) {
        let path = try args.optionalString("path") ?? args.optionalString("dest") ?? args.string("name")
        return (path, try FileFacts.gather(ctx, path, content: true), try args.choice("state", ["present", "absent"], default: "present"))
    }

    /// Where new text goes, by the rules Ansible documents for both modules: `insertbefore` and
    /// `insertafter` exclude each other; each picks the last line its regex matches (before it /
    /// after it); BOF is the start, EOF (the default) the end; a regex that matches nothing means EOF.
    static func insertionIndex(_ args: ModuleArgs, _ lines: [String]) throws -> Int {
        let before = args.optionalString("insertbefore"), after = args.optionalString("insertafter")
        if before != nil && after != nil { throw args.err("insertbefore", "cannot be used with insertafter") }
        func lastMatch(_ pattern: String) throws -> Int? {
            let re = try Filters.regex(pattern)
            return lines.lastIndex { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
        }
        if let before {
            if before == "BOF" { return 0 }
            return try lastMatch(before) ?? lines.count
        }
        if let after, after != "EOF" { return try lastMatch(after).map { $0 + 1 } ?? lines.count }
        return lines.count
    }
}
