// Which balancer holds the floating address, and whether HAProxy and keepalived run on each:
// one SSH command per balancer (`ip -o -4 addr show to VIP` lists the interface holding it).
import Foundation

public struct BalancerState: Equatable, Sendable {
    public var name: String
    public var address: String
    /// nil: the host did not answer (down, or unreachable).
    public var haproxy: String?
    public var keepalived: String?
    public var holdsVIP: Bool
}

public struct BalancerStatus: Equatable, Sendable {
    public var vip: String?
    public var balancers: [BalancerState]

    public var holders: [String] { balancers.filter(\.holdsVIP).map(\.name) }

    /// One line for the cluster table: where the floating address is, and the balancers' state.
    public var summary: String {
        let states = balancers.map { b -> String in
            guard let h = b.haproxy else { return "\(b.name) unreachable" }
            return "\(b.name) haproxy \(h)" + (vip == nil ? "" : ", keepalived \(b.keepalived ?? "?")")
        }.joined(separator: "; ")
        guard let vip else { return "balancers: \(states)" }
        let where_: String
        switch holders.count {
        case 0: where_ = "held by no balancer"
        case 1: where_ = "on \(holders[0])"
        default: where_ = "on \(holders.joined(separator: " and ")) (more than one holder: VRRP split)"
        }
        return "vip \(vip) \(where_) · \(states)"
    }

    public static func fetch(inventory: Inventory) -> BalancerStatus {
        let hosts = inventory.hosts(inGroup: "haproxy")
        let vip: String? = hosts.first.flatMap { h in
            let vars = inventory.variables(forHost: h)
            guard vars["cluster_vip"] != nil else { return nil }
            return (NestedVariables(vars).lookup("cluster_vip")).map { "\($0)" }.flatMap { $0.isEmpty ? nil : $0 }
        }
        var states: [BalancerState] = []
        for host in hosts {
            var vars = inventory.variables(forHost: host)
            // A balancer that lost power does not answer ARP: give up on it after 3 s, not 10.
            if vars["ansible_timeout"] == nil { vars["ansible_timeout"] = "3" }
            var state = BalancerState(name: host, address: vars["ansible_host"] as? String ?? host, haproxy: nil, keepalived: nil, holdsVIP: false)
            let probe = "systemctl is-active haproxy; systemctl is-active keepalived; " + (vip.map { "ip -o -4 addr show to \($0)/32 | wc -l" } ?? "echo 0")
            if let transport = try? Connector.transport(forHost: host, variables: vars) {
                defer { transport.close() }
                if let r = try? transport.run(probe) {
                    let lines = r.stdout.split(separator: "\n").map(String.init)
                    if lines.count >= 3 {
                        state.haproxy = lines[0]; state.keepalived = lines[1]
                        state.holdsVIP = (Int(lines[2].trimmingCharacters(in: .whitespaces)) ?? 0) > 0
                    }
                }
            }
            states.append(state)
        }
        return BalancerStatus(vip: vip, balancers: states)
    }
}
