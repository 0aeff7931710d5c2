// TLS settings under Patroni's key names (restapi.certfile/keyfile/cafile/verify_client, ctl.*,
// etcd3.cacert/cert/key) and the NIOSSL configurations built from them. Files are read when the
// agent or CLI starts, so a bad path is one error naming its key, not a failed handshake later.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOSSL

/// Patroni's restapi.verify_client: whether the REST API asks callers for a certificate from `cafile`.
public enum VerifyClient: String, Sendable, CaseIterable {
    /// No client certificate asked for (authentication is basic auth on unsafe methods).
    case none
    /// A certificate is checked against `cafile` when the caller presents one; none is also accepted.
    case optional
    /// Every connection must present a certificate signed by `cafile`.
    case required
}

/// The REST API's server side: `restapi.certfile` turns HTTPS on.
public struct ServerTLS: Equatable, Sendable {
    public var certfile: String
    public var keyfile: String
    public var cafile: String?
    public var verifyClient = VerifyClient.none
    public init(certfile: String, keyfile: String, cafile: String? = nil, verifyClient: VerifyClient = .none) {
        self.certfile = certfile; self.keyfile = keyfile; self.cafile = cafile; self.verifyClient = verifyClient
    }

    /// NIOSSL's server configuration; the error names the patroni.yml key whose file is bad.
    public func nioConfiguration() throws -> TLSConfiguration {
        let chain = try TLSFiles.certificates(certfile, key: "restapi.certfile")
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                         privateKey: .privateKey(try TLSFiles.privateKey(keyfile, key: "restapi.keyfile")))
        c.minimumTLSVersion = .tlsv12
        if let cafile { c.trustRoots = .certificates(try TLSFiles.certificates(cafile, key: "restapi.cafile")) }
        switch verifyClient {
        case .none: c.certificateVerification = .none
        case .optional: c.certificateVerification = .optionalVerification
        // A client has no host name to check: the chain to cafile is the proof.
        case .required: c.certificateVerification = .noHostnameVerification
        }
        if verifyClient != .none && cafile == nil { throw ConfigError("restapi.verify_client: \(verifyClient.rawValue) needs restapi.cafile") }
        return c
    }
}

/// A TLS client's files (etcd3.cacert/cert/key; ctl.cacert/certfile/keyfile/insecure).
public struct ClientTLS: Hashable, Sendable {
    public var cacert: String?
    public var certfile: String?
    public var keyfile: String?
    /// ctl.insecure: do not verify the server's certificate (Patroni's escape hatch; off by default).
    public var insecure = false
    /// The patroni.yml section the files came from, for error messages.
    public var section: String
    public init(section: String, cacert: String? = nil, certfile: String? = nil, keyfile: String? = nil, insecure: Bool = false) {
        self.section = section; self.cacert = cacert; self.certfile = certfile; self.keyfile = keyfile; self.insecure = insecure
    }

    public var isEmpty: Bool { cacert == nil && certfile == nil && keyfile == nil && !insecure }

    public func nioConfiguration() throws -> TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        c.minimumTLSVersion = .tlsv12
        if let cacert { c.trustRoots = .certificates(try TLSFiles.certificates(cacert, key: "\(section).cacert")) }
        let certKey = section == "ctl" ? "certfile" : "cert", keyKey = section == "ctl" ? "keyfile" : "key"
        switch (certfile, keyfile) {
        case let (cert?, key?):
            c.certificateChain = try TLSFiles.certificates(cert, key: "\(section).\(certKey)").map { .certificate($0) }
            c.privateKey = .privateKey(try TLSFiles.privateKey(key, key: "\(section).\(keyKey)"))
        case (nil, nil): break
        default: throw ConfigError("\(section).\(certfile == nil ? certKey : keyKey): needed together with \(section).\(certfile == nil ? keyKey : certKey)")
        }
        if insecure { c.certificateVerification = .none }
        return c
    }
}

enum TLSFiles {
    static func certificates(_ path: String, key: String) throws -> [NIOSSLCertificate] {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(path)
            guard !chain.isEmpty else { throw ConfigError("no certificate in the file") }
            return chain
        } catch { throw ConfigError("\(key): cannot read a PEM certificate from \(path) (\(error))") }
    }

    /// The error never carries the file's content.
    static func privateKey(_ path: String, key: String) throws -> NIOSSLPrivateKey {
        do { return try NIOSSLPrivateKey(file: path, format: .pem) } catch {
            throw ConfigError("\(key): cannot read a PEM private key from \(path)")
        }
    }
}
