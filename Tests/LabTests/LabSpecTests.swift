import Foundation
import Testing
@testable import Provision

/// Pure checks of the lab's declarations: networks, addresses, names, apt sources.
@Suite struct LabSpecTests {
    func spec(_ hosts: [(String, String)], network: String = "10.55.0.0/24") throws -> LabSpec {
        try LabSpec(name: "t", network: IPv4Network(network)!, release: "bookworm",
                    hosts: hosts.map { LabHostSpec(name: $0.0, address: IPv4Address($0.1)!) })
    }

    @Test func cidrParsing() {
        let n = IPv4Network("10.55.0.0/24")
        #expect(n?.gateway.description == "10.55.0.1")
        #expect(n?.broadcast.description == "10.55.0.255")
        #expect(n?.contains(IPv4Address("10.55.0.77")!) == true)
        #expect(n?.contains(IPv4Address("10.55.1.1")!) == false)
        #expect(IPv4Network("10.55.0.1/24") == nil)      // host bits set
        #expect(IPv4Network("10.55.0.0") == nil)
        #expect(IPv4Network("10.300.0.0/24") == nil)
        #expect(IPv4Network("10.0.0.0/8")!.overlaps(IPv4Network("10.55.0.0/24")!))
        #expect(!IPv4Network("10.56.0.0/24")!.overlaps(IPv4Network("10.55.0.0/24")!))
    }

    @Test(arguments: [
        ([("a", "10.55.1.5")], "not a host address"),
        ([("a", "10.55.0.1")], "bridge's own address"),
        ([("a", "10.55.0.255")], "not a host address"),
        ([("a", "10.55.0.5"), ("b", "10.55.0.5")], "both have ansible_host"),
        ([("a", "10.55.0.5"), ("a", "10.55.0.6")], "listed twice"),
        ([("Bad_Name", "10.55.0.5")], "not a valid hostname"),
        ([("database-1", "10.55.0.5"), ("database-2", "10.55.0.6")], "share their first 8 characters"),
    ])
    func rejectsBadHosts(hosts: [(String, String)], message: String) {
        #expect(throws: LabError.self) { try spec(hosts) }
        do { _ = try spec(hosts) } catch { #expect("\(error)".contains(message), "\(error)") }
    }

    @Test func namesFitLinuxLimits() throws {
        let s = try spec([("pg1", "10.55.0.11"), ("averyveryverylonghostname", "10.55.0.12")])
        let layout = LabLayout(s)
        #expect(s.bridge == "pl-t")
        for h in s.hosts { #expect(layout.veth(h.name).count <= 15) }
        #expect(layout.veth("pg1") != LabLayout.vethName(lab: "other", host: "pg1"))
    }

    @Test func inventoryGlue() throws {
        let vars: [String: Any] = ["lab": ["network": "10.55.0.0/24", "release": "bookworm", "name": "demo"]]
        let s = try LabSpec.fromInventory(path: "inv", allVars: vars, hosts: [("n1", ["ansible_host": "10.55.0.9"])])
        #expect(s.name == "demo" && s.hosts.first?.address.description == "10.55.0.9")
        #expect(s.packages == LabSpec.defaultPackages)
        #expect(throws: LabError.self) {
            try LabSpec.fromInventory(path: "inv", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm"]],
                                      hosts: [("n1", [:])])
        }
        #expect(throws: LabError.self) {
            try LabSpec.fromInventory(path: "inv", allVars: ["lab": ["network": "10.55.0.0/24", "provider": "docker"]],
                                      hosts: [("n1", ["ansible_host": "10.55.0.9"])])
        }
        #expect(LabSpec.defaultName("/x/inventories/lab-large/hosts.yml") == "lab-large")
    }

