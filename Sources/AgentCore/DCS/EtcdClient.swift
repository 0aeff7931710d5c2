// etcd v3 through its HTTP/JSON gateway over AsyncHTTPClient, with fail-over across endpoints.
import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOSSL

/// An etcd failure: every endpoint was unreachable, or one answered with an error.
public struct EtcdError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// etcd refused the auth token (expired, or issued by a member that restarted): authenticate again.
    var tokenRejected = false
    public init(_ description: String) { self.description = description }
}

/// One key as etcd returns it.
public struct KeyValue: Equatable, Sendable {
    public var key: String
    public var value: String
    public var createRevision: Int64
    public var modRevision: Int64
    public var lease: Int64
}

public struct WatchEvent: Equatable, Sendable {
    public enum Kind: Sendable { case put, delete }
    public var kind: Kind
    public var key: String
    public var value: String
    public var modRevision: Int64
}

/// A small etcd v3 client: kv range/put/txn/deleterange, leases, and a streaming watch.
/// Requests go to the endpoint that answered last; on a connection failure the next is tried.
/// Over https it presents the client certificate (etcd's --client-cert-auth); with credentials it
/// trades them for an auth token (etcd RBAC) and trades again when etcd says the token expired.
public final class EtcdClient: @unchecked Sendable {
    public let endpoints: [String]
    private let http: HTTPClient
    private let lock = Lock()
    private var current = 0  // guarded by lock
    private let credentials: Credentials?
    private(set) var token: String?  // guarded by lock (read by tests)
    /// Per-request budget (the agent's retry_timeout).
    public let requestTimeout: Double

    /// Plain http, no authentication.
    public init(endpoints: [String], requestTimeout: Double) {
        precondition(!endpoints.isEmpty, "EtcdClient needs at least one endpoint")
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
        credentials = nil
        http = Self.sharedHTTP
    }

    /// With TLS files (read now: a bad file is an error naming its etcd3 key) and optional credentials.
    public init(endpoints: [String], requestTimeout: Double, tls: ClientTLS?, credentials: Credentials?) throws {
        precondition(!endpoints.isEmpty, "EtcdClient needs at least one endpoint")
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
        self.credentials = credentials
        http = try Self.sharedHTTP(tls: tls.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The client for the agent's etcd3 section (endpoints, TLS files, credentials).
    public convenience init(config: AgentConfig, requestTimeout: Double) throws {
        try self.init(endpoints: config.etcdEndpoints, requestTimeout: requestTimeout, tls: config.etcdTLS, credentials: config.etcdAuth)
    }

    /// The plain-HTTP shared client (peer /patroni calls without TLS use it too).
    static let sharedHTTP: HTTPClient = makeHTTP(nil)

    private static let clientsLock = Lock()
    nonisolated(unsafe) private static var clients: [ClientTLS: HTTPClient] = [:]  // guarded by clientsLock

    /// One process-wide client per TLS setting, never deallocated (a client dropped without shutdown traps
    /// in its deinit, e.g. when a caller exits early on an error). A refused or silent endpoint fails within
    /// the 1 s connect timeout, so the next endpoint still gets its turn within the request budget.
    public static func sharedHTTP(tls: ClientTLS?) throws -> HTTPClient {
        guard let tls else { return sharedHTTP }
        return try clientsLock.withLock {
            if let client = clients[tls] { return client }
            let client = makeHTTP(try tls.nioConfiguration())
            clients[tls] = client
            return client
        }
    }

    private static func makeHTTP(_ tls: TLSConfiguration?) -> HTTPClient {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .milliseconds(1000))
        // Fail a request at once when its connection cannot be made, instead of retrying with the
        // pool's backoff (100 ms × 1.25^n, up to 60 s): the callers retry every loop themselves, and
        // the backoff piled up during an outage kept etcd "unreachable" for seconds after it healed
        // (the partition drill: 6 s; a 30 s outage would have cost up to a minute).
        configuration.connectionPool.retryConnectionEstablishment = false
        // HTTP/1.1 only: over TLS etcd offers h2 by ALPN, and AsyncHTTPClient 1.37's HTTP/2 handler
        // traps (force-unwrap in HTTP2ClientRequestHandler.errorCaught) when a member dies mid-request.
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Kept for callers' symmetry; the shared client lives as long as the process.
    public func shutdown() async {}

    // MARK: JSON over HTTP

    /// POSTs `body` to `path` on the current endpoint, trying the others in turn within the time budget.
    func call(_ path: String, _ body: [String: Any], timeout: Double? = nil) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout ?? requestTimeout)
        guard credentials != nil else { return try await send(path, body, deadline: deadline, token: nil) }
        let token = try await currentToken(deadline: deadline)
        do {
            return try await send(path, body, deadline: deadline, token: token)
        } catch let error as EtcdError where error.tokenRejected {
            // Simple tokens expire (--auth-token-ttl) and die with the member that issued them: trade again once.
            lock.withLock { if self.token == token { self.token = nil } }
            return try await send(path, body, deadline: deadline, token: try await currentToken(deadline: deadline))
        }
    }

