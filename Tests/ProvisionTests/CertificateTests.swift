import Foundation
import Spawn
import Testing
@testable import Provision

/// The cluster CA on disk, judged by openssl (an independent reader of the chain and the names).
@Suite struct CertificateTests {
    static func inventory(_ dir: TempDir, extra: String = "") -> String {
        dir.write("inv/hosts.yml", """
        all:
          vars:
            tls_dir: \(dir.path)/secrets/tls
            cluster_vip: 10.77.0.100
          children:
            postgres:
              hosts:
                pg1: {ansible_host: 10.77.0.11\(extra)}
                pg2: {ansible_host: 10.77.0.12}
            haproxy:
              hosts:
                lb1: {ansible_host: 10.77.0.21}
        """)
        return dir.path + "/inv"
    }

    static func plan(_ dir: TempDir, extra: String = "") throws -> CertificatePlan {
        let path = inventory(dir, extra: extra)
        return try CertificatePlan(inventory: try Inventory.load(path: path), inventoryPath: path)
    }

    /// Runs openssl with `arguments`; returns (exit status, stdout + stderr).
    static func openssl(_ arguments: [String]) throws -> (Int32, String) {
        let r = try Spawn.run("/usr/bin/openssl", arguments, environment: ProcessInfo.processInfo.environment, timeout: 60)
        return (r.status, r.stdout + r.stderr)
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    @Test func chainVerifiesWithOpenSSLAndNamesAreRight() throws {
        let dir = TempDir(); defer { dir.remove() }
        let plan = try Self.plan(dir)
        let statuses = try ClusterCertificates.ensure(plan)
        #expect(statuses.map(\.name) == ["ca", "pg1", "pg2", "lb1", "pgha-client", "operator-client"])
        #expect(statuses.allSatisfy { $0.action == .created })
        let tls = plan.directory
        for (name, purpose) in [("pg1", "sslserver"), ("pg1", "sslclient"), ("lb1", "sslserver"), ("pgha-client", "sslclient"), ("operator-client", "sslclient")] {
            let (status, out) = try Self.openssl(["verify", "-CAfile", "\(tls)/ca.crt", "-purpose", purpose, "\(tls)/\(name).crt"])
            #expect(status == 0, "\(name) \(purpose): \(out)")
        }
        // A client certificate is no server certificate.
        #expect(try Self.openssl(["verify", "-CAfile", "\(tls)/ca.crt", "-purpose", "sslserver", "\(tls)/pgha-client.crt"]).0 != 0)
        // The names a client dials: the VIP and a balancer reach a database host through HAProxy's TCP pass-through.
        for ip in ["10.77.0.11", "10.77.0.100", "10.77.0.21", "127.0.0.1"] {
            let (status, out) = try Self.openssl(["verify", "-CAfile", "\(tls)/ca.crt", "-verify_ip", ip, "\(tls)/pg1.crt"])
            #expect(status == 0, "pg1 for \(ip): \(out)")
        }
        #expect(try Self.openssl(["verify", "-CAfile", "\(tls)/ca.crt", "-verify_ip", "10.77.0.12", "\(tls)/pg1.crt"]).0 != 0)
        #expect(try Self.openssl(["verify", "-CAfile", "\(tls)/ca.crt", "-verify_hostname", "lb1", "\(tls)/pg1.crt"]).0 == 0)
        let pg1 = try #require(statuses.first { $0.name == "pg1" })
        #expect(pg1.dnsNames == ["pg1", "localhost", "lb1"])
        #expect(pg1.ipAddresses == ["10.77.0.11", "127.0.0.1", "10.77.0.100", "10.77.0.21"])
        let lb1 = try #require(statuses.first { $0.name == "lb1" })
        #expect(lb1.dnsNames == ["lb1", "localhost"] && lb1.ipAddresses == ["10.77.0.21", "127.0.0.1", "10.77.0.100"])
        let (_, text) = try Self.openssl(["x509", "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage", "-in", "\(tls)/pg2.crt"])
        #expect(text.contains("CN = pg2") && text.contains("IP Address:10.77.0.12") && text.contains("DNS:lb1"))
        #expect(text.contains("TLS Web Server Authentication") && text.contains("TLS Web Client Authentication"))
        // Keys are private; nothing a run reports carries key material.
        #expect(Self.mode(tls) == 0o700)
        for s in statuses {
            #expect(Self.mode("\(tls)/\(s.name).key") == 0o600, "\(s.name).key")
            #expect(Self.mode("\(tls)/\(s.name).crt") == 0o600, "\(s.name).crt")
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: statuses.map(\.json)), as: UTF8.self)
        let keyBody = try #require(dir.read("secrets/tls/pg1.key")?.split(separator: "\n").dropFirst().first)
        #expect(!json.contains("PRIVATE") && !json.contains(String(keyBody)))
    }

