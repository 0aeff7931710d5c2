import Foundation

/// `copy` of a directory, from the controller's files/ or (`remote_src`) from the host itself,
/// as Ansible does it: `src` ending in `/` copies what is in it into `dest`, otherwise the
/// directory itself goes into `dest`. One listing of each side (type, mode, sha256 of every
/// file), then one command for the directories to make (`directory_mode` for new ones only) and
/// the files that differ or are missing (`mode`, else the source file's mode); files only in
/// `dest` are left alone, as Ansible leaves them.
enum CopyTree {
    struct Entry: Equatable {
        var directory: Bool
        var mode: UInt32
        var sha256: String
    }

    static func run(_ args: ModuleArgs, _ ctx: ModuleContext, src: String, localRoot: String?, dest: String) throws -> ModuleResult {
        let root = src.hasSuffix("/") ? dest : (dest as NSString).appendingPathComponent((src as NSString).lastPathComponent)
        let source = try localRoot.map(local) ?? remote(ctx, src)
        guard let source else { return .fail("Source \(src) not found", data: ["dest": dest, "src": src]) }
        let have = try remote(ctx, root) ?? [:]
        let rootExists = try ctx.sh("[ -d \(q(root)) ]").exitStatus == 0
        // `preserve` is what a tree copy does anyway: each file keeps its source's mode.
        let dirMode = try args.mode("directory_mode"), fileMode = args.optionalString("mode") == "preserve" ? nil : try args.mode("mode")
        let owner = args.optionalString("owner").flatMap { $0.isEmpty ? nil : $0 }
        let group = args.optionalString("group").flatMap { $0.isEmpty ? nil : $0 }
        let chown = owner.map { $0 + (group.map { ":" + $0 } ?? "") } ?? group.map { ":" + $0 }

        var dirs: [String] = rootExists ? [] : [""], files: [String] = [], modes: [(String, UInt32)] = []
        for rel in source.keys.sorted() {
            let want = source[rel]!
            if want.directory {
                if let h = have[rel], !h.directory { return .fail("\(root)/\(rel) exists and is not a directory", data: ["dest": dest]) }
                if have[rel] == nil { dirs.append(rel) }
            } else if let h = have[rel], h.directory {
                return .fail("\(root)/\(rel) is a directory", data: ["dest": dest])
            } else if have[rel]?.sha256 != want.sha256 {
                files.append(rel)
            } else if let m = fileMode?.resolve(current: have[rel]!.mode, directory: false), m != have[rel]!.mode {
                modes.append((rel, m))
            }
        }
        let path = { (rel: String) in rel.isEmpty ? root : root + "/" + rel }
        var result = ModuleResult(changed: !dirs.isEmpty || !files.isEmpty || !modes.isEmpty, data: ["dest": root, "src": src])
        if ctx.diff && result.changed {
            result.diff = (dirs.map { "+ directory \(path($0))\n" } + files.map { "+ file \(path($0))\n" }
                + modes.map { "~ mode \(String(format: "%04o", $0.1)) \(path($0.0))\n" }).joined()
        }
        guard result.changed, !ctx.check else { return result }

        var steps: [String] = []
        for rel in dirs {
            steps.append("mkdir -p -- \(q(path(rel)))")
            if let dirMode { steps.append("chmod \(String(dirMode.resolve(current: nil, directory: true), radix: 8)) -- \(q(path(rel)))") }
            if let chown { steps.append("chown \(q(chown)) -- \(q(path(rel)))") }
        }
        if !steps.isEmpty {
            let r = try ctx.sh(steps.joined(separator: " && "))
            if r.exitStatus != 0 { return .fail("cannot make directories below \(root): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        steps = []
        for rel in files {
            let m = fileMode?.resolve(current: have[rel]?.mode, directory: false) ?? source[rel]!.mode
            if let localRoot {
                guard let data = FileManager.default.contents(atPath: localRoot + "/" + rel) else { return .fail("cannot read \(localRoot)/\(rel)") }
                try ctx.put(data, to: path(rel), mode: m)
            } else {
                // Beside the target, then renamed over it, as the controller's put does.
                let tmp = q((path(rel) as NSString).deletingLastPathComponent + "/.provision-copy-\(UUID().uuidString.prefix(8))")
                steps.append("cp -- \(q((src as NSString).appendingPathComponent(rel))) \(tmp) && chmod \(String(m, radix: 8)) \(tmp) && mv -f -- \(tmp) \(q(path(rel)))")
            }
            if let chown { steps.append("chown \(q(chown)) -- \(q(path(rel)))") }
        }
        for (rel, m) in modes { steps.append("chmod \(String(m, radix: 8)) -- \(q(path(rel)))") }
        if !steps.isEmpty {
            let r = try ctx.sh(steps.joined(separator: " && "))
            if r.exitStatus != 0 { return .fail("cannot copy into \(root): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        return result
    }

    /// The tree below `root` on the host (nil when root is not a directory): one `find` for
    /// types and modes, one `sha256sum` over the files.
    static func remote(_ ctx: ModuleContext, _ root: String) throws -> [String: Entry]? {
        let r = try ctx.sh("cd -- \(q(root)) 2>/dev/null || { echo __MISSING__; exit 0; }; "
            + "find . -mindepth 1 \\( -type d -printf 'd %m %P\\n' \\) -o \\( -type f -printf 'f %m %P\\n' \\); echo __SUMS__; "
            + "find . -mindepth 1 -type f -exec sha256sum -- {} +")
        guard r.exitStatus == 0 else { throw ProvisionError("cannot list \(root): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        if r.stdout.hasPrefix("__MISSING__") { return nil }
        var tree: [String: Entry] = [:], sums = false
        for line in r.stdout.components(separatedBy: "\n") where !line.isEmpty {
            if line == "__SUMS__" { sums = true; continue }
            if sums {
                // "<sha256>  ./<path>"
                guard line.count > 68 else { continue }
                let sha = String(line.prefix(64)), rel = String(line.dropFirst(68))
                tree[rel]?.sha256 = sha
            } else {
                let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                tree[String(parts[2])] = Entry(directory: parts[0] == "d", mode: UInt32(parts[1], radix: 8) ?? 0o644, sha256: "")
            }
        }
        return tree
    }

    /// The same listing of a controller-side directory.
    static func local(_ root: String) throws -> [String: Entry]? {
        let fm = FileManager.default
        var tree: [String: Entry] = [:]
        for rel in fm.subpaths(atPath: root) ?? [] {
            let full = root + "/" + rel
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            let mode = ((try? fm.attributesOfItem(atPath: full))?[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
            if isDir.boolValue {
                tree[rel] = Entry(directory: true, mode: mode, sha256: "")
            } else if let data = fm.contents(atPath: full) {
                tree[rel] = Entry(directory: false, mode: mode, sha256: LocalChecksums.sha256(path: full, data: data))
            }
        }
        return tree
    }
}
