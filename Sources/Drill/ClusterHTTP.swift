// The drill's calls to the agents' REST API and etcd's JSON gateway, over HTTPS when the cluster
// CA is on this machine (what `provision up` makes), else plain HTTP. Synchronous, with a deadline
// on every call: the drill polls every 100 ms and must never hang on a host just killed or cut off.
// One pooled client for the process, so a poll does not pay a TLS handshake each time.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

final class ClusterHTTP: @unchecked Sendable {
    /// etcd RBAC login for the JSON gateway (the agents' user, which may read the cluster's prefix).
    struct EtcdLogin { var user: String; var password: String }

    private let client: HTTPClient?
    private let login: EtcdLogin?
    private let lock = NSLock()
    private var tokens: [String: String] = [:]  // etcd member address → auth token; guarded by lock

    /// `caFile` nil: plain HTTP (a cluster without TLS). `certFile`/`keyFile`: the client certificate
    /// etcd's --client-cert-auth asks for (one without a CN: see docs/security.md).
    init(caFile: String?, certFile: String?, keyFile: String?, etcdLogin: EtcdLogin?) throws {
        login = etcdLogin
        guard let caFile else { client = nil; return }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        if let certFile, let keyFile, FileManager.default.fileExists(atPath: certFile) {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .milliseconds(1000))
        // HTTP/1.1 only: etcd offers h2 by ALPN, and AsyncHTTPClient 1.37's HTTP/2 handler traps
        // (HTTP2ClientRequestHandler.swift:249) when a killed member's connection fails mid-request.
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client?.syncShutdown() }

    /// `method path` on host:port; nil on any failure or when the deadline passed.
    func call(_ host: String, _ port: Int, _ method: String, _ path: String, body: String? = nil,
              headers: [(String, String)] = [], timeout: Double) -> PlainHTTP.Answer? {
        guard let client else { return PlainHTTP.call(host, port, method, path, body: body, headers: headers, timeout: timeout) }
        guard var request = try? HTTPClient.Request(url: "https://\(host):\(port)\(path)", method: HTTPMethod(rawValue: method)) else { return nil }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .string(body)
        }
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        guard let response = try? client.execute(request: request, deadline: deadline).wait() else { return nil }
        let text = response.body.map { String(buffer: $0) } ?? ""
        return PlainHTTP.Answer(status: Int(response.status.code), body: text)
    }

    /// JSON object of a 200 answer, else nil.
    func json(_ host: String, _ port: Int, _ method: String, _ path: String, body: String? = nil, timeout: Double = 0.5) -> [String: Any]? {
        guard let a = call(host, port, method, path, body: body, timeout: timeout), a.status == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(a.body.utf8))) as? [String: Any]
    }

    /// A POST to etcd's JSON gateway, logged in when the cluster uses RBAC: a token per member,
    /// traded again once when etcd refuses it (simple tokens expire and die with their member).
    func etcdJSON(_ host: String, _ port: Int, _ path: String, body: String, timeout: Double) -> [String: Any]? {
        guard let login else { return json(host, port, "POST", path, body: body, timeout: timeout) }
        let start = Date()
        for attempt in 0..<2 {
            let left = timeout - Date().timeIntervalSince(start)
            guard left > 0.05 else { return nil }
            var token = lock.withLock { tokens[host] }
            if token == nil {
                let auth = try? JSONSerialization.data(withJSONObject: ["name": login.user, "password": login.password])
                guard let auth, let r = json(host, port, "POST", "/v3/auth/authenticate", body: String(decoding: auth, as: UTF8.self), timeout: left),
                      let t = r["token"] as? String else { return nil }
                token = t
                lock.withLock { tokens[host] = t }
            }
            let rest = timeout - Date().timeIntervalSince(start)
            guard rest > 0.05, let a = call(host, port, "POST", path, body: body, headers: [("Authorization", token!)], timeout: rest) else { return nil }
            if a.status == 200 { return (try? JSONSerialization.jsonObject(with: Data(a.body.utf8))) as? [String: Any] }
            lock.withLock { tokens[host] = nil }
            if attempt == 1 { return nil }
        }
        return nil
    }
}
