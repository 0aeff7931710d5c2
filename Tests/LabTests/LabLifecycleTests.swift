import Foundation
import Testing
import Fixtures
import Spawn
@testable import Provision
#if canImport(Glibc)
import Glibc
#endif

/// A real two-host lab (needs root, systemd-nspawn, debootstrap, network for the first image
/// build): up, SSH with strict host-key checking, offline install, kill/start, partition/heal,
/// destroy. Its own lab name, CIDR and bridge, so it never touches inventories/lab.
@Suite(.serialized, .enabled(if: geteuid() == 0, "lab tests need root"))
struct LabLifecycleTests {
    static let network = "10.213.7.0/24"
    static let hosts = [("lt1", "10.213.7.11"), ("lt2", "10.213.7.12")]

    /// Writes a two-host inventory into a temp dir (lab name labtest, bridge pl-labtest).
    static func makeInventory() throws -> String {
        let dir = try makeTempDir("labtest-inv")
        try FileManager.default.createDirectory(atPath: "\(dir)/group_vars", withIntermediateDirectories: true)
        var hostsYAML = "all:\n  children:\n    nodes:\n      hosts:\n"
        for (name, address) in hosts { hostsYAML += "        \(name): {ansible_host: \(address)}\n" }
        try hostsYAML.write(toFile: "\(dir)/hosts.yml", atomically: true, encoding: .utf8)
        try """
            lab: {provider: nspawn, name: labtest, bridge: pl-labtest, network: "\(network)"}
            ansible_user: root
            ansible_ssh_private_key_file: /var/lib/provision/labs/labtest/ssh/id_ed25519
            ssh_known_hosts_file: /var/lib/provision/labs/labtest/ssh/known_hosts
            """.write(toFile: "\(dir)/group_vars/all.yml", atomically: true, encoding: .utf8)
        return dir
    }

