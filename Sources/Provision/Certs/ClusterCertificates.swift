// The cluster CA and its certificates on the control machine: made once, reused, renewed when close to
// expiry, when their names changed or when the CA is not theirs, reissued on --rotate. Files are 0600
// in a 0700 directory; a file is replaced by rename, so a reader never sees half a key.
import Foundation
import X509
#if canImport(Glibc)
import Glibc
#endif

/// One certificate after a run: what it is and what the run did (never key material).
public struct CertificateStatus: Equatable, Sendable {
    public enum Action: String, Sendable { case created, renewed, unchanged }
    public var name: String
    public var subject: String
    public var usage: String
    public var dnsNames: [String]
    public var ipAddresses: [String]
    public var notAfter: Date
    public var serial: String
    public var action: Action
    /// Why it was renewed ("expires in 12 days", "names changed", "--rotate"); empty otherwise.
    public var reason: String
    public var certificatePath: String

    public var json: [String: Any] {
        ["name": name, "subject": subject, "usage": usage, "dns_names": dnsNames, "ip_addresses": ipAddresses,
         "not_after": ISO8601DateFormatter().string(from: notAfter), "serial": serial, "action": action.rawValue,
         "reason": reason, "certificate": certificatePath]
    }
}

public enum ClusterCertificates {
    private static let lock = NSLock()

    /// Makes or reuses the CA, then every certificate in the plan. `rotate` reissues every host and
    /// client certificate (new keys, new serials) under the same CA.
    public static func ensure(_ plan: CertificatePlan, rotate: Bool = false, now: Date = Date()) throws -> [CertificateStatus] {
        lock.lock()
        defer { lock.unlock() }
        try makeDirectory(plan.directory)
        let dir = plan.directory
        if FileManager.default.fileExists(atPath: dir + "/ca.crt") && !FileManager.default.fileExists(atPath: dir + "/ca.key") {
            return try checkOwn(plan, rotate: rotate, now: now)
        }
        var statuses: [CertificateStatus] = []
        let ca: IssuedCertificate
        if let existing = try read(dir, "ca") {
            ca = existing
            guard ca.certificate.notValidAfter > now else {
                throw CertificateError(.expired, "\(dir)/ca.crt expired on \(ca.certificate.notValidAfter): replace the CA (move \(dir) aside and run again, then redeploy every host)")
            }
            statuses.append(status("ca", ca.certificate, usage: "ca", .unchanged, "", dir))
        } else {
            ca = try CertificateAuthority.makeCA(commonName: "pgha-provision cluster CA", days: plan.policy.caDays, now: now)
            try write(dir, "ca", ca)
            statuses.append(status("ca", ca.certificate, usage: "ca", .created, "", dir))
        }
        for spec in plan.leaves {
            let existing = try read(dir, spec.name)
            let reason = existing.flatMap { renewalReason($0.certificate, spec: spec, ca: ca.certificate, policy: plan.policy, rotate: rotate, now: now) }
            if let existing, reason == nil {
                statuses.append(status(spec.name, existing.certificate, usage: spec.usage.rawValue, .unchanged, "", dir))
                continue
            }
            let issued = try CertificateAuthority.issue(spec, ca: ca, days: plan.policy.leafDays, now: now)
            try write(dir, spec.name, issued)
            statuses.append(status(spec.name, issued.certificate, usage: spec.usage.rawValue, existing == nil ? .created : .renewed, reason ?? "", dir))
        }
        return statuses
    }

