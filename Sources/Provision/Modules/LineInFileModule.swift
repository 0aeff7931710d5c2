import Foundation

/// `lineinfile`: ensures one line is present (replacing the last `regexp` / `search_string`
/// match, else inserted after/before a match, at EOF or BOF) or absent. With `backrefs` the
/// line is the last match expanded (`\1`, `\g<name>`), and nothing is inserted when there is
/// none. Reads facts and content in one round trip.
public struct LineInFileModule: ProvisionModule {
    public static let name = "lineinfile"
    public static let pathOptions: Set<String> = ["path", "dest", "destfile", "name"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "destfile", "name"]), OptionSpec("line", .any, aliases: ["value"]),
        OptionSpec("regexp", aliases: ["regex"]), OptionSpec("search_string"), OptionSpec("backrefs", .bool),
        OptionSpec("state", choices: ["present", "absent"]), OptionSpec("insertafter"), OptionSpec("insertbefore"),
        OptionSpec("firstmatch", .bool), OptionSpec("create", .bool), OptionSpec("backup", .bool), OptionSpec("validate"),
        OptionSpec("unsafe_writes", .bool), OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"), OptionSpec("attributes", aliases: ["attr"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let (path, facts, state) = try EditedFile.open(args, ctx)
        let pattern = args.optionalString("regexp"), search = args.optionalString("search_string")
        let backrefs = try args.bool("backrefs")
        if pattern != nil && search != nil { throw args.err("search_string", "cannot be used with regexp") }
        if backrefs && search != nil { throw args.err("backrefs", "cannot be used with search_string") }
        if backrefs && pattern == nil && state == "present" { throw args.err("backrefs", "needs regexp") }
        if state == "present" && !args.has("line") { throw args.err("line", "is required with state=present") }
        if state == "absent" && pattern == nil && search == nil && !args.has("line") {
            throw args.err("line", "(or search_string, or regexp) is required with state=absent")
        }
        if !facts.exists {
            if state == "absent" { return ModuleResult(msg: "file not present", data: ["path": path]) }
            guard try args.bool("create") else { return .fail("\(path) does not exist (set create: yes to create it)", data: ["rc": 257]) }
        }
        let old = String(decoding: facts.content ?? Data(), as: UTF8.self)
        var lines = UnifiedDiff.lines(old)
        let regex = try pattern.map { try PythonRegex.compile($0) }
        func match(_ l: String) -> NSTextCheckingResult? { regex?.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)) }
        func matches(_ l: String) -> Bool { search.map { l.contains($0) } ?? (match(l) != nil) }
        // The line a regexp / search_string picks: the last that matches, the first with firstmatch.
        let firstmatch = try args.bool("firstmatch")
        func pick(_ lines: [String]) -> Int? { firstmatch ? lines.firstIndex(where: matches) : lines.lastIndex(where: matches) }
        // Ansible's msg: "line added", "line replaced", "N line(s) removed".
        var msg = ""
        var data: [String: Any] = [:]
        if state == "absent" {
            let line = args.optionalString("line")
            let before = lines.count
            lines.removeAll { (regex != nil || search != nil) ? matches($0) : $0 == line }
            data["found"] = before - lines.count
            if lines.count < before { msg = "\(before - lines.count) line(s) removed" }
        } else {
            var line = try args.string("line")
            if backrefs {
                // Only a matching line is rewritten; no match leaves the file as it is.
                if let idx = pick(lines), let regex, let m = match(lines[idx]) {
                    line = regex.replacementString(for: m, in: lines[idx], offset: 0,
                                                   template: PythonRegex.template(line, groups: PythonRegex.groupNumbers(pattern!)))
                    if lines[idx] != line { msg = "line replaced" }
                    lines[idx] = line
                }
            } else if (regex != nil || search != nil), let idx = pick(lines) {
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
        var r = try EditedFile.write(ctx, args, path, facts, old: old, new: new, msg: msg, alwaysBackupKey: true)
        r.data.merge(data) { _, new in new }
        return r
    }
}

