/// `hwaddr` / `macaddr` (ansible.utils): whether a string is a MAC address (EUI-48) and its other
/// spellings. Read: `1a:2b:3c:4d:5e:6f` (also with `-`, or one hex digit a group), Cisco's
/// `1a2b.3c4d.5e6f`, PostgreSQL's `1a2b3c:4d5e6f`, bare `1a2b3c4d5e6f`, any case. Queries as
/// ansible.utils documents them; a value that is no MAC address is false (a list keeps the rest).
enum HWAddressFilter {
    static let queries = ["", "bool", "int", "bare", "cisco", "eui48", "win", "linux", "unix", "pgsql", "postgresql", "psql"]

    static func apply(_ value: Any, query: String) throws -> Any {
        guard queries.contains(query) else {
            throw ProvisionError("hwaddr: unknown query '\(query)' (supported: \(queries.dropFirst().joined(separator: ", ")))")
        }
        if let list = value as? [Any] { return try IPAddressFilter.kept(list) { try apply($0, query: query) } }
        guard let text = value as? String, let bytes = parse(text) else { return false }
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        switch query {
        case "": return text
        case "bool": return true
        case "int": return bytes.reduce(0) { $0 << 8 | Int($1) }
        case "bare": return hex.joined().uppercased()
        case "cisco": return stride(from: 0, to: 6, by: 2).map { hex[$0] + hex[$0 + 1] }.joined(separator: ".")
        case "eui48", "win": return hex.joined(separator: "-").uppercased()
        case "linux", "unix": return hex.joined(separator: ":")
        default: return hex[0..<3].joined() + ":" + hex[3..<6].joined()  // pgsql, postgresql, psql
        }
    }

    /// The six bytes of a MAC address in one of the spellings above, nil for anything else.
    static func parse(_ text: String) -> [UInt8]? {
        func bytes(_ groups: [Substring], digits: ClosedRange<Int>) -> [UInt8]? {
            guard groups.allSatisfy({ digits.contains($0.count) && $0.allSatisfy(\.isHexDigit) }) else { return nil }
            let joined = groups.map { String(repeating: "0", count: digits.upperBound - $0.count) + $0 }.joined()
            var out: [UInt8] = []
            var i = joined.startIndex
            while i < joined.endIndex {
                let j = joined.index(i, offsetBy: 2)
                guard let b = UInt8(joined[i..<j], radix: 16) else { return nil }
                out.append(b); i = j
            }
            return out.count == 6 ? out : nil
        }
        for separator: Character in [":", "-"] {
            let groups = text.split(separator: separator, omittingEmptySubsequences: false)
            if groups.count == 6 { return bytes(groups, digits: 1...2) }
            if groups.count == 2, separator == ":" { return bytes(groups, digits: 6...6) }
        }
        let dotted = text.split(separator: ".", omittingEmptySubsequences: false)
        if dotted.count == 3 { return bytes(dotted, digits: 4...4) }
        if text.count == 12 { return bytes([Substring(text)], digits: 12...12) }
        return nil
    }
}
