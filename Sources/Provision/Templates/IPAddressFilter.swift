import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `ipaddr` (ansible.utils, formerly ansible.netcommon): the basic queries. Like Ansible's, the
/// filter returns a value when the query holds and `false` when it does not, so it doubles as a
/// test (`when: x | ipaddr`); on a list it keeps the items for which the query holds.
enum IPAddressFilter {
    /// An address with its prefix: `192.0.2.1/24`, or `192.0.2.1` as /32 (/128 for IPv6).
    struct Interface {
        var bytes: [UInt8]
        var prefix: Int
        var isV6: Bool { bytes.count == 16 }
        var bits: Int { bytes.count * 8 }

        /// `address`, `address/prefix` or `address/netmask`, as netaddr's IPNetwork takes them.
        init?(_ text: String) {
            let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = Interface.parse(String(parts[0])) else { return nil }
            bytes = address
            prefix = address.count * 8
            if parts.count == 2 {
                let suffix = String(parts[1])
                if !suffix.isEmpty, suffix.allSatisfy(\.isNumber), let n = Int(suffix), n <= prefix {
                    prefix = n
                } else if address.count == 4, let mask = Interface.parse(suffix), mask.count == 4, let n = Interface.prefixLength(mask) {
                    prefix = n
                } else { return nil }
            }
        }

        static func parse(_ text: String) -> [UInt8]? {
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
            return nil
        }

        /// The prefix length of a contiguous netmask (`255.255.255.0` → 24), nil for others.
        static func prefixLength(_ mask: [UInt8]) -> Int? {
            let bits = mask.flatMap { byte in (0..<8).map { (byte >> (7 - $0)) & 1 } }
            let ones = bits.prefix { $0 == 1 }.count
            return bits.dropFirst(ones).allSatisfy { $0 == 0 } ? ones : nil
        }

        static func format(_ bytes: [UInt8]) -> String {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = bytes.count == 4 ? AF_INET : AF_INET6
            _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
            return String(cString: buffer)
        }

