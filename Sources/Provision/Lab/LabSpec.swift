import Foundation

/// An IPv4 address as a 32-bit number (host byte order).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let octet = UInt8(p), String(octet) == p else { return nil }
            v = v << 8 | UInt32(octet)
        }
        value = v
    }
    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR notation, e.g. 10.77.0.0/24.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible, Codable {
    public var network: IPv4Address
    public var prefix: Int
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let addr = IPv4Address(String(parts[0])),
              let prefix = Int(parts[1]), (8...30).contains(prefix) else { return nil }
        self.prefix = prefix
        self.network = IPv4Address(addr.value & IPv4Network.mask(prefix))
        guard network == addr else { return nil }
    }
    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~IPv4Network.mask(prefix)) }
    /// The control machine's address on the lab bridge: the first address of the network.
    public var gateway: IPv4Address { IPv4Address(network.value + 1) }
    public func contains(_ a: IPv4Address) -> Bool { a.value & IPv4Network.mask(prefix) == network.value }
    public func overlaps(_ other: IPv4Network) -> Bool {
        let m = IPv4Network.mask(min(prefix, other.prefix))
        return network.value & m == other.network.value & m
    }
    public var description: String { "\(network)/\(prefix)" }
}

/// One lab host: its inventory name (also its hostname) and its address on the lab bridge.
public struct LabHostSpec: Hashable, Sendable, Codable {
    public var name: String
    public var address: IPv4Address
    public init(name: String, address: IPv4Address) {
        self.name = name
        self.address = address
    }
}

/// What the inventory declares about a lab (the `lab:` mapping of the `all` group's variables plus
/// each host's `ansible_host`), with the defaults the issue leaves open written down here.
public struct LabSpec: Sendable, Equatable {
    /// The packages every lab offers in its offline repository unless `lab.packages` says otherwise:
    /// what the cluster playbooks install (pgbench ships in postgresql-15 on Debian 12).
    public static let defaultPackages = ["postgresql-15", "postgresql-client-15", "etcd-server",
                                         "etcd-client", "haproxy"]
    /// Where labs keep their state (keys, per-host disks, recorded PIDs): `<root>/<lab name>/`.
    public static let defaultStateRoot = "/var/lib/provision/labs"
    /// Where the base images and offline repositories are cached, shared by all labs.
    public static let defaultCacheRoot = "/var/cache/provision"

    /// The lab's name: `lab.name`, else the inventory directory's (or file's) base name.
    public var name: String
    public var network: IPv4Network
    /// Linux bridge name (≤ 15 characters): `lab.bridge`, else `pl-` + the lab name.
    public var bridge: String
    /// Debian codename of the image: `lab.release`, else the control machine's own.
    public var release: String
    public var packages: [String]
    public var hosts: [LabHostSpec]
    public var stateRoot: String
    public var cacheRoot: String
    /// `lab.watchdog`: every host gets an emulated hardware watchdog at /dev/watchdog, played by
    /// `provision lab watchdog-serve` (LabWatchdog.swift). Off by default: a lab without an HA
    /// agent feeding it has no use for one.
    public var watchdog: Bool
    /// `lab.join`: the lab whose bridge and network this lab's hosts go on (a second site that
    /// must reach the first, e.g. a DR site). It must be up; its bridge and nftables tables stay
    /// its own (this lab neither makes nor removes them), so bring this lab down first.
    public var joins: String?

    public init(name: String, network: IPv4Network, bridge: String? = nil, release: String,
                packages: [String] = LabSpec.defaultPackages, hosts: [LabHostSpec],
                stateRoot: String = LabSpec.defaultStateRoot,
                cacheRoot: String = LabSpec.defaultCacheRoot, watchdog: Bool = false, joins: String? = nil) throws {
        self.name = name
        self.network = network
        self.joins = joins
        self.bridge = bridge ?? String("pl-\(joins ?? name)".prefix(15))
        self.release = release
        self.packages = packages
        self.hosts = hosts
        self.stateRoot = stateRoot
        self.cacheRoot = cacheRoot
        self.watchdog = watchdog
        try validate()
    }

    /// Checks names and addresses; every message names the lab and the offending host or key.
    func validate() throws {
        let namePattern = #"^[a-z0-9][a-z0-9-]{0,30}$"#
        guard name.range(of: namePattern, options: .regularExpression) != nil else {
            throw LabError("lab \(name): lab.name must be lowercase letters, digits and '-' (at most 31)")
        }
        if let joins {
            guard joins.range(of: namePattern, options: .regularExpression) != nil, joins != name else {
                throw LabError("lab \(name): lab.join '\(joins)' must name another lab (lowercase letters, digits and '-')")
            }
        }
        guard bridge.count <= 15, bridge.range(of: #"^[A-Za-z0-9_-]+$"#, options: .regularExpression) != nil else {
            throw LabError("lab \(name): lab.bridge '\(bridge)' must be at most 15 letters, digits, '-' or '_'")
        }
        guard release.range(of: #"^[a-z]+$"#, options: .regularExpression) != nil else {
            throw LabError("lab \(name): lab.release '\(release)' is not a Debian codename")
        }
        guard !hosts.isEmpty else { throw LabError("lab \(name): the inventory has no hosts") }
        var seenNames = Set<String>(), seenAddresses = [IPv4Address: String](), seenVeths = [String: String]()
        for h in hosts {
            guard h.name.range(of: #"^[a-z0-9][a-z0-9-]{0,62}$"#, options: .regularExpression) != nil else {
                throw LabError("lab \(name): host '\(h.name)' is not a valid hostname (lowercase letters, digits, '-')")
            }
            guard seenNames.insert(h.name).inserted else { throw LabError("lab \(name): host \(h.name) is listed twice") }
            guard network.contains(h.address), h.address != network.network, h.address != network.broadcast else {
                throw LabError("lab \(name): host \(h.name): ansible_host \(h.address) is not a host address of lab.network \(network)")
            }
            guard h.address != network.gateway else {
                throw LabError("lab \(name): host \(h.name): ansible_host \(h.address) is the bridge's own address (the network's first address)")
            }
            if let other = seenAddresses[h.address] {
                throw LabError("lab \(name): hosts \(other) and \(h.name) both have ansible_host \(h.address)")
            }
            seenAddresses[h.address] = h.name
            let veth = LabLayout.vethName(lab: name, host: h.name)
            if let other = seenVeths[veth] {
                throw LabError("lab \(name): hosts \(other) and \(h.name) share their first 8 characters; shorten one name")
            }
            seenVeths[veth] = h.name
        }
        for p in packages where p.range(of: #"^[a-z0-9][a-z0-9+.-]+$"#, options: .regularExpression) == nil {
            throw LabError("lab \(name): lab.packages: '\(p)' is not a Debian package name")
        }
    }

    public func host(_ hostName: String) throws -> LabHostSpec {
        guard let h = hosts.first(where: { $0.name == hostName }) else {
            throw LabError("lab \(name): no host named \(hostName) (hosts: \(hosts.map(\.name).joined(separator: ", ")))")
        }
        return h
    }
}