    @Test func secondRunChangesNothingAndRotateReissues() throws {
        let dir = TempDir(); defer { dir.remove() }
        let plan = try Self.plan(dir)
        let first = try ClusterCertificates.ensure(plan)
        let files = try FileManager.default.contentsOfDirectory(atPath: plan.directory).sorted()
        let before = files.map { dir.read("secrets/tls/\($0)") }
        let second = try ClusterCertificates.ensure(plan)
        #expect(second.allSatisfy { $0.action == .unchanged })
        #expect(second.map(\.serial) == first.map(\.serial))
        #expect(try FileManager.default.contentsOfDirectory(atPath: plan.directory).sorted() == files)
        #expect(files.map { dir.read("secrets/tls/\($0)") } == before)

        let rotated = try ClusterCertificates.ensure(plan, rotate: true)
        #expect(rotated.first?.action == .unchanged && rotated.first?.serial == first.first?.serial)  // the CA stays
        for (old, new) in zip(first.dropFirst(), rotated.dropFirst()) {
            #expect(new.action == .renewed && new.reason == "--rotate" && new.serial != old.serial, "\(new.name)")
        }
        #expect(dir.read("secrets/tls/pg1.key") != before[files.firstIndex(of: "pg1.key")!])
        #expect(try Self.openssl(["verify", "-CAfile", "\(plan.directory)/ca.crt", "\(plan.directory)/pg1.crt"]).0 == 0)
    }

    @Test func renewsWhenCloseToExpiryOrNamesChange() throws {
        let dir = TempDir(); defer { dir.remove() }
        let plan = try Self.plan(dir)
        _ = try ClusterCertificates.ensure(plan)
        let later = Date().addingTimeInterval(Double(plan.policy.leafDays - plan.policy.renewDays + 2) * 86400)
        let path = dir.path + "/inv"
        let due = try #require(ClusterCertificates.expirySummary(inventory: try Inventory.load(path: path), inventoryPath: path, now: later))
        #expect(due.contains("certificates: 6 in") && due.contains("due for `provision certs`: pg1 (expires in 2"), "\(due)")
        #expect(try #require(ClusterCertificates.expirySummary(inventory: try Inventory.load(path: path), inventoryPath: path)).contains("due") == false)
        let renewed = try ClusterCertificates.ensure(plan, now: later)
        #expect(renewed.dropFirst().allSatisfy { $0.action == .renewed && $0.reason.hasPrefix("expires in") })
        #expect(renewed.first?.action == .unchanged)

        let withName = try Self.plan(dir, extra: ", tls_extra_names: [db.example.com]")
        let changed = try ClusterCertificates.ensure(withName, now: later)
        #expect(changed.filter { $0.action != .unchanged }.map(\.name) == ["pg1"])
        #expect(changed.first { $0.name == "pg1" }?.reason == "names changed")
        #expect(changed.first { $0.name == "pg1" }?.dnsNames.contains("db.example.com") == true)
    }

    @Test func badInputIsNamedAndChangesNothing() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.write("bare.yml", "all:\n  hosts:\n    a: {ansible_host: 10.0.0.1}\n")
        #expect { try CertificatePlan(inventory: try Inventory.load(path: path), inventoryPath: path) } throws: {
            "\($0)".contains("tls_dir") && "\($0)".contains(path)
        }
        let plan = try Self.plan(dir)
        _ = try ClusterCertificates.ensure(plan)
        // A key that is not the certificate's: refused, naming the file; nothing rewritten.
        let pg2Key = try #require(dir.read("secrets/tls/pg2.key"))
        dir.write("secrets/tls/pg1.key", pg2Key)
        let pg1Cert = dir.read("secrets/tls/pg1.crt")
        #expect { try ClusterCertificates.ensure(plan) } throws: { error in
            (error as? CertificateError)?.code == .mismatch && "\(error)".contains("pg1.crt")
        }
        #expect(dir.read("secrets/tls/pg1.crt") == pg1Cert)
    }

    @Test func ownCAIsCheckedNotRewritten() throws {
        let dir = TempDir(); defer { dir.remove() }
        let plan = try Self.plan(dir)
        _ = try ClusterCertificates.ensure(plan)
        // Take the CA key away: the directory is now "your own CA", checked and never written.
        try FileManager.default.removeItem(atPath: plan.directory + "/ca.key")
        let before = dir.read("secrets/tls/pg1.crt")
        let checked = try ClusterCertificates.ensure(plan)
        #expect(checked.allSatisfy { $0.action == .unchanged })
        #expect(throws: CertificateError.self) { try ClusterCertificates.ensure(plan, rotate: true) }
        let moreNames = try Self.plan(dir, extra: ", tls_extra_names: [db.example.com]")
        #expect { try ClusterCertificates.ensure(moreNames) } throws: { "\($0)".contains("pg1.crt: names changed") }
        #expect(dir.read("secrets/tls/pg1.crt") == before)
        #expect(!FileManager.default.fileExists(atPath: plan.directory + "/ca.key"))
    }
}