        var mask: [UInt8] {
            (0..<bytes.count).map { i in
                let ones = min(8, max(0, prefix - i * 8))
                return ones == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - ones))
            }
        }
        var network: [UInt8] { zip(bytes, mask).map { $0 & $1 } }
        var broadcast: [UInt8] { zip(bytes, mask).map { $0 | ~$1 } }
    }

    /// A list's items for which `query` gives something true (Python's `if item`: False, None,
    /// 0 and "" drop out), each as the query gave it.
    static func kept(_ list: [Any], _ query: (Any) throws -> Any) rethrows -> [Any] {
        try list.compactMap { item -> Any? in
            switch try query(item) {
            case is NSNull: return nil
            case let b as Bool: return b ? b : nil
            case let i as Int: return i == 0 ? nil : i
            case let s as String: return s.isEmpty ? nil : s
            case let other: return other
            }
        }
    }

    /// `value | ipv4(query)` / `ipv6(query)`: ipaddr for addresses of that version only; others
    /// are false (dropped from a list).
    static func apply(_ value: Any, query: String, version: Int) throws -> Any {
        if let list = value as? [Any] { return try kept(list) { try apply($0, query: query, version: version) } }
        guard let text = value as? String, let v = Interface(text), (v.isV6 ? 6 : 4) == version else { return false }
        return try apply(text, query: query)
    }

    /// `value | ipwrap`: an IPv6 address in brackets (`[::1]`, `[fe80::100]/10`); every other
    /// value intact, as a string (host names stay: `ipaddr | ipwrap` drops them first).
    static func wrap(_ value: Any) -> Any {
        if let list = value as? [Any] { return list.map(wrap) }
        let text = Values.string(value)
        guard value is String, let v = Interface(text), v.isV6 else { return text }
        return "[\(Interface.format(v.bytes))]" + (text.contains("/") ? "/\(v.prefix)" : "")
    }

    /// An address's bytes as one number, and back.
    static func integer(_ bytes: [UInt8]) -> UInt128 { bytes.reduce(0) { $0 << 8 | UInt128($1) } }
    static func bytes(_ n: UInt128, count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: n >> (8 * (count - 1 - $0))) } }

    /// An Int where it fits (Python's int in Ansible's result), else its decimal text (an IPv6
    /// size or integer past 2^63).
    static func number(_ n: UInt128?, orText text: String) -> Any {
        guard let n, n <= UInt128(Int.max) else { return n.map { "\($0)" } ?? text }
        return Int(n)
    }

    /// `value | ipaddr(query)`. nil where Ansible's query function returns None (falsy, as there).
    static func apply(_ value: Any, query: String) throws -> Any {
        if let list = value as? [Any] { return try kept(list) { try apply($0, query: query) } }
        // Only strings are addresses here (Ansible also reads integers as addresses).
        guard let text = value as? String, let v = Interface(text) else { return false }
        let address = Interface.format(v.bytes)
        let isNetwork = text.contains("/")
        // netaddr's sizes: one address (/32, /128), a pair without broadcast (/31, /127), a network.
        let single = v.prefix == v.bits, pair = v.prefix == v.bits - 1
        let isNetworkAddress = !single && !pair && v.bytes == v.network
        switch query {
        case "": return isNetwork ? "\(address)/\(v.prefix)" : address
        case "bool": return true
        case "address", "ip": return isNetworkAddress && !v.isV6 ? NSNull() : address
        case "host": return isNetworkAddress ? NSNull() : "\(address)/\(v.prefix)"
        case "network", "network_id": return Interface.format(v.network)
        case "netmask": return Interface.format(v.mask)
        case "prefix": return v.prefix
        case "broadcast": return single || pair ? NSNull() : Interface.format(v.broadcast)
        case "subnet", "cidr", "network/prefix": return "\(Interface.format(v.network))/\(v.prefix)"
        case "type": return single || pair || !isNetworkAddress ? "address" : "network"
        case "version": return v.isV6 ? 6 : 4
        case "net": return !single && v.bytes == v.network ? "\(Interface.format(v.network))/\(v.prefix)" : false
        case "host/prefix": return pair || (!single && v.bytes != v.network) ? "\(address)/\(v.prefix)" : false
        case "hostmask": return Interface.format(v.mask.map { ~$0 })
        case "size": return Self.number(v.prefix == 0 && v.isV6 ? nil : UInt128(1) << (v.bits - v.prefix), orText: "340282366920938463463374607431768211456")
        case "int":
            let n = Self.integer(v.bytes)
            return isNetwork ? "\(n)/\(v.prefix)" : Self.number(n, orText: "\(n)")
        case "revdns":
            if v.isV6 {
                return v.bytes.reversed().flatMap { [String($0 & 0x0f, radix: 16), String($0 >> 4, radix: 16)] }.joined(separator: ".") + ".ip6.arpa."
            }
            return v.bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa."
        case "first_usable", "next_usable", "last_usable", "range_usable", "peer":
            guard !single else { return false }
            let ip = Self.integer(v.bytes), net = Self.integer(v.network), last = Self.integer(v.broadcast)
            let (lo, hi) = pair ? (net, last) : (net + 1, last - 1)
            func text(_ n: UInt128) -> String { Interface.format(Self.bytes(n, count: v.bytes.count)) }
            switch query {
            case "first_usable": return text(lo)
            case "last_usable": return text(hi)
            case "range_usable": return "\(text(lo))-\(text(hi))"
            case "next_usable": return ip < hi && ip + 1 >= lo ? text(ip + 1) : false
            default:
                // A point-to-point link: the other end of a /31 (/127), or of a /30's two hosts.
                if pair { return text(ip == net ? last : net) }
                guard v.prefix == v.bits - 2, ip == lo || ip == hi else { throw ProvisionError("ipaddr: peer: \(value) is not on a point-to-point network (/31, /30)") }
                return text(ip == lo ? hi : lo)
            }
        case let index where Int(index) != nil:
            // An index into the network: its address with the prefix (0 the network, -1 the last).
            let i = Int(index)!, net = Self.integer(v.network)
            let count: UInt128? = v.prefix == 0 && v.isV6 ? nil : UInt128(1) << (v.bits - v.prefix)
            let magnitude = UInt128(i.magnitude)
            if let count, i >= 0 ? magnitude >= count : magnitude > count { return false }
            let n = i >= 0 ? net + magnitude : (count.map { net + ($0 - magnitude) } ?? (UInt128.max - magnitude + 1))
            return "\(Interface.format(Self.bytes(n, count: v.bytes.count)))/\(v.prefix)"
        default:
            // A network as the query: the value if it lies inside it (Ansible's cidr_lookup).
            guard query.contains("/"), let network = Interface(query) else {
                throw ProvisionError("ipaddr: unknown filter type: \(query) (supported: address, host, host/prefix, net, network, netmask, hostmask, prefix, broadcast, subnet, size, int, revdns, first_usable, next_usable, last_usable, range_usable, peer, type, version, bool, an index, a network to test membership)")
            }
            let inside = network.bytes.count == v.bytes.count && v.prefix >= network.prefix
                && Interface(address + "/\(network.prefix)")?.network == network.network
            return inside ? value : false
        }
    }
}
