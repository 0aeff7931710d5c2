import Foundation

/// `attributes` (alias `attr`) of file, copy, template, lineinfile, blockinfile and replace: the
/// chattr flags a path should carry, as lsattr shows them. `i` or `=i` sets exactly those flags,
/// `+i` adds, `-i` removes (Ansible's operators). Compared as sets of flags, not as lsattr's
/// string as Ansible compares them, and without the flags chattr cannot change (`e`: extents,
/// which ext4 never clears; `E`, `I`, `N`, `V`, `h`, `Z`: the filesystem's), so a second run
/// reports changed=0 where Ansible's reports changed for a file on ext4 (docs/playbooks.md).
struct FileAttributes: Equatable {
    enum Operation: String { case exactly = "=", add = "+", remove = "-" }
    let operation: Operation
    let flags: Set<Character>

    /// What chattr can set (e2fsprogs' chattr(1)).
    static let settable: Set<Character> = Set("aAcCdDeFijmPsStTux")
    /// Shown by lsattr, left alone by chattr whatever it is asked: never compared.
    static let fixed: Set<Character> = Set("eEhINVZ")

    /// The task's `attributes` / `attr`; nil when neither is given. A flag chattr does not know
    /// is an error naming it, before anything changes.
    init?(_ args: ModuleArgs) throws {
        guard let text = args.optionalString("attributes") ?? args.optionalString("attr") else { return nil }
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if let first = rest.first, let op = Operation(rawValue: String(first)) { operation = op; rest = rest.dropFirst() } else { operation = .exactly }
        let unknown = rest.filter { !Self.settable.contains($0) }
        guard unknown.isEmpty else {
            throw ProvisionError("attributes: '\(text)' has flags chattr cannot set: \(String(unknown)) (settable: \(String(Self.settable.sorted())))")
        }
        flags = Set(rest)
    }

    /// The flags in `lsattr -d` output (`----i---------e------- /path`).
    static func parse(lsattr line: String) -> Set<Character> {
        Set((line.split(separator: " ").first ?? "").filter { $0 != "-" })
    }

    /// Whether a path carrying `current` needs chattr.
    func differs(from current: Set<Character>) -> Bool {
        switch operation {
        case .exactly: return flags.subtracting(Self.fixed) != current.subtracting(Self.fixed)
        case .add: return !flags.subtracting(Self.fixed).isSubset(of: current)
        case .remove: return !flags.subtracting(Self.fixed).isDisjoint(with: current)
        }
    }

    /// The flags after chattr, for the result and --diff.
    func applied(to current: Set<Character>) -> Set<Character> {
        switch operation {
        case .exactly: return flags.union(current.intersection(Self.fixed))
        case .add: return current.union(flags)
        case .remove: return current.subtracting(flags.subtracting(Self.fixed))
        }
    }

    func command(_ path: String) -> String {
        "chattr \(operation.rawValue)\(String(flags.subtracting(Self.fixed).sorted())) -- \(q(path))"
    }

    /// lsattr's letters in a stable order, for the result's `attributes` key and --diff.
    static func text(_ flags: Set<Character>) -> String { String(flags.sorted()) }

    /// The flags `path` carries now: one `lsattr -d` round trip (only tasks that ask for
    /// attributes pay it). A filesystem without flags (tmpfs, overlay) is an error naming it.
    static func current(_ ctx: ModuleContext, _ path: String) throws -> Set<Character> {
        let r = try ctx.sh("lsattr -d -- \(q(path))")
        guard r.exitStatus == 0 else {
            throw ProvisionError("attributes: cannot read the flags of \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return parse(lsattr: r.stdout)
    }
}
