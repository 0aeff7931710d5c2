// `provision uri` from inventory facts: the lines, their order and their libpq parameters.
import Testing
@testable import Provision

@Suite struct ConnectionURIsTests {
    static let cluster = ConnectionURIs.Cluster(
        databases: [("pg1", "10.0.0.11"), ("pg2", "10.0.0.12")], balancers: [("lb1", "10.0.0.21"), ("lb2", "10.0.0.22")],
        directPort: 5432, primaryPort: 5000, replicaPort: 5001, vip: "10.0.0.100")

    @Test(arguments: [(ConnectionURIs.Role.primary, "read-write", 5000), (.replica, "standby", 5001), (.any, "prefer-standby", 5001)])
    func linesPerRole(role: ConnectionURIs.Role, attrs: String, port: Int) {
        let u = ConnectionURIs(cluster: Self.cluster, role: role, user: "app", dbname: "shop")
        #expect(u.lines.map(\.label) == ["hosts", "vip", "lb1", "lb2"])
        #expect(u.lines[0].uri == "postgresql://app@10.0.0.11:5432,10.0.0.12:5432/shop?connect_timeout=2&target_session_attrs=\(attrs)")
        #expect(u.lines[1].uri == "postgresql://app@10.0.0.100:\(port)/shop?connect_timeout=2")
        #expect(u.lines[3].uri == "postgresql://app@10.0.0.22:\(port)/shop?connect_timeout=2")
    }

    @Test func noVIPNoVIPLineAndNamesEscaped() {
        var c = Self.cluster
        c.vip = nil
        let u = ConnectionURIs(cluster: c, role: .primary, user: "app user@x", dbname: "my/db")
        #expect(u.lines.map(\.label) == ["hosts", "lb1", "lb2"])
        #expect(u.lines[0].uri.hasPrefix("postgresql://app%20user%40x@10.0.0.11:5432,10.0.0.12:5432/my%2Fdb?"))
    }

    @Test func noPasswordInAnyLine() throws {
        let inv = try Inventory.load(path: TemplateHost.root + "/inventories/lab")
        let u = try ConnectionURIs(inventory: inv, inventoryPath: "inventories/lab", role: .primary, user: nil, dbname: nil)
        #expect(u.lines.allSatisfy { !$0.uri.contains("password") && !$0.uri.contains(":@") })
        // The lab runs PgBouncer, yet the multi-host line goes straight to Postgres: PgBouncer
        // replays cached startup parameters, so target_session_attrs would see a host's old role.
        #expect(u.lines[0].uri.contains(":5432,") && !u.lines[0].uri.contains(":6432") && u.lines.contains { $0.label == "vip" })
    }
}
