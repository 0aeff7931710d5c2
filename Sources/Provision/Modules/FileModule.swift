import Foundation

/// `file`: directory / file / absent / link / touch with owner, group, mode. Plans from one
/// round trip of facts and sends one command with only the needed steps. `touch` creates a
/// missing file and is otherwise unchanged (so re-runs stay at changed=0).
public struct FileModule: ProvisionModule {
    public static let name = "file"
    public static let pathOptions: Set<String> = ["path", "dest", "name", "src"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "name"]),
        OptionSpec("state", choices: ["file", "directory", "absent", "link", "touch"]),
        OptionSpec("owner"), OptionSpec("group"), OptionSpec("mode", .any), OptionSpec("src"), OptionSpec("force", .bool),
        OptionSpec("recurse", .bool),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let path = try args.optionalString("path") ?? args.optionalString("dest") ?? args.string("name")
        let f = try FileFacts.gather(ctx, path)
        let state = try args.choice("state", ["file", "directory", "absent", "link", "touch"],
                                    default: f.exists ? (f.type == "directory" ? "directory" : f.type == "link" ? "link" : "file") : "file")
        let modeSpec = try args.mode("mode"), owner = args.optionalString("owner"), group = args.optionalString("group")
        var steps: [String] = []
        var before = ["state": f.exists ? f.type : "absent"], after = before
        let p = q(path)
        switch state {
        case "absent":
            if f.exists { steps.append("rm -rf -- \(p)"); after["state"] = "absent" }
            return try finish(ctx, path, steps, before, after)
        case "directory":
            if !f.exists { steps.append("mkdir -p -- \(p)") }
            else if f.type != "directory" { return .fail("\(path) exists and is a \(f.type), not a directory") }
            after["state"] = "directory"
        case "file":
            // Ansible's words: state=file only checks an existing file (touch creates one).
            if !f.exists { return .fail("file (\(path)) is absent, cannot continue") }
            if f.type == "directory" { return .fail("file (\(path)) is directory, cannot continue") }
        case "touch":
            if !f.exists { steps.append("touch -- \(p)"); after["state"] = "file" }
        case "link":
            let src = try args.string("src")
            if !(f.type == "link" && f.linkTarget == src) {
                if f.exists && f.type == "directory" { return .fail("\(path) is a directory; refusing to replace it with a link") }
                if try f.exists && f.type == "file" && !args.bool("force") { return .fail("\(path) exists as a file; set force: yes to replace it with a link") }
                // A relative src is relative to the link's directory; a dangling link needs force.
                // Not judged under --check: an earlier task that would create src did not run.
                let target = src.hasPrefix("/") ? src : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(src)
                if try !ctx.check && !args.bool("force"), try ctx.sh("[ -e \(q(target)) ]").exitStatus != 0 {
                    return .fail("src file does not exist, use \"force=yes\" if you really want to create the link: \(target)")
                }
                steps.append("ln -sfn -- \(q(src)) \(p)")
                before["link"] = f.linkTarget; after["link"] = src; after["state"] = "link"
            }
            return try finish(ctx, path, steps, before, after)
        default: break
        }
        let fresh = !f.exists
        let mode = modeSpec?.resolve(current: fresh ? nil : f.mode, directory: state == "directory")
        if let mode, fresh || f.mode != mode {
            steps.append("chmod \(String(mode, radix: 8)) -- \(p)")
            before["mode"] = fresh ? "" : f.modeString; after["mode"] = String(format: "%04o", mode)
        }
        if let owner, owner != f.owner { steps.append("chown \(q(owner)) -- \(p)"); before["owner"] = f.owner; after["owner"] = owner }
        if let group, group != f.group { steps.append("chgrp \(q(group)) -- \(p)"); before["group"] = f.group; after["group"] = group }
        if state == "directory", f.exists, try args.bool("recurse"), owner != nil || group != nil || mode != nil {
            if case .symbolic = modeSpec { return .fail("recurse with a symbolic mode is not supported; give an octal mode") }
            try recurse(ctx, path, owner: owner, group: group, mode: mode, steps: &steps, after: &after)
        }
        return try finish(ctx, path, steps, before, after)
    }

    /// `recurse: yes`: one `find` round trip tells whether anything below differs; only then
    /// chown/chgrp/chmod -R.
    static func recurse(_ ctx: ModuleContext, _ path: String, owner: String?, group: String?, mode: UInt32?,
                        steps: inout [String], after: inout [String: String]) throws {
        var tests: [String] = []
        if let owner { tests.append("! -user \(q(owner))") }
        if let group { tests.append("! -group \(q(group))") }
        if let mode { tests.append("! -perm \(String(mode, radix: 8))") }
        let r = try ctx.sh("find \(q(path)) \\( \(tests.joined(separator: " -o ")) \\) -print -quit")
        guard !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        if let owner { steps.append("chown -R \(q(owner)) -- \(q(path))") }
        if let group { steps.append("chgrp -R \(q(group)) -- \(q(path))") }
        if let mode { steps.append("chmod -R \(String(mode, radix: 8)) -- \(q(path))") }
        after["recursive"] = "fixed below \(path)"
    }

    static func finish(_ ctx: ModuleContext, _ path: String, _ steps: [String], _ before: [String: String],
                       _ after: [String: String]) throws -> ModuleResult {
        try ctx.apply(steps, data: ["path": path, "state": after["state"] ?? ""], before: before, after: after)
    }
}
