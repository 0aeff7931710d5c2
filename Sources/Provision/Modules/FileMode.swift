import Foundation

/// A `mode:` option as Ansible takes it: octal (`"0644"`, `"644"`, or YAML's `0644`, which
/// arrives as the number 420) or symbolic like chmod's (`u=rw,g=r,o=r`, `u+x,go-w`, `a+X`),
/// resolved against the path's current mode (for a new path: 0644 for files, 0755 for
/// directories). `preserve` (copy: keep the source's mode) is not supported.
public enum FileMode: Equatable {
    case octal(UInt32)
    case symbolic(String)

    static func parse(_ value: Any) -> FileMode? {
        if let i = value as? Int, !(value is Bool) { return i >= 0 && i <= 0o7777 ? .octal(UInt32(i)) : nil }
        let s = Values.string(value).trimmingCharacters(in: .whitespaces)
        if let m = UInt32(s, radix: 8), m <= 0o7777 { return .octal(m) }
        return (try? apply(s, to: 0, directory: false)) != nil ? .symbolic(s) : nil
    }

    /// The mode to set, given what the path has now (nil when it does not exist yet).
    public func resolve(current: UInt32?, directory: Bool) -> UInt32 {
        switch self {
        case let .octal(m): return m
        case let .symbolic(s):
            let base = current ?? (directory ? 0o755 : 0o644)
            return (try? Self.apply(s, to: base, directory: directory)) ?? base
        }
    }

    struct Invalid: Error {}

    /// chmod's symbolic clauses: `[ugoa]*([-+=][rwxXst]*)+`, comma-separated; no `who` means all.
    static func apply(_ spec: String, to mode: UInt32, directory: Bool) throws -> UInt32 {
        var mode = mode
        for clause in spec.split(separator: ",", omittingEmptySubsequences: false) {
            var chars = Substring(clause)
            var who: UInt32 = 0
            while let c = chars.first, "ugoa".contains(c) {
                who |= c == "u" ? 0o4700 : c == "g" ? 0o2070 : c == "o" ? 0o1007 : 0o7777
                chars = chars.dropFirst()
            }
            if who == 0 { who = 0o7777 }
            guard chars.first.map({ "+-=".contains($0) }) == true else { throw Invalid() }
            while let op = chars.first, "+-=".contains(op) {
                chars = chars.dropFirst()
                var bits: UInt32 = 0
                while let p = chars.first, "rwxXst".contains(p) {
                    switch p {
                    case "r": bits |= 0o444
                    case "w": bits |= 0o222
                    case "x": bits |= 0o111
                    case "X": if directory || mode & 0o111 != 0 { bits |= 0o111 }
                    case "s": bits |= 0o6000
                    default: bits |= 0o1000
                    }
                    chars = chars.dropFirst()
                }
                let mask = who & bits
                switch op {
                case "+": mode |= mask
                case "-": mode &= ~mask
                // `=` resets the class's bits (a directory keeps its set-id bits, as chmod does).
                default: mode = (mode & ~(directory ? who & ~0o6000 : who)) | mask
                }
            }
            guard chars.isEmpty else { throw Invalid() }
        }
        return mode
    }
}