    /// Runs `command` on `host` through /usr/bin/ssh with the lab key and strict checking.
    static func ssh(_ lab: Lab, _ host: String, _ command: String) throws -> (status: Int32, output: String) {
        let argv = try lab.sshArguments(host: host, command: [command])
        let r = try Spawn.run(argv[0], ["-o", "BatchMode=yes"] + Array(argv.dropFirst()),
                              environment: ProcessInfo.processInfo.environment, timeout: 120)
        return (r.status, (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func lifecycle() throws {
        let inventory = try Self.makeInventory()
        defer { removeTree(inventory) }
        let lab = try Lab(inventory: inventory, log: { _ in })
        #expect(lab.spec.bridge == "pl-labtest" && lab.spec.hosts.count == 2)
        try? lab.destroy()  // a previous run that died half-way
        var recorded: [HostRecord] = []
        defer {
            let destroyError = Result { try lab.destroy() }
            // destroy leaves no mount, link, bridge, namespace, nft table or process behind.
            if case .failure(let e) = destroyError { Issue.record("destroy: \(e)") }
            #expect(!Mounts.anyUnder(lab.layout.stateDir))
            #expect(!LabNetwork.linkExists("pl-labtest"))
            for h in lab.spec.hosts {
                #expect(!LabNetwork.linkExists(lab.layout.veth(h.name)))
                #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(lab.layout.netns(h.name))"))
            }
            for r in recorded {
                #expect(r.nspawn?.isAlive != true && r.initProcess?.isAlive != true, "\(r.host) still running")
            }
            let tables = (try? ControlShell.run(["nft", "list", "tables"]).stdout) ?? ""
            #expect(!tables.contains(lab.layout.nftTable))
            #expect(!FileManager.default.fileExists(atPath: lab.layout.stateDir))
        }

        let report = try lab.up()
        #expect(report.hosts.map(\.1) == ["created", "created"])
        func record(_ h: String) throws -> HostRecord {
            try #require(RecordStore.load(HostRecord.self, from: lab.layout.recordPath(h)))
        }
        recorded = try lab.spec.hosts.map { try record($0.name) }
        #expect(lab.status().allSatisfy { $0.state == .running && $0.sshAnswers })

        // `lab ssh`'s argv: /usr/bin/ssh with the lab key and strict checking of known_hosts.
        for (name, _) in Self.hosts {
            let r = try Self.ssh(lab, name, "hostname; grep -rh '^deb' /etc/apt/sources.list /etc/apt/sources.list.d")
            #expect(r.status == 0 && r.output == "\(name)\ndeb [trusted=yes] file:/srv/lab-repo ./", "\(name): \(r.output)")
        }

        // The engine over SSH (libssh2, strict host keys from the inventory's known_hosts file)
        // installs a package from the offline repo on both hosts; a second run changes nothing.
        let playbook = "\(inventory)/install.yml"
        try """
            - hosts: all
              tasks:
                - name: haproxy from the lab's offline repository
                  package: {name: haproxy, state: present}
            """.write(toFile: playbook, atomically: true, encoding: .utf8)
        for (run, wantChanged) in [(1, 1), (2, 0)] {
            let output = CapturingOutput()
            let summary = PlaybookRunner(inventory: try Inventory.load(path: inventory), output: output)
                .run(playbookPath: playbook)
            #expect(summary.exitCode == 0, "run \(run): \(summary.error ?? "") \(output.text)")
            for (name, _) in Self.hosts {
                #expect(summary.recap[name]?.changed == wantChanged, "run \(run) \(name): \(output.text)")
            }
        }
        // Strictness is real: lab.sshTarget works; a known_hosts without the key, or with another
        // host's key for this address, is refused.
        var target = try lab.sshTarget(host: "lt1")
        let direct = try SSHTransport(hostName: "lt1", target: target)
        #expect(try direct.run("hostname").stdout == "lt1\n")
        direct.close()
        let otherKey = try String(contentsOfFile: lab.layout.knownHosts, encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("10.213.7.12,") }.map { $0.split(separator: " ").dropFirst() }
        let wrong = "\(inventory)/known_hosts.wrong", empty = "\(inventory)/known_hosts.empty"
        try "10.213.7.11 \((otherKey ?? []).joined(separator: " "))\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        for (file, why) in [(wrong, "HOST KEY MISMATCH"), (empty, "is not in")] {
            target.knownHostsFile = file
            do { _ = try SSHTransport(hostName: "lt1", target: target); Issue.record("\(file) accepted") } catch {
                #expect("\(error)".contains(why), "\(error)")
            }
        }
        for (name, _) in Self.hosts {
            let r = try Self.ssh(lab, name, "haproxy -v | head -n1")
            #expect(r.output.hasPrefix("HAProxy version"), "\(name): \(r.output)")
        }
        let second = try lab.up()
        #expect(second.hosts.map(\.1) == ["running (left alone)", "running (left alone)"])

        // Pulled plug, then a restart on the same disk.
        #expect(try Self.ssh(lab, "lt1", "echo kept > /root/marker && sync").status == 0)
        let before = try record("lt1")
        try lab.kill(host: "lt1")
        #expect(before.initProcess?.isAlive == false && before.nspawn?.isAlive == false)
        #expect(!SSHProbe.answers("10.213.7.11", timeout: 1))
        #expect(lab.status().first { $0.host == "lt1" }?.state == .stopped)
        try lab.start(host: "lt1")
        recorded.append(try record("lt1"))
        #expect(try Self.ssh(lab, "lt1", "cat /root/marker").output == "kept")

        // Partition: lt1 and lt2 cannot talk; the control machine still reaches both; heal.
        let probe = { (from: String, to: String) in
            try Self.ssh(lab, from, "timeout 3 bash -c '</dev/tcp/\(to)/22' && echo open || echo closed").output
        }
        #expect(try probe("lt2", "10.213.7.11") == "open")
        try lab.partition(host: "lt1")
        #expect(try probe("lt2", "10.213.7.11") == "closed")
        #expect(try probe("lt1", "10.213.7.12") == "closed")
        #expect(SSHProbe.answers("10.213.7.11", timeout: 2))
        try lab.heal(host: "lt1")
        #expect(try probe("lt2", "10.213.7.11") == "open")

        // Clean stop keeps the disk too.
        try lab.stop(host: "lt2")
        #expect(!SSHProbe.answers("10.213.7.12", timeout: 1))
        recorded.append(try record("lt1"))
    }
}