    /// The cached token, or a new one from /v3/auth/authenticate (the password goes only in that body).
    private func currentToken(deadline: Date) async throws -> String {
        if let token = lock.withLock({ token }) { return token }
        guard let credentials else { throw EtcdError("etcd: no credentials") }
        let r = try await send("/v3/auth/authenticate", ["name": credentials.username, "password": credentials.password ?? ""],
                               deadline: deadline, token: nil)
        guard let token = r["token"] as? String, !token.isEmpty else { throw EtcdError("etcd: authenticate as \(credentials.username) returned no token") }
        lock.withLock { self.token = token }
        return token
    }

    private func send(_ path: String, _ body: [String: Any], deadline: Date, token: String?) async throws -> [String: Any] {
        let start = lock.withLock { current }
        var lastError = "no endpoint tried"
        for i in 0..<endpoints.count {
            let index = (start + i) % endpoints.count
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { break }
            do {
                var request = HTTPClientRequest(url: endpoints[index] + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if let token { request.headers.add(name: "Authorization", value: token) }
                request.body = .bytes(ByteBuffer(bytes: try JSONText.bytes(body)))
                let response = try await http.execute(request, timeout: .milliseconds(Int64(remaining * 1000)))
                let bytes = try await response.body.collect(upTo: 64 << 20)
                let object = (try? JSONText.parse(bytes.readableBytesView)) as? [String: Any] ?? [:]
                guard response.status == .ok else {
                    let message = "\(object["message"] ?? object["error"] ?? String(buffer: bytes).prefix(200))"
                    var error = EtcdError("etcd \(endpoints[index])\(path): HTTP \(response.status.code) \(message)")
                    error.tokenRejected = token != nil && message.contains("invalid auth token")
                    throw error
                }
                lock.withLock { current = index }
                return object
            } catch let error as EtcdError {
                throw error
            } catch {
                lastError = "\(endpoints[index]): \(error)"
            }
        }
        throw EtcdError("etcd unreachable (\(lastError))")
    }

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
    static func unb64(_ any: Any?) -> String {
        guard let s = any as? String, let d = Data(base64Encoded: s) else { return "" }
        return String(decoding: d, as: UTF8.self)
    }
    static func int64(_ any: Any?) -> Int64 { (any as? String).flatMap { Int64($0) } ?? (any as? Int64) ?? Int64(any as? Int ?? 0) }

    static func keyValue(_ d: [String: Any]) -> KeyValue {
        KeyValue(key: unb64(d["key"]), value: unb64(d["value"]), createRevision: int64(d["create_revision"]),
                 modRevision: int64(d["mod_revision"]), lease: int64(d["lease"]))
    }

    /// The key just after every key starting with `prefix` (etcd's range_end for a prefix).
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff { bytes[bytes.count - 1] = last + 1; return b64(String(decoding: bytes, as: UTF8.self)) }
            bytes.removeLast()
        }
        return Data([0]).base64EncodedString()
    }

    // MARK: KV

    /// Every key under `prefix`, and the store revision they were read at.
    public func range(prefix: String, timeout: Double? = nil) async throws -> (kvs: [KeyValue], revision: Int64) {
        let r = try await call("/v3/kv/range", ["key": Self.b64(prefix), "range_end": Self.prefixEnd(prefix)], timeout: timeout)
        let kvs = (r["kvs"] as? [[String: Any]] ?? []).map(Self.keyValue)
        return (kvs, Self.int64((r["header"] as? [String: Any])?["revision"]))
    }

    public func get(_ key: String) async throws -> KeyValue? {
        let r = try await call("/v3/kv/range", ["key": Self.b64(key)])
        return (r["kvs"] as? [[String: Any]])?.first.map(Self.keyValue)
    }

    public func put(_ key: String, _ value: String, lease: Int64 = 0) async throws {
        var body: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value)]
        if lease != 0 { body["lease"] = String(lease) }
        _ = try await call("/v3/kv/put", body)
    }

    public func delete(_ key: String) async throws {
        _ = try await call("/v3/kv/deleterange", ["key": Self.b64(key)])
    }

    /// Writes `key` only if it does not exist (create_revision == 0). Returns whether it was written.
    public func createIfAbsent(_ key: String, _ value: String, lease: Int64 = 0) async throws -> Bool {
        var put: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value)]
        if lease != 0 { put["lease"] = String(lease) }
        return try await txn(compare: ["key": Self.b64(key), "target": "CREATE", "create_revision": "0"],
                             success: ["request_put": put])
    }

    /// Deletes `key` only while it holds `value` (releasing a lock we own). Returns whether it was deleted.
    public func deleteIfValue(_ key: String, _ value: String) async throws -> Bool {
        try await txn(compare: ["key": Self.b64(key), "target": "VALUE", "value": Self.b64(value)],
                      success: ["request_delete_range": ["key": Self.b64(key)]])
    }

    /// Deletes `key` only if its mod_revision is still `modRevision`.
    public func deleteIfRevision(_ key: String, modRevision: Int64) async throws -> Bool {
        try await txn(compare: ["key": Self.b64(key), "target": "MOD", "mod_revision": String(modRevision)],
                      success: ["request_delete_range": ["key": Self.b64(key)]])
    }

    /// Writes `key` only if its mod_revision is still `modRevision` (0: only if absent).
    public func putIfRevision(_ key: String, _ value: String, modRevision: Int64, lease: Int64 = 0) async throws -> Bool {
        var put: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value)]
        if lease != 0 { put["lease"] = String(lease) }
        let compare: [String: Any] = modRevision == 0
            ? ["key": Self.b64(key), "target": "CREATE", "create_revision": "0"]
            : ["key": Self.b64(key), "target": "MOD", "mod_revision": String(modRevision)]
        return try await txn(compare: compare, success: ["request_put": put])
    }

    /// Writes `key` only while it holds `expected` (renewing a lock we own onto a new lease).
    public func putIfValue(_ key: String, expected: String, _ value: String, lease: Int64) async throws -> Bool {
        var put: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value)]
        if lease != 0 { put["lease"] = String(lease) }
        return try await txn(compare: ["key": Self.b64(key), "target": "VALUE", "value": Self.b64(expected)],
                             success: ["request_put": put])
    }

    /// Deletes every key under `prefix` — with `unlessExists`, in one transaction and only while that
    /// key does not exist. Returns how many keys went (nil: refused, the key exists).
    public func deletePrefix(_ prefix: String, unlessExists key: String? = nil) async throws -> Int64? {
        let range: [String: Any] = ["key": Self.b64(prefix), "range_end": Self.prefixEnd(prefix)]
        guard let key else { return Self.int64(try await call("/v3/kv/deleterange", range)["deleted"]) }
        let r = try await call("/v3/kv/txn", ["compare": [["key": Self.b64(key), "target": "CREATE", "create_revision": "0"]],
                                              "success": [["request_delete_range": range]]])
        guard JSONNumber.bool(r["succeeded"]) ?? false else { return nil }
        let first = (r["responses"] as? [[String: Any]])?.first?["response_delete_range"] as? [String: Any]
        return Self.int64(first?["deleted"])
    }

    func txn(compare: [String: Any], success: [String: Any]) async throws -> Bool {
        let r = try await call("/v3/kv/txn", ["compare": [compare], "success": [success]])
        return JSONNumber.bool(r["succeeded"]) ?? false
    }

    // MARK: Leases

    public func grantLease(ttl: Int, timeout: Double? = nil) async throws -> Int64 {
        let r = try await call("/v3/lease/grant", ["TTL": String(ttl)], timeout: timeout)
        let id = Self.int64(r["ID"])
        guard id != 0 else { throw EtcdError("etcd lease grant returned no ID: \(r["error"] ?? r)") }
        return id
    }

    /// Renews the lease; returns the TTL etcd granted, 0 when the lease has already expired.
    public func keepAlive(_ lease: Int64, timeout: Double? = nil) async throws -> Int64 {
        let r = try await call("/v3/lease/keepalive", ["ID": String(lease)], timeout: timeout)
        return Self.int64((r["result"] as? [String: Any])?["TTL"])
    }

    public func revoke(_ lease: Int64) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
    }

    // MARK: Watch

    /// Streams changes to keys under `prefix` from `startRevision` until the stream breaks
    /// (then it throws; the caller reconnects). `onEvent` runs for every event in order.
    public func watch(prefix: String, startRevision: Int64, onEvent: @Sendable (WatchEvent) async -> Void) async throws {
        var lastError = "no endpoint"
        let index = lock.withLock { current }
        for i in 0..<endpoints.count {
            let endpoint = endpoints[(index + i) % endpoints.count]
            var request = HTTPClientRequest(url: endpoint + "/v3/watch")
            request.method = .POST
            if credentials != nil {
                do { request.headers.add(name: "Authorization", value: try await currentToken(deadline: Date().addingTimeInterval(requestTimeout))) } catch {
                    lastError = "\(endpoint): \(error)"
                    continue
                }
            }
            var create: [String: Any] = ["key": Self.b64(prefix), "range_end": Self.prefixEnd(prefix)]
            if startRevision > 0 { create["start_revision"] = String(startRevision) }
            request.body = .bytes(ByteBuffer(bytes: try JSONText.bytes(["create_request": create])))
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .hours(1))
            } catch {
                lastError = "\(endpoint): \(error)"
                continue
            }
            var pending: [UInt8] = []
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Array(pending[pending.index(after: newline)...])
                    guard let object = (try? JSONText.parse(line)) as? [String: Any],
                          let result = object["result"] as? [String: Any] else { continue }
                    if JSONNumber.bool(result["canceled"]) == true { throw EtcdError("etcd watch canceled: \(result["cancel_reason"] ?? "")") }
                    for e in result["events"] as? [[String: Any]] ?? [] {
                        let kv = Self.keyValue(e["kv"] as? [String: Any] ?? [:])
                        await onEvent(WatchEvent(kind: (e["type"] as? String) == "DELETE" ? .delete : .put,
                                                 key: kv.key, value: kv.value, modRevision: kv.modRevision))
                    }
                }
            }
            throw EtcdError("etcd watch stream from \(endpoint) ended")
        }
        throw EtcdError("etcd watch: no endpoint reachable (\(lastError))")
    }
}
