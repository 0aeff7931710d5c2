import Testing
@testable import Provision

@Suite struct ClusterStatusTests {
    static let body = """
    {"members":[{"api_url":"http://10.77.0.12:8008/patroni","host":"10.77.0.12","lag":2097152,"name":"pg2","port":5432,
    "role":"replica","state":"streaming","timeline":2},{"api_url":"http://10.77.0.11:8008/patroni","host":"10.77.0.11",
    "name":"pg1","port":5432,"role":"leader","state":"running","timeline":2},{"host":"10.77.0.13","lag":"unknown",
    "name":"pg3","port":5432,"role":"replica","state":"stopped","timeline":1}],"pause":false,"scope":"demo"}
    """

    @Test func parsesPatroniClusterJSON() throws {
        let status = try ClusterStatus(clusterJSON: Self.body)
        #expect(status.scope == "demo")
        #expect(status.members.map(\.name) == ["pg1", "pg2", "pg3"])
        #expect(status.leader?.name == "pg1")
        #expect(status.members[1].lagBytes == 2_097_152 && status.members[2].lagBytes == nil)
    }

    @Test func printsATable() throws {
        let table = try ClusterStatus(clusterJSON: Self.body).table
        #expect(table == """
        Cluster | Member | Host       | Role    | State     | TL | Lag in MB
        --------+--------+------------+---------+-----------+----+----------
        demo    | pg1    | 10.77.0.11 | Leader  | running   | 2  |
        demo    | pg2    | 10.77.0.12 | Replica | streaming | 2  | 2.0
        demo    | pg3    | 10.77.0.13 | Replica | stopped   | 1  | unknown

        """)
    }

    /// A DR site (standby cluster): its standby leader is shown as such, with no lag.
    @Test func printsAStandbyLeader() throws {
        let body = Self.body.replacingOccurrences(of: "\"role\":\"leader\"", with: "\"role\":\"standby_leader\"")
        let status = try ClusterStatus(clusterJSON: body)
        #expect(status.leader == nil)
        #expect(status.table.contains("demo    | pg1    | 10.77.0.11 | Standby Leader | running   | 2  |\n"), "\(status.table)")
    }

    @Test func refusesWhatIsNotClusterJSON() {
        #expect(throws: WorkflowError.self) { try ClusterStatus(clusterJSON: "<html>") }
    }
}