    /// Reads only: for `provision check`, one line on the certificates (nil when the inventory has no
    /// tls_dir / lab_secrets_dir or no CA was made yet). Names the first to expire and any due for renewal.
    public static func expirySummary(inventory: Inventory, inventoryPath: String, now: Date = Date()) -> String? {
        guard let plan = try? CertificatePlan(inventory: inventory, inventoryPath: inventoryPath),
              let caData = FileManager.default.contents(atPath: plan.directory + "/ca.crt"),
              let ca = try? Certificate(pemEncoded: String(decoding: caData, as: UTF8.self)) else { return nil }
        var entries: [(name: String, notAfter: Date, reason: String?)] = [("ca", ca.notValidAfter, nil)]
        for spec in plan.leaves {
            guard let data = FileManager.default.contents(atPath: "\(plan.directory)/\(spec.name).crt"),
                  let c = try? Certificate(pemEncoded: String(decoding: data, as: UTF8.self)) else {
                entries.append((spec.name, .distantPast, "missing"))
                continue
            }
            entries.append((spec.name, c.notValidAfter, renewalReason(c, spec: spec, ca: ca, policy: plan.policy, rotate: false, now: now)))
        }
        let first = entries.min { $0.notAfter < $1.notAfter }!
        let due = entries.filter { $0.reason != nil }.map { "\($0.name) (\($0.reason!))" }
        let day = ISO8601DateFormatter.string(from: first.notAfter, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        return "certificates: \(entries.count) in \(plan.directory), first to expire \(first.name) on \(day)"
            + (due.isEmpty ? "" : "; due for `provision certs`: " + due.joined(separator: ", "))
    }

    /// Why an existing certificate must be reissued, nil when it still fits. Pure.
    public static func renewalReason(_ certificate: Certificate, spec: CertificateSpec, ca: Certificate,
                                     policy: CertificatePolicy, rotate: Bool, now: Date) -> String? {
        if rotate { return "--rotate" }
        if !CertificateAuthority.isSigned(certificate, by: ca) { return "not signed by the cluster CA" }
        let names = CertificateAuthority.names(of: certificate)
        if Set(names.dns) != Set(spec.dnsNames) || Set(names.ip) != Set(spec.ipAddresses) { return "names changed" }
        if CertificateAuthority.commonName(of: certificate) != spec.commonName { return "subject changed" }
        let left = certificate.notValidAfter.timeIntervalSince(now) / 86400
        if left < Double(policy.renewDays) { return left <= 0 ? "expired" : "expires in \(Int(left)) days" }
        return nil
    }

    /// Your own certificates (ca.crt without ca.key): nothing is written; every certificate is checked
    /// like ours (CA, names, subject, expiry) and each problem named, since only you can reissue.
    static func checkOwn(_ plan: CertificatePlan, rotate: Bool, now: Date) throws -> [CertificateStatus] {
        let dir = plan.directory
        guard !rotate else { throw CertificateError(.inventory, "\(dir) holds your own CA (ca.crt, no ca.key): --rotate cannot reissue; replace the files yourself") }
        func certificate(_ name: String) throws -> Certificate {
            let path = "\(dir)/\(name).crt"
            guard let data = FileManager.default.contents(atPath: path) else { throw CertificateError(.unreadable, "\(path) is missing (your own CA: provide it)") }
            do { return try Certificate(pemEncoded: String(decoding: data, as: UTF8.self)) } catch {
                throw CertificateError(.unreadable, "\(path): not a PEM certificate (\(error))")
            }
        }
        let ca = try certificate("ca")
        var statuses = [status("ca", ca, usage: "ca", .unchanged, "", dir)]
        var problems: [String] = []
        for spec in plan.leaves {
            let c = try certificate(spec.name)
            if !FileManager.default.fileExists(atPath: "\(dir)/\(spec.name).key") { problems.append("\(spec.name).key is missing") }
            if let reason = renewalReason(c, spec: spec, ca: ca, policy: plan.policy, rotate: false, now: now) {
                problems.append("\(spec.name).crt: \(reason)")
            }
            statuses.append(status(spec.name, c, usage: spec.usage.rawValue, .unchanged, "", dir))
        }
        guard problems.isEmpty else {
            throw CertificateError(.mismatch, "\(dir) holds your own CA (no ca.key), so provision cannot reissue: " + problems.joined(separator: "; "))
        }
        return statuses
    }

    static func status(_ name: String, _ c: Certificate, usage: String, _ action: CertificateStatus.Action,
                       _ reason: String, _ dir: String) -> CertificateStatus {
        let names = CertificateAuthority.names(of: c)
        return CertificateStatus(name: name, subject: "\(c.subject)", usage: usage, dnsNames: names.dns,
                                 ipAddresses: names.ip, notAfter: c.notValidAfter,
                                 serial: c.serialNumber.bytes.map { String(format: "%02x", $0) }.joined(),
                                 action: action, reason: reason, certificatePath: "\(dir)/\(name).crt")
    }

    // MARK: Files

    /// NAME.crt and NAME.key under `dir`: nil when neither exists; an error when one is missing or unreadable.
    static func read(_ dir: String, _ name: String) throws -> IssuedCertificate? {
        let certPath = "\(dir)/\(name).crt", keyPath = "\(dir)/\(name).key"
        let cert = FileManager.default.contents(atPath: certPath), key = FileManager.default.contents(atPath: keyPath)
        switch (cert, key) {
        case (nil, nil): return nil
        case (nil, _): throw CertificateError(.unreadable, "\(certPath) is missing but its key exists: restore it or remove \(keyPath)")
        case (_, nil): throw CertificateError(.unreadable, "\(keyPath) is missing but its certificate exists: restore it or remove \(certPath)")
        case let (c?, k?):
            return try IssuedCertificate.read(certificatePEM: String(decoding: c, as: UTF8.self), keyPEM: String(decoding: k, as: UTF8.self), where: certPath)
        }
    }

    static func write(_ dir: String, _ name: String, _ issued: IssuedCertificate) throws {
        try writeFile("\(dir)/\(name).key", issued.keyPEM)
        try writeFile("\(dir)/\(name).crt", try issued.certificatePEM)
    }

    static func makeDirectory(_ dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw CertificateError(.io, "cannot create \(dir): \(error.localizedDescription)")
        }
        chmod(dir, 0o700)
    }

    /// Writes `text` to a 0600 temp file beside `path` and renames it over `path`.
    static func writeFile(_ path: String, _ text: String) throws {
        let temp = path + ".tmp"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CertificateError(.io, "cannot create \(temp): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = Glibc.write(fd, bytes, bytes.count)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temp, path) == 0 else {
            unlink(temp)
            throw CertificateError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
