// etcd v3 through its HTTP/JSON gateway over AsyncHTTPClient, with fail-over across endpoints.
import AsyncHTTPClient
import Foundation
import NIOCore

/// An etcd failure: every endpoint was unreachable, or one answered with an error.
public struct EtcdError: Error, CustomStringConvertible, Sendable {
    public var description: String
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
public final class EtcdClient: @unchecked Sendable {
    public let endpoints: [String]
    private let http: HTTPClient
    private let lock = NSLock()
    private var current = 0  // guarded by lock
    /// Per-request budget (the agent's retry_timeout).
    public let requestTimeout: Double

    public init(endpoints: [String], requestTimeout: Double) {
        precondition(!endpoints.isEmpty, "EtcdClient needs at least one endpoint")
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
        http = Self.sharedHTTP
    }

    /// One process-wide client that is never deallocated (a client dropped without shutdown traps in
    /// its deinit, e.g. when a caller exits early on an error). A refused or silent endpoint fails within
    /// the 1 s connect timeout, so the next endpoint still gets its turn within the request budget.
    static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(1000))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Kept for callers' symmetry; the shared client lives as long as the process.
    public func shutdown() async {}

    // MARK: JSON over HTTP

    /// POSTs `body` to `path` on the current endpoint, trying the others in turn within the time budget.
    func call(_ path: String, _ body: [String: Any], timeout: Double? = nil) async throws -> [String: Any] {
        let budget = timeout ?? requestTimeout
        let deadline = Date().addingTimeInterval(budget)
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
                request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
                let response = try await http.execute(request, timeout: .milliseconds(Int64(remaining * 1000)))
                let bytes = try await response.body.collect(upTo: 64 << 20)
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
                guard response.status == .ok else {
                    throw EtcdError("etcd \(endpoints[index])\(path): HTTP \(response.status.code) \(object["message"] ?? object["error"] ?? "")")
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

    func txn(compare: [String: Any], success: [String: Any]) async throws -> Bool {
        let r = try await call("/v3/kv/txn", ["compare": [compare], "success": [success]])
        return r["succeeded"] as? Bool ?? false
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
            var create: [String: Any] = ["key": Self.b64(prefix), "range_end": Self.prefixEnd(prefix)]
            if startRevision > 0 { create["start_revision"] = String(startRevision) }
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["create_request": create])))
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .hours(1))
            } catch {
                lastError = "\(endpoint): \(error)"
                continue
            }
            var pending = Data()
            for try await chunk in response.body {
                pending.append(Data(buffer: chunk))
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[pending.index(after: newline)...])
                    guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                          let result = object["result"] as? [String: Any] else { continue }
                    if result["canceled"] as? Bool == true { throw EtcdError("etcd watch canceled: \(result["cancel_reason"] ?? "")") }
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
