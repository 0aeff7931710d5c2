import Foundation

/// `file`: absent / directory / file / link / hard / touch with owner, group, mode and access /
/// modification times, following links (`follow`, default yes) as Ansible does. Plans from one
/// round trip of facts and sends one command with only the needed steps, which also reads the
/// result's stat keys. `touch` creates a missing file and is otherwise unchanged unless times
/// are given (so re-runs stay at changed=0).
public struct FileModule: ProvisionModule {
    public static let name = "file"
    public static let pathOptions: Set<String> = ["path", "dest", "name", "src"]
    static let states = ["file", "directory", "absent", "link", "hard", "touch"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "name"]), OptionSpec("state", choices: states),
        OptionSpec("owner"), OptionSpec("group"), OptionSpec("mode", .any), OptionSpec("src"), OptionSpec("force", .bool),
        OptionSpec("recurse", .bool), OptionSpec("follow", .bool),
        OptionSpec("modification_time"), OptionSpec("modification_time_format"),
        OptionSpec("access_time"), OptionSpec("access_time_format"), OptionSpec("unsafe_writes", .bool),
        OptionSpec("attributes", aliases: ["attr"]),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let path = try args.optionalString("path") ?? args.optionalString("dest") ?? args.string("name")
        let follow = try args.bool("follow", default: true), force = try args.bool("force")
        let src = args.optionalString("src")
        let explicit = try args.optionalString("state").map { try args.choice("state", states, default: $0) }
        // A relative source is relative to the link's directory, as `ln -s` reads it (for hard links too, as Ansible documents src).
        let linkSource = src.map { $0.hasPrefix("/") ? $0 : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent($0) }
        let times: [TimeSpec]
        do { times = try [TimeSpec(args, "modification_time"), TimeSpec(args, "access_time")] } catch let e as TimeSpec.Unreadable {
            return .fail(e.description, data: ["path": path])
        }
        let facts = try PathFacts.gather(ctx, path, follow: follow, source: explicit == "hard" || explicit == "link" ? linkSource : nil,
                                         dates: times.compactMap(\.wallClock))
        let recurse = try args.bool("recurse")
        let state = explicit ?? facts.path?.state ?? (recurse ? "directory" : "file")
        if src != nil && state != "link" && state != "hard" { return .fail("src option requires state to be 'link' or 'hard'", data: ["path": path]) }
        if recurse && state != "directory" { return .fail("recurse option requires state to be 'directory'", data: ["path": path]) }
        var epochs = facts.epochs.makeIterator()
        let wanted = try times.map { try $0.resolve(&epochs) }

        var plan = Plan(path: path)
        let p = q(path)
        // file / directory / touch act on what a link points to when following it.
        var target = path, current = facts.path
        if follow, facts.path?.type == "link", ["file", "directory", "touch"].contains(state), let real = facts.realPath {
            target = real; current = facts.followed
        }
        switch state {
        case "absent":
            if facts.path != nil { plan.steps.append("rm -rf -- \(p)"); plan.before["state"] = facts.path!.state; plan.after["state"] = "absent" }
            return try plan.finish(ctx, report: nil)
        case "directory":
            if current == nil { plan.steps.append("mkdir -p -- \(q(target))"); plan.before["state"] = "absent"; plan.after["state"] = "directory" }
            else if current!.type != "directory" { return .fail("\(target) already exists as a \(current!.state)", data: ["path": target]) }
        case "file":
            // Ansible's words: state=file only checks an existing file (touch creates one).
            guard let current else { return .fail("file (\(target)) is absent, cannot continue", data: ["path": target]) }
            // A device, socket or FIFO is a `file` to Ansible (its get_state); a directory or a
            // link that is not followed is not.
            if current.type == "directory" || current.type == "link" {
                return .fail("file (\(target)) is \(current.state), cannot continue", data: ["path": target])
            }
        case "touch":
            if current == nil { plan.steps.append("touch -- \(q(target))"); plan.before["state"] = "absent"; plan.after["state"] = "file" }
        case "link":
            // Without src, a followed link keeps pointing where it does (Ansible reads it back).
            let src = src ?? (follow && facts.path?.type == "link" ? facts.linkTarget : nil)
            guard let src, let linkSource = linkSource ?? facts.realPath else {
                return .fail("src is required for creating new symlinks", data: ["path": path])
            }
            let source = facts.source ?? facts.followed
            if facts.path?.type != "link" || facts.linkTarget != src {
                if let old = facts.path, old.type == "directory" {
                    return .fail("refusing to convert from directory to symlink for \(path)", data: ["path": path])
                }
                if let old = facts.path, old.type != "link", !force {
                    return .fail("refusing to convert from \(old.state) to symlink for \(path)", data: ["path": path])
                }
                // A dangling link needs force. Not judged under --check: an earlier task that
                // would create src did not run.
                if !ctx.check && !force && source == nil {
                    return .fail("src file does not exist, use \"force=yes\" if you really want to create the link: \(linkSource)",
                                 data: ["path": path, "src": src])
                }
                plan.steps.append("ln -sfn -- \(q(src)) \(p)")
                plan.before["state"] = facts.path?.state ?? "absent"; plan.before["src"] = facts.linkTarget
                plan.after["state"] = "link"; plan.after["src"] = src
            }
            plan.data["src"] = src
            // Attributes go to what the link points to when following it, else to the link itself.
            if follow, let s = source { try plan.attributes(args, linkSource, s, directory: s.type == "directory", noDereference: false) }
            else if !follow {
                // The link itself: owner and group only (Linux keeps no mode on a link).
                plan.ownership(args, p, plan.steps.isEmpty ? facts.path : nil, "-h ")
            }
            plan.times(wanted, follow ? linkSource : path, follow ? source : (plan.steps.isEmpty ? facts.path : nil), noDereference: !follow)
            return try plan.finish(ctx, report: path, dest: true, expect: facts.path)
        case "hard":
            guard let src, let linkSource else { return .fail("src is required for creating new hardlinks", data: ["path": path]) }
            guard let source = facts.source else { return .fail("src does not exist", data: ["dest": path, "src": src]) }
            plan.data["src"] = src
            let old = facts.path
            var link = old == nil
            if let old {
                switch old.type {
                case "link": link = true
                case "directory": return .fail("Cannot link, directory exists at destination", data: ["dest": path, "src": src])
                default:
                    if old.inode != source.inode {
                        guard force else {
                            return .fail(old.nlink > 1 ? "Cannot link, different hard link exists at destination" : "Cannot link, \(old.state) exists at destination",
                                         data: ["dest": path, "src": src])
                        }
                        link = true
                    }
                }
            }
            if link {
                // Replaced by a rename, so the path is never missing.
                let tmp = q(((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(".provision-hard-\(UUID().uuidString.prefix(8))"))
                plan.steps.append(old == nil ? "ln -- \(q(linkSource)) \(p)" : "ln -- \(q(linkSource)) \(tmp) && mv -f -- \(tmp) \(p)")
                plan.before["state"] = old?.state ?? "absent"; plan.after["state"] = "hard"; plan.after["src"] = src
            }
            try plan.attributes(args, path, source, directory: false, noDereference: false)
            plan.times(wanted, path, source, noDereference: false)
            try plan.flags(ctx, FileAttributes(args), path, exists: true)
            return try plan.finish(ctx, report: path, dest: true, expect: facts.path ?? source)
        default: break
        }
        try plan.attributes(args, target, current, directory: state == "directory", noDereference: false)
        if state == "directory", current != nil, recurse, args.has("owner") || args.has("group") || args.has("mode") {
            let modeSpec = try args.mode("mode")
            if case .symbolic = modeSpec { return .fail("recurse with a symbolic mode is not supported; give an octal mode") }
            try Self.recurse(ctx, target, owner: args.optionalString("owner"), group: args.optionalString("group"),
                             mode: modeSpec?.resolve(current: nil, directory: true), steps: &plan.steps, after: &plan.after)
        }
        plan.times(wanted, target, current, noDereference: false)
        try plan.flags(ctx, FileAttributes(args), target, exists: current != nil)
        return try plan.finish(ctx, report: target, dest: state == "touch", expect: current)
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

    /// The steps still needed, the diff's before/after, and the result: sent as one command that
    /// ends with a stat of the reported path, whose keys (state, mode, uid, gid, owner, group,
    /// size) the result carries as Ansible's does.
    struct Plan {
        var path: String
        var steps: [String] = []
        var before: [String: String] = [:], after: [String: String] = [:]
        var data: [String: Any] = [:]
        var planned: [String: Any] = [:]

        mutating func attributes(_ args: ModuleArgs, _ target: String, _ cur: PathStat?, directory: Bool, noDereference: Bool) throws {
            let t = q(target), h = noDereference ? "-h " : ""
            if let spec = try args.mode("mode") {
                let mode = spec.resolve(current: cur?.mode, directory: directory)
                if cur == nil || cur!.mode != mode {
                    steps.append("chmod \(String(mode, radix: 8)) -- \(t)")
                    before["mode"] = cur.map { String(format: "%04o", $0.mode) } ?? ""; after["mode"] = String(format: "%04o", mode)
                }
                planned["mode"] = String(format: "%04o", mode)
            }
            ownership(args, t, cur, h)
        }

        mutating func ownership(_ args: ModuleArgs, _ t: String, _ cur: PathStat?, _ h: String) {
            // Nothing there yet (cur nil): always chown. `Int(owner) != cur?.uid` alone would be
            // `nil != nil` (false) for a name and a path still to be made.
            if let owner = args.optionalString("owner"), !owner.isEmpty, cur == nil || (owner != cur!.owner && Int(owner) != cur!.uid) {
                steps.append("chown \(h)\(q(owner)) -- \(t)"); before["owner"] = cur?.owner ?? ""; after["owner"] = owner; planned["owner"] = owner
            }
            if let group = args.optionalString("group"), !group.isEmpty, cur == nil || (group != cur!.group && Int(group) != cur!.gid) {
                steps.append("chgrp \(h)\(q(group)) -- \(t)"); before["group"] = cur?.group ?? ""; after["group"] = group; planned["group"] = group
            }
        }

        /// `attributes`: chattr last (an immutable flag would refuse the steps before it), when
        /// the flags differ; a path still to be made gets them after it is made.
        mutating func flags(_ ctx: ModuleContext, _ wanted: FileAttributes?, _ target: String, exists: Bool) throws {
            guard let wanted else { return }
            let have: Set<Character> = exists ? try FileAttributes.current(ctx, target) : []
            guard !exists || wanted.differs(from: have) else { return }
            if exists || !wanted.flags.subtracting(FileAttributes.fixed).isEmpty || wanted.operation == .exactly {
                steps.append(wanted.command(target))
                before["attributes"] = exists ? FileAttributes.text(have) : ""
                after["attributes"] = FileAttributes.text(wanted.applied(to: have))
            }
        }

        /// modification_time, access_time: `now` always acts, a time acts when it differs.
        mutating func times(_ wanted: [TimeSpec.Want], _ target: String, _ cur: PathStat?, noDereference: Bool) {
            let (m, a) = (wanted[0], wanted[1])
            let h = noDereference ? "-h " : ""
            if case .now = m, case .now = a { steps.append("touch -c \(h)-- \(q(target))"); after["times"] = "now"; return }
            for (want, flag, key, have) in [(m, "-m", "mtime", cur?.mtime), (a, "-a", "atime", cur?.atime)] {
                switch want {
                case .preserve: continue
                case .now: steps.append("touch -c \(h)\(flag) -- \(q(target))"); after[key] = "now"
                case let .epoch(e):
                    if have != "\(e).000000000" {
                        steps.append("touch -c \(h)\(flag) -d @\(e) -- \(q(target))"); before[key] = have ?? ""; after[key] = "\(e)"
                    }
                }
            }
        }

        /// Runs the steps (unless --check) and reads the reported path's stat in the same round
        /// trip; unchanged, the facts already read are the result (`expect`, for the followed
        /// target or the link's source).
        func finish(_ ctx: ModuleContext, report: String?, dest: Bool = false, expect: PathStat? = nil) throws -> ModuleResult {
            var result = ModuleResult(changed: !steps.isEmpty, data: data)
            result.data["path"] = report ?? path
            if dest { result.data["dest"] = report ?? path }
            if ctx.diff && result.changed { result.diff = UnifiedDiff.state(before, after) }
            guard let report else { result.data["state"] = "absent"; return try run(ctx, result) }
            if result.changed && !ctx.check {
                let command = steps.joined(separator: " && ") + " && stat -c \(q(PathStat.format)) -- \(q(report))"
                let r = try ctx.sh(command)
                if r.exitStatus != 0 { return .fail("\(steps.joined(separator: " && ")): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
                if let s = PathStat(r.stdout.components(separatedBy: "\n").last { !$0.isEmpty } ?? "") { result.data.merge(s.resultKeys) { _, n in n } }
                return result
            }
            // Unchanged, or --check: what is there now, with what would change.
            if let s = expect { result.data.merge(s.resultKeys) { _, n in n } }
            if let state = after["state"] { result.data["state"] = state }
            result.data.merge(planned) { _, n in n }
            return result
        }

        private func run(_ ctx: ModuleContext, _ result: ModuleResult) throws -> ModuleResult {
            guard result.changed, !ctx.check else { return result }
            let r = try ctx.sh(steps.joined(separator: " && "))
            if r.exitStatus != 0 { return .fail("\(steps.joined(separator: " && ")): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
            return result
        }
    }
}

/// One `stat -c` line: what the file module plans from and returns.
struct PathStat {
    static let format = "%F|%a|%U|%G|%u|%g|%s|%h|%i|%.9X|%.9Y"
    var type: String  // file, directory, link, other
    var mode: UInt32
    var owner: String, group: String
    var uid: Int, gid: Int, size: Int, nlink: Int
    var inode: String, atime: String, mtime: String

    init?(_ line: String) {
        let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 11 else { return nil }
        type = f[0].contains("directory") ? "directory" : f[0].contains("symbolic") ? "link" : f[0].contains("regular") ? "file" : "other"
        mode = UInt32(f[1], radix: 8) ?? 0
        owner = f[2]; group = f[3]
        uid = Int(f[4]) ?? -1; gid = Int(f[5]) ?? -1; size = Int(f[6]) ?? 0; nlink = Int(f[7]) ?? 1
        inode = f[8]; atime = f[9]; mtime = f[10]
    }

    /// Ansible's name for it: a regular file with more than one name is `hard`.
    /// Devices, sockets and FIFOs are `file` as in Ansible's get_state.
    var state: String { type == "file" && nlink > 1 ? "hard" : type == "other" ? "file" : type }

    var resultKeys: [String: Any] {
        // Ansible's '0%03o': "0644", "01777".
        ["state": state, "mode": String(format: "0%03o", mode), "uid": uid, "gid": gid, "owner": owner, "group": group, "size": size]
    }
}

/// Everything the file module plans from, in one round trip: the path (not followed), its link
/// target, what it resolves to when followed, the link / hard-link source, and the wanted times
/// as epochs read by the host's `date` (so in the host's time zone, as Ansible's mktime is).
struct PathFacts {
    var path: PathStat?
    var linkTarget = ""
    var realPath: String?
    var followed: PathStat?
    var source: PathStat?
    var epochs: [Int] = []

    static func gather(_ ctx: ModuleContext, _ path: String, follow: Bool, source: String?, dates: [String]) throws -> PathFacts {
        let p = q(path), fmt = q(PathStat.format)
        var script = "st() { stat -c \(fmt) \"$@\" 2>/dev/null || echo __MISSING__; }; echo \"P:$(st -- \(p))\"; echo \"T:$(readlink -- \(p))\""
        if follow { script += "; if [ -L \(p) ]; then echo \"R:$(readlink -f -- \(p))\"; echo \"F:$(st -L -- \(p))\"; fi" }
        if let source { script += "; echo \"S:$(st -L -- \(q(source)))\"" }
        for d in dates { script += "; echo \"D:$(date -d \(q(d)) +%s 2>&1)\"" }
        let r = try ctx.sh(script + "; true")
        guard r.exitStatus == 0 else { throw ProvisionError("cannot inspect \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        var f = PathFacts()
        for line in r.stdout.components(separatedBy: "\n") where line.count >= 2 {
            let value = String(line.dropFirst(2))
            switch line.prefix(2) {
            case "P:": f.path = PathStat(value)
            case "T:": f.linkTarget = value
            case "R:": f.realPath = value.isEmpty ? nil : value
            case "F:": f.followed = PathStat(value)
            case "S:": f.source = PathStat(value)
            case "D:":
                guard let e = Int(value) else { throw ProvisionError("file: the host's date cannot read the time: \(value)") }
                f.epochs.append(e)
            default: break
            }
        }
        return f
    }
}

/// `modification_time` / `access_time` with their `_format` (Python's strptime directives):
/// `preserve` (the default), `now`, or a time in the format, read as the host's local time.
struct TimeSpec {
    enum Want { case preserve, now, epoch(Int) }
    struct Unreadable: Error, CustomStringConvertible { var description: String }
    var value: String?
    /// The time as "YYYY-MM-DD HH:MM:SS" for the host's `date -d`.
    var wallClock: String?

    init(_ args: ModuleArgs, _ key: String) throws {
        value = args.optionalString(key)
        guard let value, value != "preserve", value != "now" else { return }
        let format = args.string(key + "_format", default: "%Y%m%d%H%M.%S")
        guard let w = Self.parse(value, format) else {
            throw Unreadable(description: "Error while obtaining timestamp for time \(value) using format \(format): time data '\(value)' does not match format '\(format)'")
        }
        wallClock = w
    }

    func resolve(_ epochs: inout IndexingIterator<[Int]>) throws -> Want {
        switch value {
        case nil, "preserve": return .preserve
        case "now": return .now
        default:
            guard let e = epochs.next() else { throw ProvisionError("file: no epoch for \(value!)") }
            return .epoch(e)
        }
    }

    /// Python's strptime for the directives time formats use (%Y %y %m %d %H %I %M %S %p %b %B
    /// %%), the whole text consumed; unset fields as Python leaves them (1900-01-01 00:00:00).
    static func parse(_ text: String, _ format: String) -> String? {
        let f = Array(format), t = Array(text)
        var i = 0, j = 0
        var year = 1900, month = 1, day = 1, hour = 0, minute = 0, second = 0, pm: Bool?
        func number(_ maxDigits: Int) -> Int? {
            var n = 0, k = 0
            while k < maxDigits, j < t.count, let d = t[j].wholeNumberValue, t[j].isASCII { n = n * 10 + d; j += 1; k += 1 }
            return k == 0 ? nil : n
        }
        let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                      "november", "december"]
        while i < f.count {
            if f[i] == "%", i + 1 < f.count {
                i += 1
                switch f[i] {
                case "Y": guard let n = number(4) else { return nil }; year = n
                case "y": guard let n = number(2) else { return nil }; year = n < 69 ? 2000 + n : 1900 + n
                case "m": guard let n = number(2), (1...12).contains(n) else { return nil }; month = n
                case "d": guard let n = number(2), (1...31).contains(n) else { return nil }; day = n
                case "H": guard let n = number(2), n < 24 else { return nil }; hour = n
                case "I": guard let n = number(2), (1...12).contains(n) else { return nil }; hour = n
                case "M": guard let n = number(2), n < 60 else { return nil }; minute = n
                case "S": guard let n = number(2), n < 62 else { return nil }; second = n
                case "p":
                    let word = String(t[j...].prefix(2)).lowercased()
                    guard word == "am" || word == "pm" else { return nil }
                    pm = word == "pm"; j += 2
                case "b", "B", "h":
                    let rest = String(t[j...]).lowercased()
                    guard let m = months.firstIndex(where: { rest.hasPrefix(String($0.prefix(3))) }) else { return nil }
                    j += rest.hasPrefix(months[m]) ? months[m].count : 3
                    month = m + 1
                case "%": guard j < t.count, t[j] == "%" else { return nil }; j += 1
                default: return nil
                }
                i += 1
            } else if f[i].isWhitespace {
                while j < t.count, t[j].isWhitespace { j += 1 }
                i += 1
            } else {
                guard j < t.count, t[j] == f[i] else { return nil }
                i += 1; j += 1
            }
        }
        guard j == t.count else { return nil }
        if let pm { hour = hour % 12 + (pm ? 12 : 0) }
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", year, month, day, hour, minute, second)
    }
}
