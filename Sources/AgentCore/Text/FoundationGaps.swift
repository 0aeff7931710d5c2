// What the agent used from full Foundation and FoundationEssentials does not have (issue 14: the
// agent links FoundationEssentials only, not ICU): trimming, printf-style numbers, a lock, the
// temporary directory, path parents, percent-encoding. Each behaves as the Foundation call it replaces.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Unicode.Scalar {
    /// CharacterSet.whitespaces: space separators and tab.
    var isSpace: Bool { self == "\t" || properties.generalCategory == .spaceSeparator }
    /// CharacterSet.newlines.
    var isNewline: Bool { (0x0A...0x0D).contains(value) || value == 0x85 || value == 0x2028 || value == 0x2029 }
}

extension StringProtocol {
    func trimming(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !drop($0) })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// trimmingCharacters(in: .whitespaces)
    public func trimmingSpaces() -> String { trimming { $0.isSpace } }
    /// trimmingCharacters(in: .whitespacesAndNewlines)
    public func trimmingSpacesAndNewlines() -> String { trimming { $0.isSpace || $0.isNewline } }
    /// trimmingCharacters(in: CharacterSet(charactersIn: characters))
    public func trimming(scalarsIn characters: String) -> String {
        let set = Set(characters.unicodeScalars)
        return trimming { set.contains($0) }
    }
}

/// printf-style formatting (String(format:) for numbers: "%.1f", "%08X").
public func formatted(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 128)
        let n = Int(vsnprintf(&buffer, buffer.count, format, list))
        return String(decoding: buffer.prefix(max(0, min(n, buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// NSLock's place: a pthread mutex.
public final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// temporaryDirectory(): $TMPDIR (with a trailing slash) or /tmp/.
public func temporaryDirectory() -> String {
    guard let dir = ProcessInfo.processInfo.environment["TMPDIR"], !dir.isEmpty else { return "/tmp/" }
    return dir.hasSuffix("/") ? dir : dir + "/"
}

/// NSString.deletingLastPathComponent: "/a/b" → "/a", "/a" → "/", "a" → "".
public func parentPath(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    if slash == p.startIndex { return "/" }
    var parent = p[..<slash]
    while parent.count > 1 && parent.hasSuffix("/") { parent = parent.dropLast() }
    return String(parent)
}

/// addingPercentEncoding(withAllowedCharacters: .alphanumerics ∪ extra): letters, marks and digits
/// (any script) and `extra` stay, every other byte of the UTF-8 is %XX.
public func percentEncoded(_ s: String, keeping extra: String = "-._~") -> String {
    let keep = Set(extra.unicodeScalars)
    var out = ""
    for u in s.unicodeScalars {
        let kind = u.properties.generalCategory
        let alphanumeric: Bool
        switch kind {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
            alphanumeric = true
        default: alphanumeric = false
        }
        if alphanumeric || keep.contains(u) { out.unicodeScalars.append(u); continue }
        for b in String(u).utf8 { out += "%" + formatted("%02X", UInt32(b)) }
    }
    return out
}

/// ISO 8601 in UTC to the second, as ISO8601DateFormatter() wrote it: 2026-12-07T11:34:50Z.
public func iso8601(_ date: Date) -> String { date.formatted(.iso8601) }

/// ISO8601DateFormatter().date(from:), with or without fractional seconds.
public func parseISO8601(_ s: String) -> Date? {
    if let d = try? Date(s, strategy: .iso8601) { return d }
    return try? Date(s, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}