    @Test func watchdogSetting() throws {
        let host = [("n1", ["ansible_host": "10.55.0.9"] as [String: Any])]
        let off = try LabSpec.fromInventory(path: "inv", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm"]], hosts: host)
        #expect(!off.watchdog)
        let on = try LabSpec.fromInventory(path: "inv", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm", "watchdog": true]], hosts: host)
        #expect(on.watchdog)
        #expect(LabLayout(on).watchdogDevice("n1").hasSuffix("/hosts/n1/watchdog"))
        do {
            _ = try LabSpec.fromInventory(path: "inv", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm", "watchdog": "yes please"]], hosts: host)
            Issue.record("accepted a string")
        } catch { #expect("\(error)".contains("inv: lab.watchdog must be true or false"), "\(error)") }
    }

    /// lab.join: the other lab's bridge and nftables tables (partitions work across both labs).
    @Test func joinSetting() throws {
        let host = [(name: "dr1", vars: ["ansible_host": "10.55.0.31"] as [String: Any])]
        let dr = try LabSpec.fromInventory(path: "inventories/lab-dr", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm", "join": "lab"]], hosts: host)
        #expect(dr.name == "lab-dr" && dr.joins == "lab" && dr.bridge == "pl-lab")
        #expect(LabLayout(dr).nftTable == "provision_lab")
        #expect(LabLayout(dr).joinedLabRecordPath == LabSpec.defaultStateRoot + "/lab/lab.json")
        let alone = try LabSpec.fromInventory(path: "inventories/lab", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm"]], hosts: host)
        #expect(alone.joins == nil && alone.bridge == "pl-lab" && LabLayout(alone).joinedLabRecordPath == nil)
        for bad in ["lab-dr", "Main Site"] {
            do {
                _ = try LabSpec.fromInventory(path: "inventories/lab-dr", allVars: ["lab": ["network": "10.55.0.0/24", "release": "bookworm", "join": bad]], hosts: host)
                Issue.record("accepted join \(bad)")
            } catch { #expect("\(error)".contains("lab.join '\(bad)' must name another lab"), "\(error)") }
        }
    }

    /// The lab-dr inventory in the repository joins inventories/lab without clashing with it.
    @Test func drInventoryJoinsTheMainLab() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let main = try Lab(inventory: root + "/inventories/lab", log: { _ in }).spec
        let dr = try Lab(inventory: root + "/inventories/lab-dr", log: { _ in }).spec
        #expect(dr.joins == main.name && dr.bridge == main.bridge && dr.network == main.network)
        #expect(Set(dr.hosts.map(\.address)).isDisjoint(with: main.hosts.map(\.address)))
        #expect(Set(dr.hosts.map(\.name)).isDisjoint(with: main.hosts.map(\.name)))
    }

    @Test func mirrorFromDeb822AndOneLineSources() {
        let deb822 = """
            Types: deb
            # http://snapshot.debian.org/archive/debian/20250520T000000Z
            URIs: http://deb.example.org/debian
            Suites: bookworm bookworm-updates
            Components: main

            Types: deb
            URIs: http://security.example.org/debian-security
            Suites: bookworm-security
            Components: main
            """
        #expect(AptSources.deb822Mirror(deb822, suite: "bookworm") == "http://deb.example.org/debian")
        #expect(AptSources.deb822Mirror(deb822, suite: "trixie") == nil)
        #expect(AptSources.deb822Mirror(deb822, suite: nil) == "http://deb.example.org/debian")
        let oneLine = """
            # comment
            deb-src http://src.example.org/debian bookworm main
            deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian bookworm main contrib
            """
        #expect(AptSources.oneLineMirror(oneLine, suite: "bookworm") == "http://mirror.example.org/debian")
        #expect(AptSources.oneLineMirror("deb http://x.org/d bookworm-updates main", suite: "bookworm") == nil)
    }

    @Test func statusTableShape() {
        let rows = [LabHostStatus(host: "pg1", address: "10.55.0.11", state: .running, partitioned: true,
                                  uptimeSeconds: 75, sshAnswers: true),
                    LabHostStatus(host: "lb1", address: "10.55.0.21", state: .stopped, partitioned: false,
                                  uptimeSeconds: nil, sshAnswers: false)]
        let lines = Lab.statusTable(rows).split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("HOST"))
        #expect(lines[1].contains("running (partitioned)") && lines[1].contains("1m15s") && lines[1].hasSuffix("ok"))
        #expect(lines[2].contains("stopped") && lines[2].hasSuffix("-"))
    }
}
