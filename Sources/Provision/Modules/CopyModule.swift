import Foundation

/// `copy`: `content` or a controller-side `src` (looked up in files/) to `dest`; compares
/// sha256 from one round trip and writes atomically only when it differs.
public struct CopyModule: ProvisionModule {
    public static let name = "copy"
    public static let pathOptions: Set<String> = ["dest"]
    public static let options = [OptionSpec("dest", required: true), OptionSpec("src"), OptionSpec("content", .any),
                                 OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"), OptionSpec("force", .bool),
                                 OptionSpec("backup", .bool), OptionSpec("validate"), OptionSpec("unsafe_writes", .bool)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var dest = try args.string("dest")
        let data: Data
        var checksum: String?
        if args.has("content") {
            let c = args.values["content"]!
            data = Data((c is [Any] || c is [String: Any] ? Values.json(c) : Values.string(c)).utf8)
        } else if let src = args.optionalString("src") {
            let local = try ctx.localFile(src, kind: "files")
            guard let d = FileManager.default.contents(atPath: local) else { return .fail("cannot read \(local)") }
            data = d
            checksum = LocalChecksums.sha256(path: local, data: d)
            if dest.hasSuffix("/") { dest += (src as NSString).lastPathComponent }
        } else {
            return .fail("copy needs 'src' or 'content'")
        }
        var facts = try FileFacts.gather(ctx, dest)
        if facts.type == "directory", let src = args.optionalString("src") {
            dest += "/" + (src as NSString).lastPathComponent
            facts = try FileFacts.gather(ctx, dest)
        }
        if facts.exists, !(try args.bool("force", default: true)) { return ModuleResult(data: ["dest": dest]) }
        return try FileWriter.ensure(ctx, path: dest, data: data, mode: args.mode("mode"), owner: args.optionalString("owner"),
                                     group: args.optionalString("group"), facts: facts, checksum: checksum,
                                     backup: args.bool("backup"), validate: args.optionalString("validate"))
    }
}

/// sha256 of controller-side files by (path, size, mtime), computed once per process: a large
/// `src` (a 100 MB binary) copied to many hosts is hashed once, not once per host and run.
enum LocalChecksums {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: (size: Int, mtime: Date, sum: String)] = [:]

    static func sha256(path: String, data: Data) -> String {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs?[.size] as? NSNumber)?.intValue ?? -1
        let mtime = attrs?[.modificationDate] as? Date ?? .distantPast
        lock.lock()
        if let hit = cache[path], hit.size == size, hit.mtime == mtime, size == data.count { lock.unlock(); return hit.sum }
        lock.unlock()
        let sum = SHA256.hex(data)
        lock.lock(); cache[path] = (size, mtime, sum); lock.unlock()
        return sum
    }
}

/// `template`: renders a Stencil template (found in templates/) with the host's variables —
/// an undefined variable fails the task naming it and the template line — then writes it like
/// `copy`. Jinja's whitespace options (`trim_blocks`, `lstrip_blocks`) and `newline_sequence`
/// as Ansible documents them.
public struct TemplateModule: ProvisionModule {
    public static let name = "template"
    public static let pathOptions: Set<String> = ["dest"]
    static let newlines = ["\n", "\r", "\r\n", "\\n", "\\r", "\\r\\n"]
    public static let options = [OptionSpec("src", required: true), OptionSpec("dest", required: true), OptionSpec("mode", .any),
                                 OptionSpec("owner"), OptionSpec("group"), OptionSpec("force", .bool), OptionSpec("backup", .bool),
                                 OptionSpec("validate"), OptionSpec("unsafe_writes", .bool), OptionSpec("trim_blocks", .bool),
                                 OptionSpec("lstrip_blocks", .bool), OptionSpec("newline_sequence", choices: newlines),
                                 OptionSpec("output_encoding", choices: ["utf-8", "utf8", "UTF-8"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let src = try ctx.localFile(args.string("src"), kind: "templates")
        let dest = try args.string("dest")
        var text = try StencilTemplate(path: src).render(lookup: ctx.templater.lookup, trimBlocks: args.bool("trim_blocks", default: true),
                                                         lstripBlocks: args.bool("lstrip_blocks"))
        // Written as YAML escapes ("\r\n") or as the characters themselves ('\r\n' as typed), as Ansible takes both.
        let newline = try args.choice("newline_sequence", newlines, default: "\n")
            .replacingOccurrences(of: "\\r", with: "\r").replacingOccurrences(of: "\\n", with: "\n")
        if newline != "\n" { text = text.replacingOccurrences(of: "\n", with: newline) }
        let facts = try FileFacts.gather(ctx, dest)
        if facts.exists, !(try args.bool("force", default: true)) { return ModuleResult(data: ["dest": dest, "path": dest]) }
        return try FileWriter.ensure(ctx, path: dest, data: Data(text.utf8), mode: args.mode("mode"),
                                     owner: args.optionalString("owner"), group: args.optionalString("group"), facts: facts,
                                     backup: args.bool("backup"), validate: args.optionalString("validate"))
    }
}
