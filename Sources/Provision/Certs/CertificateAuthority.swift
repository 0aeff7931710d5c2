// The cluster CA's X.509 mechanics (swift-certificates + swift-crypto, no openssl): make a CA, issue
// host and client certificates under it, read them back. ECDSA P-256 keys: etcd (Go), Postgres and
// HAProxy (OpenSSL) and NIOSSL all accept them, and signing is fast enough to reissue every run.
import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate problem the operator can act on: which file or name, and what is wrong.
public struct CertificateError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable { case inventory, unreadable, mismatch, expired, io }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// A certificate with the key that goes with it (the key never leaves this type as text except to a 0600 file).
public struct IssuedCertificate {
    public var certificate: Certificate
    var key: P256.Signing.PrivateKey

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    var keyPEM: String { key.pemRepresentation }

    /// Reads a PEM certificate and its PEM (PKCS#8 or SEC1) P-256 key; names `where` in errors.
    static func read(certificatePEM: String, keyPEM: String, where place: String) throws -> IssuedCertificate {
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        do { certificate = try Certificate(pemEncoded: certificatePEM) } catch {
            throw CertificateError(.unreadable, "\(place): not a PEM certificate (\(error))")
        }
        do { key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM) } catch {
            throw CertificateError(.unreadable, "\(place): key is not a PEM P-256 private key")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw CertificateError(.mismatch, "\(place): the key does not belong to the certificate")
        }
        return IssuedCertificate(certificate: certificate, key: key)
    }
}

/// What a leaf certificate is for and which names it carries.
public struct CertificateSpec: Equatable, Sendable {
    public enum Usage: String, Sendable {
        /// A host: TLS server (etcd client/peer, REST API, Postgres, HAProxy) and client (etcd peer, replication).
        case serverAndClient = "server+client"
        /// A client identity only (pgha → etcd, the operator): no CN (see `subject`), so it opens TLS and names nobody.
        case client
    }
    /// File stem under the certificate directory (`pg1` → pg1.crt, pg1.key).
    public var name: String
    /// Empty: no CN in the subject.
    public var commonName: String
    public var usage: Usage
    public var dnsNames: [String]
    public var ipAddresses: [String]
    public init(name: String, commonName: String, usage: Usage, dnsNames: [String] = [], ipAddresses: [String] = []) {
        self.name = name; self.commonName = commonName; self.usage = usage; self.dnsNames = dnsNames; self.ipAddresses = ipAddresses
    }
}

public enum CertificateAuthority {
    /// Backdates notBefore so a host whose clock runs a little behind still accepts a fresh certificate.
    static let clockSkew: TimeInterval = 3600

    public static func makeCA(commonName: String, days: Int, now: Date = Date()) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName { OrganizationName("pgha-provision"); CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: now - clockSkew, notValidAfter: now + Double(days) * 86400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: .init(key))
        return IssuedCertificate(certificate: certificate, key: key)
    }

    /// A new key and a certificate for `spec`, signed by `ca`, valid for `days`.
    public static func issue(_ spec: CertificateSpec, ca: IssuedCertificate, days: Int, now: Date = Date()) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let usages: [ExtendedKeyUsage.Usage] = spec.usage == .client ? [.clientAuth] : [.serverAuth, .clientAuth]
        let names = try subjectAlternativeNames(spec)
        let caKeyID = ca.certificate.extensions.first { $0.oid == .X509ExtensionID.subjectKeyIdentifier }
            .flatMap { try? SubjectKeyIdentifier($0) }?.keyIdentifier
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: now - clockSkew, notValidAfter: now + Double(days) * 86400,
            issuer: ca.certificate.subject,
            subject: try subject(spec),
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
                try ExtendedKeyUsage(usages)
                SubjectKeyIdentifier(hash: publicKey)
                if let caKeyID { AuthorityKeyIdentifier(keyIdentifier: caKeyID) }
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(ca.key))
        return IssuedCertificate(certificate: certificate, key: key)
    }

    /// O=pgha-provision, OU=<name>, and CN=<commonName> unless it is empty: etcd's JSON gateway refuses
    /// (HTTP 400) every /v3 request whose client certificate has a CN once RBAC is on, so the clients'
    /// certificates carry none and they authenticate by RBAC user and password instead.
    static func subject(_ spec: CertificateSpec) throws -> DistinguishedName {
        if spec.commonName.isEmpty {
            return try DistinguishedName { OrganizationName("pgha-provision"); OrganizationalUnitName(spec.name) }
        }
        return try DistinguishedName { OrganizationName("pgha-provision"); OrganizationalUnitName(spec.name); CommonName(spec.commonName) }
    }

    static func subjectAlternativeNames(_ spec: CertificateSpec) throws -> [GeneralName] {
        try spec.dnsNames.map { .dnsName($0) } + spec.ipAddresses.map { address in
            guard let bytes = ipBytes(address) else { throw CertificateError(.inventory, "\(spec.name): '\(address)' is not an IP address") }
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
    }

    /// 4 bytes for IPv4, 16 for IPv6, nil for anything else (a DNS name).
    public static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func ipText(_ bytes: ArraySlice<UInt8>) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = Array(bytes).withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return ok == nil ? bytes.map { String($0) }.joined(separator: ".") : String(cString: buffer)
    }

    /// The DNS names and IP addresses a certificate carries, as text.
    public static func names(of certificate: Certificate) -> (dns: [String], ip: [String]) {
        guard let san = try? certificate.extensions.subjectAlternativeNames else { return ([], []) }
        var dns: [String] = [], ip: [String] = []
        for name in san {
            switch name {
            case .dnsName(let d): dns.append(d)
            case .ipAddress(let octets): ip.append(ipText(octets.bytes))
            default: break
            }
        }
        return (dns, ip)
    }

    /// True when `certificate` names `ca` as issuer and carries a valid signature from its key.
    public static func isSigned(_ certificate: Certificate, by ca: Certificate) -> Bool {
        certificate.issuer == ca.subject && ca.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    public static func commonName(of certificate: Certificate) -> String {
        for rdn in certificate.subject { for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
            return "\(attribute.value)"
        } }
        return ""
    }
}
