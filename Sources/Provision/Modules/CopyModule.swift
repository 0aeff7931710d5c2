import Foundation

/// `copy`: `content`, a controller-side `src` (looked up in files/), or with `remote_src` a
/// file already on the host, to `dest`; compares sha256 from one round trip and writes
/// atomically only when it differs. A directory `src` is copied as a tree (CopyTree).
/// `mode: preserve` keeps the source file's mode.
public struct CopyModule: ProvisionModule {
    public static let name = "copy"
    public static let pathOptions: Set<String> = ["dest"]
    public static let options = [OptionSpec("dest", required: true), OptionSpec("src"), OptionSpec("content", .any),
                                 OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"), OptionSpec("force", .bool),
                                 OptionSpec("backup", .bool), OptionSpec("validate"), OptionSpec("unsafe_writes", .bool),
                                 OptionSpec("remote_src", .bool), OptionSpec("directory_mode", .any), OptionSpec("follow", .bool),
                                 OptionSpec("attributes", aliases: ["attr"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var args = args
        var dest = try args.string("dest")
        let data: Data
        var checksum: String?
        // Known only for a remote file whose bytes are not fetched (they match): its sha1 and size.
        var remoteSame: (sha1: String, size: Int)?
        var sourceMode: UInt32?
        if args.has("content") {
            let c = args.values["content"]!
            data = Data((c is [Any] || c is [String: Any] ? Values.json(c) : Values.string(c)).utf8)
        } else if let src = args.optionalString("src"), try args.bool("remote_src") {
            let r = try ctx.sh("p=\(q(src)); if [ -d \"$p\" ]; then echo d; elif [ -f \"$p\" ]; then echo f; stat -c %a -- \"$p\"; "
                + "sha256sum -- \"$p\" | cut -d' ' -f1; sha1sum -- \"$p\" | cut -d' ' -f1; stat -c %s -- \"$p\"; else echo missing; fi")
            let info = r.stdout.components(separatedBy: "\n")
            if info.first == "d" { return try CopyTree.run(args, ctx, src: src, localRoot: nil, dest: dest) }
            guard info.first == "f", info.count >= 5 else { return .fail("Source \(src) not found", data: ["dest": dest, "src": src]) }
            sourceMode = UInt32(info[1], radix: 8)
            checksum = info[2]
            if dest.hasSuffix("/") { dest += (src as NSString).lastPathComponent }
            let facts: FileFacts
            (dest, facts) = try destination(args, ctx, dest, src: src)
            if facts.exists, !(try args.bool("force", default: true)) { return ModuleResult(data: ["dest": dest, "src": src]) }
            if facts.sha256 == info[2] {
                data = Data(); remoteSame = (info[3], Int(info[4]) ?? 0)
            } else {
                guard let d = try ctx.read(src) else { return .fail("Source \(src) not found", data: ["dest": dest, "src": src]) }
                data = d
            }
            return try write(&args, ctx, dest, data, checksum: checksum, sourceMode: sourceMode, facts: facts, remoteSame: remoteSame)
        } else if let src = args.optionalString("src") {
            let local = try ctx.localFile(src, kind: "files")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: local, isDirectory: &isDir), isDir.boolValue {
                return try CopyTree.run(args, ctx, src: src, localRoot: local, dest: dest)
            }
            guard let d = FileManager.default.contents(atPath: local) else { return .fail("cannot read \(local)") }
            data = d
            checksum = LocalChecksums.sha256(path: local, data: d)
            sourceMode = ((try? FileManager.default.attributesOfItem(atPath: local))?[.posixPermissions] as? NSNumber)?.uint32Value
            if dest.hasSuffix("/") { dest += (src as NSString).lastPathComponent }
        } else {
            return .fail("copy needs 'src' or 'content'")
        }
        let facts: FileFacts
        (dest, facts) = try destination(args, ctx, dest, src: args.optionalString("src"))
        if facts.exists, !(try args.bool("force", default: true)) { return ModuleResult(data: ["dest": dest]) }
        return try write(&args, ctx, dest, data, checksum: checksum, sourceMode: sourceMode, facts: facts, remoteSame: nil)
    }

    /// Where the bytes go: into a directory `dest` under the source's name; through a link
    /// with `follow: yes` to what it points to, else (Ansible's default) replacing the link by a
    /// file, so it is a change even when the target already holds the content.
    static func destination(_ args: ModuleArgs, _ ctx: ModuleContext, _ dest: String, src: String?) throws -> (String, FileFacts) {
        var dest = dest, facts = try FileFacts.gather(ctx, dest)
        if facts.type == "link" {
            guard try args.bool("follow") else { return (dest, FileFacts()) }
            let real = try ctx.sh("readlink -f -- \(q(dest))").stdout.trimmingCharacters(in: .newlines)
            if !real.isEmpty { dest = real; facts = try FileFacts.gather(ctx, dest) }
        }
        if facts.type == "directory", let src {
            dest += "/" + (src as NSString).lastPathComponent
            facts = try FileFacts.gather(ctx, dest)
        }
        return (dest, facts)
    }

    static func write(_ args: inout ModuleArgs, _ ctx: ModuleContext, _ dest: String, _ data: Data, checksum: String?, sourceMode: UInt32?,
                      facts: FileFacts, remoteSame: (sha1: String, size: Int)?) throws -> ModuleResult {
        if args.optionalString("mode") == "preserve" {
            guard let sourceMode else { return .fail("mode: preserve needs a src file") }
            args.values["mode"] = Int(sourceMode)
        }
        var r = try FileWriter.ensure(ctx, path: dest, data: data, mode: args.mode("mode"), owner: args.optionalString("owner"),
                                      group: args.optionalString("group"), facts: facts, checksum: checksum,
                                      backup: args.bool("backup"), validate: args.optionalString("validate"), attributes: FileAttributes(args))
        if let remoteSame, !r.failed { r.data["checksum"] = remoteSame.sha1; r.data["size"] = remoteSame.size }
        if let src = args.optionalString("src") { r.data["src"] = src }
        return r
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
                                 OptionSpec("output_encoding", choices: ["utf-8", "utf8", "UTF-8"]), OptionSpec("attributes", aliases: ["attr"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let src = try ctx.localFile(args.string("src"), kind: "templates")
        let dest = try args.string("dest")
        // Included templates: beside this one first, then where template files are looked up.
        let beside = (src as NSString).deletingLastPathComponent
        let include = { (file: String) throws -> String in
            let here = (beside as NSString).appendingPathComponent(file)
            return FileManager.default.fileExists(atPath: here) ? here : try ctx.localFile(file, kind: "templates")
        }
        var text = try StencilTemplate(path: src).render(lookup: ctx.templater.lookup, trimBlocks: args.bool("trim_blocks", default: true),
                                                         lstripBlocks: args.bool("lstrip_blocks"), include: include)
        // Written as YAML escapes ("\r\n") or as the characters themselves ('\r\n' as typed), as Ansible takes both.
        let newline = try args.choice("newline_sequence", newlines, default: "\n")
            .replacingOccurrences(of: "\\r", with: "\r").replacingOccurrences(of: "\\n", with: "\n")
        if newline != "\n" { text = text.replacingOccurrences(of: "\n", with: newline) }
        let facts = try FileFacts.gather(ctx, dest)
        if facts.exists, !(try args.bool("force", default: true)) { return ModuleResult(data: ["dest": dest, "path": dest]) }
        var args = args
        if args.optionalString("mode") == "preserve" {
            // The template file's own mode, as Ansible's preserve takes it.
            args.values["mode"] = ((try? FileManager.default.attributesOfItem(atPath: src))?[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
        }
        return try FileWriter.ensure(ctx, path: dest, data: Data(text.utf8), mode: args.mode("mode"),
                                     owner: args.optionalString("owner"), group: args.optionalString("group"), facts: facts,
                                     backup: args.bool("backup"), validate: args.optionalString("validate"), attributes: FileAttributes(args))
    }
}
