import Foundation

/// `user`: a local account present (useradd / usermod for what differs) or absent (userdel).
/// Facts from `getent passwd` and `id -Gn` in one round trip.
public struct UserModule: ProvisionModule {
    public static let name = "user"
    public static let options = [
        OptionSpec("name", required: true), OptionSpec("state", choices: ["present", "absent"]), OptionSpec("uid", .int),
        OptionSpec("group"), OptionSpec("groups", .list), OptionSpec("append", .bool), OptionSpec("shell"), OptionSpec("home"),
        OptionSpec("system", .bool), OptionSpec("create_home", .bool), OptionSpec("comment"), OptionSpec("remove", .bool),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let name = try args.string("name"), n = q(name)
        let state = try args.choice("state", ["present", "absent"], default: "present")
        let r = try ctx.sh("getent passwd \(n); echo __GROUPS__; id -Gn \(n) 2>/dev/null; getent group $(id -g \(n) 2>/dev/null) 2>/dev/null | cut -d: -f1")
        let parts = r.stdout.components(separatedBy: "__GROUPS__\n")
        let pw = parts[0].split(separator: "\n").first.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        let groupLines = parts.count > 1 ? parts[1].split(separator: "\n").map(String.init) : []
        let current = Set(groupLines.first?.split(separator: " ").map(String.init) ?? [])
        let primary = groupLines.count > 1 ? groupLines[1] : ""
        var cmd: String?
        var before: [String: String] = [:], after: [String: String] = [:]
        if state == "absent" {
            if pw != nil { cmd = "userdel \(try args.bool("remove") ? "-r " : "")\(n)"; before["state"] = "present"; after["state"] = "absent" }
        } else if pw == nil {
            var o: [String] = []
            if let u = args.optionalString("uid") { o.append("-u \(q(u))") }
            if let g = args.optionalString("group") { o.append("-g \(q(g))") }
            let groups = args.list("groups").map { Values.string($0) }
            if !groups.isEmpty { o.append("-G \(q(groups.joined(separator: ",")))") }
            if let s = args.optionalString("shell") { o.append("-s \(q(s))") }
            if let h = args.optionalString("home") { o.append("-d \(q(h))") }
            if let c = args.optionalString("comment") { o.append("-c \(q(c))") }
            if try args.bool("system") { o.append("-r") }
            o.append(try args.bool("create_home", default: !(try args.bool("system"))) ? "-m" : "-M")
            cmd = "useradd \(o.joined(separator: " ")) \(n)"
            before["state"] = "absent"; after["state"] = "present"
        } else if let pw, pw.count >= 7 {
            var o: [String] = []
            if let u = args.optionalString("uid"), u != pw[2] { o.append("-u \(q(u))"); before["uid"] = pw[2]; after["uid"] = u }
            if let g = args.optionalString("group"), g != primary, g != pw[3] { o.append("-g \(q(g))"); before["group"] = primary; after["group"] = g }
            if let s = args.optionalString("shell"), s != pw[6] { o.append("-s \(q(s))"); before["shell"] = pw[6]; after["shell"] = s }
            if let h = args.optionalString("home"), h != pw[5] { o.append("-d \(q(h))"); before["home"] = pw[5]; after["home"] = h }
            if let c = args.optionalString("comment"), c != pw[4] { o.append("-c \(q(c))"); before["comment"] = pw[4]; after["comment"] = c }
            let want = Set(args.list("groups").map { Values.string($0) })
            let append = try args.bool("append")
            let missing = want.subtracting(current)
            let extra = current.subtracting(want).subtracting([primary])
            if args.has("groups") && (!missing.isEmpty || (!append && !extra.isEmpty)) {
                let target = append ? current.union(want).subtracting([primary]) : want
                o.append("-G \(q(target.sorted().joined(separator: ",")))")
                before["groups"] = current.sorted().joined(separator: ","); after["groups"] = target.union([primary]).sorted().joined(separator: ",")
            }
            if !o.isEmpty { cmd = "usermod \(o.joined(separator: " ")) \(n)" }
        }
        return try ctx.apply(cmd.map { [$0] } ?? [], data: ["name": name, "state": state], before: before, after: after)
    }
}

/// `group`: a local group present (groupadd, or groupmod -g for a different gid) or absent.
public struct GroupModule: ProvisionModule {
    public static let name = "group"
    public static let options = [OptionSpec("name", required: true), OptionSpec("state", choices: ["present", "absent"]),
                                 OptionSpec("gid", .int), OptionSpec("system", .bool)]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let name = try args.string("name"), n = q(name)
        let state = try args.choice("state", ["present", "absent"], default: "present")
        let r = try ctx.sh("getent group \(n); true")
        let entry = r.stdout.split(separator: "\n").first.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        var cmd: String?
        var before = ["state": entry == nil ? "absent" : "present"], after = before
        if state == "absent" {
            if entry != nil { cmd = "groupdel \(n)"; after["state"] = "absent" }
        } else if entry == nil {
            cmd = "groupadd \(args.optionalString("gid").map { "-g \(q($0)) " } ?? "")\(try args.bool("system") ? "-r " : "")\(n)"
            after["state"] = "present"
        } else if let gid = args.optionalString("gid"), let e = entry, e.count > 2, e[2] != gid {
            cmd = "groupmod -g \(q(gid)) \(n)"; before["gid"] = e[2]; after["gid"] = gid
        }
        return try ctx.apply(cmd.map { [$0] } ?? [], data: ["name": name, "state": state], before: before, after: after)
    }
}