/// `blockinfile`: a block of lines between `# BEGIN/END ANSIBLE MANAGED BLOCK` markers,
/// inserted, replaced or removed as a whole.
public struct BlockInFileModule: ProvisionModule {
    public static let name = "blockinfile"
    public static let pathOptions: Set<String> = ["path", "dest", "destfile", "name"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "destfile", "name"]), OptionSpec("block", .any, aliases: ["content"]),
        OptionSpec("marker"), OptionSpec("marker_begin"), OptionSpec("marker_end"),
        OptionSpec("state", choices: ["present", "absent"]), OptionSpec("insertafter"), OptionSpec("insertbefore"),
        OptionSpec("create", .bool), OptionSpec("backup", .bool), OptionSpec("validate"), OptionSpec("unsafe_writes", .bool),
        OptionSpec("append_newline", .bool), OptionSpec("prepend_newline", .bool),
        OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"), OptionSpec("attributes", aliases: ["attr"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let (path, facts, state) = try EditedFile.open(args, ctx)
        if !facts.exists {
            if state == "absent" { return ModuleResult(msg: "File \(path) not present", data: ["path": path]) }
            guard try args.bool("create") else { return .fail("\(path) does not exist (set create: yes to create it)", data: ["rc": 257]) }
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
            var inserted = [begin] + block + [end]
            // A blank line between the block and its neighbours, unless it starts / ends the file
            // or one is there already (so a re-run adds none).
            func blank(_ i: Int) -> Bool { lines[i].isEmpty }
            if try args.bool("prepend_newline"), idx > 0, !blank(idx - 1) { inserted.insert("", at: 0) }
            if try args.bool("append_newline"), idx < lines.count, !blank(idx) { inserted.append("") }
            lines.insert(contentsOf: inserted, at: idx)
        }
        let new = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        // Ansible's msg: "File created", "Block inserted", "Block removed".
        let msg = !facts.exists ? "File created" : UnifiedDiff.lines(new) == UnifiedDiff.lines(old) ? ""
            : state == "absent" || block.isEmpty ? "Block removed" : "Block inserted"
        return try EditedFile.write(ctx, args, path, facts, old: old, new: new, msg: msg, alwaysBackupKey: false)
    }
}

/// What lineinfile and blockinfile read first: the path, its facts with content, the state.
enum EditedFile {
    /// Writes the edited text (unless only a missing final newline differs) with the module's
    /// attributes; `msg` as Ansible words it, attribute-only changes said so, `backup` key present.
    static func write(_ ctx: ModuleContext, _ args: ModuleArgs, _ path: String, _ facts: FileFacts, old: String, new: String,
                      msg: String, alwaysBackupKey: Bool) throws -> ModuleResult {
        let same = facts.exists && UnifiedDiff.lines(new) == UnifiedDiff.lines(old)
        var r = try FileWriter.ensure(ctx, path: path, data: same ? (facts.content ?? Data()) : Data(new.utf8), mode: args.mode("mode"),
                                      owner: args.optionalString("owner"), group: args.optionalString("group"), facts: facts,
                                      checksum: same ? facts.sha256 : nil, createParents: true,
                                      backup: args.bool("backup"), validate: args.optionalString("validate"), attributes: FileAttributes(args))
        guard !r.failed else { return validateFailure(r) }
        let attributes = "ownership, perms or SE linux context changed"
        r.msg = !r.changed ? msg : same ? attributes : msg
        // lineinfile says `backup` ("" when none was made); blockinfile, like copy, template and
        // replace, says `backup_file`, present only when one was made.
        if alwaysBackupKey { r.data["backup"] = r.data.removeValue(forKey: "backup_file") ?? "" }
        return r
    }

    /// lineinfile, blockinfile and replace word a refused `validate` in one line (copy and
    /// template keep "failed to validate" with exit_status, stdout and stderr).
    static func validateFailure(_ r: ModuleResult) -> ModuleResult {
        guard r.failed, r.msg == "failed to validate", let rc = r.data["exit_status"] as? Int else { return r }
        return .fail("failed to validate: rc:\(rc) error:\(r.data["stderr"] as? String ?? "")")
    }

    static func open(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> (String, FileFacts, String) {
        let path = try args.optionalString("path") ?? args.optionalString("dest") ?? args.optionalString("destfile") ?? args.string("name")
        let (real, facts) = try FileFacts.following(ctx, path, content: true)
        return (real, facts, try args.choice("state", ["present", "absent"], default: "present"))
    }

    /// Where new text goes, by the rules Ansible documents for both modules: `insertbefore` and
    /// `insertafter` exclude each other; each picks the last line its regex matches (before it /
    /// after it; the first with lineinfile's `firstmatch`); BOF is the start, EOF (the default)
    /// the end; a regex that matches nothing means EOF.
    static func insertionIndex(_ args: ModuleArgs, _ lines: [String]) throws -> Int {
        let before = args.optionalString("insertbefore"), after = args.optionalString("insertafter")
        if before != nil && after != nil { throw args.err("insertbefore", "cannot be used with insertafter") }
        let first = try args.bool("firstmatch")
        func lastMatch(_ pattern: String) throws -> Int? {
            let re = try PythonRegex.compile(pattern)
            let hit: (String) -> Bool = { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            return first ? lines.firstIndex(where: hit) : lines.lastIndex(where: hit)
        }
        if let before {
            if before == "BOF" { return 0 }
            return try lastMatch(before) ?? lines.count
        }
        if let after, after != "EOF" { return try lastMatch(after).map { $0 + 1 } ?? lines.count }
        return lines.count
    }
}
