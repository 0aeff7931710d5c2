import Foundation

/// `replace`: every match of `regexp` (Python syntax, multiline: `^`/`$` per line) becomes
/// `replace` (`\1`, `\g<name>` backreferences), optionally only in the part of the file after
/// the first match of `after` and/or before the next (alone: the last) match of `before`. Reports Ansible's
/// "N replacements made"; `backup: true` keeps a timestamped copy and returns `backup_file`;
/// `validate` checks the new content first (FileWriter).
public struct ReplaceModule: ProvisionModule {
    public static let name = "replace"
    public static let pathOptions: Set<String> = ["path", "dest", "destfile", "name"]
    public static let options = [
        OptionSpec("path", required: true, aliases: ["dest", "destfile", "name"]), OptionSpec("regexp", required: true),
        OptionSpec("replace", .any), OptionSpec("after"), OptionSpec("before"), OptionSpec("backup", .bool),
        OptionSpec("validate"), OptionSpec("unsafe_writes", .bool), OptionSpec("encoding"), OptionSpec("mode", .any), OptionSpec("owner"), OptionSpec("group"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let named = try args.optionalString("path") ?? args.optionalString("dest") ?? args.optionalString("destfile") ?? args.string("name")
        let (path, facts) = try FileFacts.following(ctx, named, content: true)
        guard facts.exists else { return .fail("Path \(path) does not exist !", data: ["rc": 257]) }
        guard facts.type != "directory" else { return .fail("Path \(path) is a directory !", data: ["rc": 256]) }
        let contents = String(decoding: facts.content ?? Data(), as: UTF8.self) as NSString
        var section = NSRange(location: 0, length: contents.length)
        let after = args.optionalString("after"), before = args.optionalString("before")
        if after != nil || before != nil {
            // The part between the first `after` match and the last `before` match.
            let pattern = (after ?? "") + (after != nil && before != nil ? "(?<subsection>.*?)" : "(?<subsection>.*)") + (before ?? "")
            let re = try PythonRegex.compile(pattern, options: .dotMatchesLineSeparators)
            guard let m = re.firstMatch(in: contents as String, range: section) else {
                return ModuleResult(msg: "Pattern for before/after params did not match the given file: \(pattern)", data: ["path": path])
            }
            section = m.range(withName: "subsection")
        }
        let regexp = try args.string("regexp")
        let re = try PythonRegex.compile(regexp, options: .anchorsMatchLines)
        let part = NSMutableString(string: contents.substring(with: section))
        let count = re.replaceMatches(in: part, range: NSRange(location: 0, length: part.length),
                                      withTemplate: PythonRegex.template(args.string("replace", default: ""), groups: PythonRegex.groupNumbers(regexp)))
        let updated = contents.replacingCharacters(in: section, with: part as String)
        guard count > 0, updated != contents as String else {
            return ModuleResult(msg: "", data: ["path": path])
        }
        var result = try FileWriter.ensure(ctx, path: path, data: Data(updated.utf8), mode: args.mode("mode"),
                                           owner: args.optionalString("owner"), group: args.optionalString("group"), facts: facts,
                                           backup: args.bool("backup"), validate: args.optionalString("validate"))
        if !result.failed { result.msg = "\(count) replacements made" }
        return EditedFile.validateFailure(result)
    }
}
