import Foundation

/// What one `run` round trip tells about a path: type, mode, owner, group, link target,
/// sha256 and (optionally) content. Shared by file, copy, template, lineinfile, blockinfile.
struct FileFacts {
    var exists = false
    var type = ""          // "file", "directory", "link", "other"
    var mode: UInt32 = 0
    var owner = ""
    var group = ""
    var linkTarget = ""
    var sha256 = ""
    var content: Data?

    static func gather(_ ctx: ModuleContext, _ path: String, content: Bool = false) throws -> FileFacts {
        let p = q(path)
        let cat = content ? "; [ -f \(p) ] && { echo __CONTENT__; base64 -w0 -- \(p); echo; }" : ""
        let script = "if [ -L \(p) ] || [ -e \(p) ]; then stat -c '%F|%a|%U|%G' -- \(p); readlink -- \(p) || echo; "
            + "if [ -f \(p) ]; then sha256sum -- \(p) | cut -d' ' -f1; else echo; fi\(cat); else echo __MISSING__; fi"
        let r = try ctx.sh(script)
        guard r.exitStatus == 0 else { throw ProvisionError("cannot inspect \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        var f = FileFacts()
        let lines = r.stdout.components(separatedBy: "\n")
        guard lines.first != "__MISSING__", lines.count >= 3 else { return f }
        f.exists = true
        let parts = lines[0].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4 {
            f.type = parts[0].contains("directory") ? "directory" : parts[0].contains("symbolic") ? "link"
                : parts[0].contains("regular") ? "file" : "other"
            f.mode = UInt32(parts[1], radix: 8) ?? 0
            f.owner = parts[2]; f.group = parts[3]
        }
        f.linkTarget = lines[1]
        f.sha256 = lines[2]
        if content, let i = lines.firstIndex(of: "__CONTENT__"), i + 1 < lines.count {
            f.content = Data(base64Encoded: lines[i + 1]) ?? Data()
        }
        return f
    }

    var modeString: String { String(format: "%04o", mode) }

    /// The facts of what `path` names once links are followed, and that path: lineinfile,
    /// blockinfile and replace edit the file a link points to and keep the link, as Ansible's
    /// do (they write to the real path). A second round trip only for a link.
    static func following(_ ctx: ModuleContext, _ path: String, content: Bool) throws -> (String, FileFacts) {
        let facts = try gather(ctx, path, content: content)
        guard facts.type == "link" else { return (path, facts) }
        let real = try ctx.sh("readlink -f -- \(q(path))").stdout.trimmingCharacters(in: .newlines)
        guard !real.isEmpty, real != path else { return (path, facts) }
        return (real, try gather(ctx, real, content: content))
    }
}

/// Makes a file hold `data` with the given attributes: one round trip of facts, then a put
/// and a chown/chmod only when something differs. --check reports, --diff shows content.
/// `createParents` (lineinfile/blockinfile `create: true`) makes missing parent directories.
/// `backup` keeps a timestamped copy (`path.PID.YYYY-MM-DD@HH:MM:SS~`, `backup_file` in the
/// result) of a file about to be replaced; `validate` (a command with `%s`, run without a shell
/// as Ansible runs it) must accept the new content before it replaces the target.
enum FileWriter {
    static func ensure(_ ctx: ModuleContext, path: String, data: Data, mode modeSpec: FileMode?, owner: String?, group: String?,
                       facts known: FileFacts? = nil, checksum: String? = nil, createParents: Bool = false,
                       backup: Bool = false, validate: String? = nil, attributes: FileAttributes? = nil) throws -> ModuleResult {
        if let validate, !validate.contains("%s") { return .fail("validate must contain %s: \(validate)") }
        let facts = try known ?? FileFacts.gather(ctx, path)
        if facts.exists && facts.type == "directory" {
            return .fail("\(path) is a directory")
        }
        let wantSum = checksum ?? SHA256.hex(data)
        let contentChanged = !facts.exists || facts.sha256 != wantSum
        let mode = modeSpec?.resolve(current: facts.exists ? facts.mode : nil, directory: false)
        let finalMode = mode ?? (facts.exists ? facts.mode : 0o644)
        var result = ModuleResult()
        // Ansible reports sha1 as `checksum`; sha256 stays the engine's own comparison.
        result.data = ["path": path, "dest": path, "checksum": SHA1.hex(data), "state": "file", "size": data.count,
                       "mode": String(format: "%04o", finalMode)]
        // Ansible's owner / group keys, where known without another round trip.
        if let o = owner.flatMap({ $0.isEmpty ? nil : $0 }) ?? (facts.exists ? facts.owner : nil) { result.data["owner"] = o }
        if let g = group.flatMap({ $0.isEmpty ? nil : $0 }) ?? (facts.exists ? facts.group : nil) { result.data["group"] = g }
        var attrCmds: [String] = []
        if contentChanged && facts.exists {
            // The put writes a new file and renames it over the old one, so the new inode belongs
            // to the login user: the owner asked for, else the old file's, is set again (Ansible's
            // atomic move keeps it too). Without this a changed file silently became root's.
            let o = owner.flatMap { $0.isEmpty ? nil : $0 } ?? facts.owner
            let g = group.flatMap { $0.isEmpty ? nil : $0 } ?? facts.group
            if !o.isEmpty || !g.isEmpty { attrCmds.append("chown \(q(o + (g.isEmpty ? "" : ":" + g))) \(q(path))") }
        } else {
            if let owner, !owner.isEmpty, owner != facts.owner { attrCmds.append("chown \(q(owner)) \(q(path))") }
            if let group, !group.isEmpty, group != facts.group { attrCmds.append("chgrp \(q(group)) \(q(path))") }
        }
        let modeChanged = facts.exists && !contentChanged && mode != nil && facts.mode != mode!
        if modeChanged { attrCmds.append("chmod \(String(finalMode, radix: 8)) \(q(path))") }
        // chattr flags last (after chown/chmod, which an immutable flag would refuse). New
        // content is a new inode (the put renames over the old one): it carries no flags.
        var flagsBefore: Set<Character>?, flagsAfter: Set<Character>?
        if let attributes {
            let have: Set<Character> = facts.exists && !contentChanged ? try FileAttributes.current(ctx, path) : []
            if attributes.differs(from: have) {
                attrCmds.append(attributes.command(path))
                flagsBefore = facts.exists ? have : []; flagsAfter = attributes.applied(to: have)
            }
        }
        result.changed = contentChanged || !attrCmds.isEmpty
        if ctx.diff && result.changed {
            var d = ""
            if contentChanged {
                let old = facts.exists ? (try ctx.read(path)).map { String(decoding: $0, as: UTF8.self) } ?? "" : ""
                d += UnifiedDiff.text(old, String(decoding: data, as: UTF8.self), from: facts.exists ? path : "/dev/null", to: path)
            }
            var before: [String: String] = [:], after: [String: String] = [:]
            if modeChanged { before["mode"] = facts.modeString; after["mode"] = String(format: "%04o", finalMode) }
            if let owner, owner != facts.owner { before["owner"] = facts.owner; after["owner"] = owner }
            if let group, group != facts.group { before["group"] = facts.group; after["group"] = group }
            if let flagsBefore, let flagsAfter { before["attributes"] = FileAttributes.text(flagsBefore); after["attributes"] = FileAttributes.text(flagsAfter) }
            if !before.isEmpty || (!facts.exists && !after.isEmpty) { d += UnifiedDiff.state(before, after) }
            result.diff = d
        }
        guard result.changed, !ctx.check else { return result }
        if contentChanged && !facts.exists && createParents {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty {
                let r = try ctx.sh("[ -d \(q(dir)) ] || mkdir -p -- \(q(dir))")
                if r.exitStatus != 0 { return .fail("cannot create \(dir): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
            }
        }
        // The new content is checked first, in a temporary file beside the target, so a refused
        // edit changes nothing (no backup either); it then replaces the target by a rename.
        var validated: String?
        if contentChanged, let validate {
            let dir = (path as NSString).deletingLastPathComponent
            let tmp = (dir.isEmpty ? "." : dir) + "/." + (path as NSString).lastPathComponent + ".provision-validate-" + UUID().uuidString.prefix(8)
            let argv: [String]
            do { argv = try ShellWords.split(validate).map { ShellWords.format($0, tmp) } } catch {
                return .fail("validate: \(error): \(validate)")
            }
            try ctx.put(data, to: tmp, mode: finalMode)
            // As Ansible runs it: the words exec'd as they are, no shell expansion (`sh -c '…' %s` sees its $0).
            let v = try ctx.sh(argv.map(q).joined(separator: " "))
            guard v.exitStatus == 0 else {
                _ = try ctx.sh("rm -f -- \(q(tmp))")
                return .fail("failed to validate", data: ["path": path, "exit_status": Int(v.exitStatus), "stdout": v.stdout, "stderr": v.stderr])
            }
            validated = tmp
        }
        if contentChanged && facts.exists && backup {
            // Ansible's name: path.PID.timestamp~. The PID is this command's own process: in the
            // long-lived shell `$$` is the loop's, the same for every command of the run.
            let r = try ctx.sh("b=\(q(path)).$(exec sh -c 'echo $PPID').$(date +%Y-%m-%d@%H:%M:%S)~; cp -p -- \(q(path)) \"$b\" && printf %s \"$b\"")
            guard r.exitStatus == 0 else {
                if let validated { _ = try ctx.sh("rm -f -- \(q(validated))") }
                return .fail("cannot back up \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            result.data["backup_file"] = r.stdout
        }
        if let validated {
            let mv = try ctx.sh("mv -f -- \(q(validated)) \(q(path))")
            if mv.exitStatus != 0 { return .fail("cannot write \(path): \(mv.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        } else if contentChanged {
            try ctx.put(data, to: path, mode: finalMode)
        }
        if !attrCmds.isEmpty {
            let r = try ctx.sh(attrCmds.joined(separator: " && "))
            if r.exitStatus != 0 { return .fail("cannot set attributes of \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        return result
    }
}
