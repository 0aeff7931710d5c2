import Foundation

/// The lab's network on the control machine: one bridge (gateway = the network's first address),
/// one network namespace + veth pair per host, and one nftables table per family:
/// `inet` drops anything routed to or from the bridge (the air gap: hosts reach only each other and
/// the control machine; with br_netfilter, bridged frames show in = out = bridge and pass), `bridge` drops frames between a partitioned host and every other lab host
/// (the control machine still reaches a partitioned host, so drills can watch it).
struct LabNetwork {
    let layout: LabLayout
    var spec: LabSpec { layout.spec }

    static func linkExists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "/sys/class/net/\(name)")
    }

    /// Refuses a network that overlaps an address or route already on the machine.
    func checkAddressesFree() throws {
        let addrs = try ControlShell.run(["ip", "-o", "-4", "addr", "show"]).stdout
        for line in addrs.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 3, let i = f.firstIndex(of: "inet"), i + 1 < f.count else { continue }
            let iface = String(f[1]), cidr = String(f[i + 1])
            guard iface != spec.bridge else { continue }
            guard let net = IPv4Network.parseAny(cidr) else { continue }
            if net.overlaps(spec.network) {
                throw LabError("lab \(spec.name): address already used: lab.network \(spec.network) overlaps \(cidr) on \(iface); choose another lab.network")
            }
        }
        let routes = try ControlShell.run(["ip", "-o", "-4", "route", "show"]).stdout
        for line in routes.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let first = f.first, first != "default", let net = IPv4Network.parseAny(String(first)) else { continue }
            let dev = f.firstIndex(of: "dev").flatMap { $0 + 1 < f.count ? String(f[$0 + 1]) : nil } ?? "?"
            if dev != spec.bridge && net.overlaps(spec.network) {
                throw LabError("lab \(spec.name): address already used: lab.network \(spec.network) overlaps the route \(first) via \(dev); choose another lab.network")
            }
        }
    }

    /// Creates the bridge and nftables tables unless they exist; returns what it created.
    func ensureBridge(owned: Bool) throws -> [String] {
        var created: [String] = []
        if Self.linkExists(spec.bridge) {
            guard owned else {
                throw LabError("lab \(spec.name): a link named \(spec.bridge) already exists and this lab did not create it; set lab.bridge to another name")
            }
        } else {
            try checkAddressesFree()
            try ControlShell.run(["ip", "link", "add", spec.bridge, "type", "bridge"])
            try ControlShell.run(["ip", "addr", "add", "\(spec.network.gateway)/\(spec.network.prefix)", "dev", spec.bridge])
            created.append("bridge \(spec.bridge) (\(spec.network.gateway)/\(spec.network.prefix))")
        }
        try ControlShell.run(["ip", "link", "set", spec.bridge, "up"])
        let t = layout.nftTable
        if try ControlShell.run(["nft", "list", "table", "bridge", t], allowFailure: true).exitStatus != 0 {
            let rules = """
            table bridge \(t) {
              set partitioned { type ifname; }
              chain forward { type filter hook forward priority 0; policy accept;
                iifname @partitioned drop
                oifname @partitioned drop
              }
            }
            table inet \(t) {
              chain forward { type filter hook forward priority 0; policy accept;
                iifname "\(spec.bridge)" oifname != "\(spec.bridge)" drop
                oifname "\(spec.bridge)" iifname != "\(spec.bridge)" drop
              }
            }
            """
            try ControlShell.run(["nft", "-f", "-"], input: Data(rules.utf8))
            created.append("nftables tables bridge/inet \(t)")
        }
        return created
    }

    /// The host's namespace with `host0` (its address, lo up, no default route: air-gapped) and
    /// the bridge-side veth; recreated if either is missing.
    func ensureHostLink(_ host: LabHostSpec) throws {
        let ns = layout.netns(host.name), veth = layout.veth(host.name)
        if FileManager.default.fileExists(atPath: "/run/netns/\(ns)") && Self.linkExists(veth) {
            try ControlShell.run(["ip", "link", "set", veth, "master", spec.bridge, "up"])
            try resetHostInterface(host, up: true)
            return
        }
        removeHostLink(netns: ns, veth: veth)
        try ControlShell.run(["ip", "netns", "add", ns])
        try ControlShell.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "host0", "netns", ns])
        try ControlShell.run(["ip", "link", "set", veth, "master", spec.bridge, "up"])
        try ControlShell.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        try ControlShell.run(["ip", "-n", ns, "addr", "add", "\(host.address)/\(spec.network.prefix)", "dev", "host0"])
        try ControlShell.run(["ip", "-n", ns, "link", "set", "host0", "up"])
    }

    /// A machine that lost power keeps no runtime network state: addresses added at run time (a
    /// keepalived floating address) go, and a dead host answers no ARP. The namespace outlives
    /// the container, so this is done by hand: host0 back to the host's own address only, and
    /// down until the host boots again.
    func resetHostInterface(_ host: LabHostSpec, up: Bool) throws {
        let ns = layout.netns(host.name)
        try ControlShell.run(["ip", "-4", "-n", ns, "addr", "flush", "dev", "host0"])
        try ControlShell.run(["ip", "-n", ns, "addr", "add", "\(host.address)/\(spec.network.prefix)", "dev", "host0"])
        try ControlShell.run(["ip", "-n", ns, "link", "set", "host0", up ? "up" : "down"])
    }

    /// Deleting the namespace destroys host0 and with it the veth peer; the explicit delete covers
    /// a veth left behind by a half-made host.
    func removeHostLink(netns: String, veth: String) {
        if FileManager.default.fileExists(atPath: "/run/netns/\(netns)") {
            _ = try? ControlShell.run(["ip", "netns", "del", netns], allowFailure: true)
        }
        if Self.linkExists(veth) { _ = try? ControlShell.run(["ip", "link", "del", veth], allowFailure: true) }
    }

    func setPartitioned(veth: String, _ on: Bool) throws {
        let verb = on ? "add" : "delete"
        let r = try ControlShell.run(["nft", verb, "element", "bridge", layout.nftTable, "partitioned", "{ \"\(veth)\" }"],
                                     allowFailure: true)
        if r.exitStatus != 0 && on { throw LabError("nft \(verb) element failed: \(r.stderr)") }
    }

    func isPartitioned(veth: String) -> Bool {
        guard let r = try? ControlShell.run(["nft", "list", "set", "bridge", layout.nftTable, "partitioned"], allowFailure: true),
              r.exitStatus == 0 else { return false }
        return r.stdout.contains("\"\(veth)\"")
    }

    static func removeShared(bridge: String, nftTable: String) {
        for family in ["bridge", "inet"] {
            _ = try? ControlShell.run(["nft", "delete", "table", family, nftTable], allowFailure: true)
        }
        if linkExists(bridge) { _ = try? ControlShell.run(["ip", "link", "del", bridge], allowFailure: true) }
    }
}

extension IPv4Network {
    init(masking address: IPv4Address, prefix: Int) {
        self.init("0.0.0.0/8")!
        self.prefix = prefix
        self.network = IPv4Address(address.value & IPv4Network.mask(prefix))
    }
    /// "a.b.c.d/p" (host bits allowed) or a bare address (/32), as `ip` prints them.
    static func parseAny(_ text: String) -> IPv4Network? {
        let parts = text.split(separator: "/")
        guard let a = IPv4Address(String(parts[0])) else { return nil }
        let p = parts.count == 2 ? Int(parts[1]) ?? 32 : 32
        return IPv4Network(masking: a, prefix: min(max(p, 0), 32))
    }
}
