// The control CLI's connection to a cluster: etcd (read the view, edit keys) and the members' REST
// APIs (actions, with the basic auth from the same patroni.yml the agent reads).
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

/// A control-command failure: one line a user can act on; the CLI prints it and exits with the
/// code its kind says (docs/agent.md).
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The configuration file does not load.
        case configuration
        /// The cluster refused or the operation failed.
        case refused
        /// etcd or a member's REST API did not answer.
        case unreachable
    }
    public var description: String
    public var kind: Kind
    public init(_ description: String, kind: Kind = .refused) { self.description = description; self.kind = kind }
    public static func unreachable(_ description: String) -> ControlError { ControlError(description, kind: .unreachable) }
}

public struct HTTPAnswer: Sendable {
    public var status: Int
    public var body: String
    public var text: String { body.trimmingSpacesAndNewlines() }
}

public final class ControlClient: @unchecked Sendable {
    public let config: AgentConfig
    public let etcd: EtcdClient
    /// Every read and write of the cluster's keys goes through the store, as in the agent.
    public let store: ClusterStore
    let http: HTTPClient

    public init(config: AgentConfig) throws {
        self.config = config
        etcd = try EtcdClient(config: config, requestTimeout: 3)
        store = ClusterStore(config: config, etcd: etcd)
        var c = HTTPClient.Configuration(tlsConfiguration: config.restClientTLS.isEmpty ? nil : try config.restClientTLS.nioConfiguration())
        c.httpVersion = .http1Only  // as EtcdClient: no HTTP/2 path (its error handler can trap)
        c.timeout = .init(connect: .seconds(2))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }

    public static func load(path: String) throws -> ControlClient {
        do { return try ControlClient(config: try ConfigLoader.load(path: path).config) } catch {
            throw ControlError("\(error)", kind: .configuration)
        }
    }

    public func shutdown() async {
        await etcd.shutdown()
        try? await http.shutdown()
    }

    deinit { http.shutdown { _ in } }  // see EtcdClient.deinit

    public var scope: String { config.scope }
    public func key(_ name: String) -> String { config.keyPrefix + name }

    /// Everything under the cluster's prefix; "etcd unreachable" is the one error a user sees.
    public func view() async throws -> ClusterView {
        do {
            return try await store.load()
        } catch {
            let text = "\(error)"
            throw ControlError.unreachable(text.hasPrefix("etcd unreachable") ? text : "etcd unreachable at \(config.etcdEndpoints.joined(separator: ",")): \(text)")
        }
    }

    /// The member named `name`, or an error listing the known ones.
    public func member(_ name: String, in view: ClusterView) throws -> MemberInfo {
        guard let m = view.member(name) else {
            throw ControlError("unknown member \(name) (members of \(scope): \(view.members.map(\.name).joined(separator: ", ")))")
        }
        return m
    }

    /// `method path` on the member's REST API with basic auth, JSON body; bounded by `timeout`.
    public func call(_ m: MemberInfo, _ method: String, _ path: String, body: [String: Any]? = nil, timeout: Double = 10) async throws -> HTTPAnswer {
        guard !m.apiURL.isEmpty else { throw ControlError("member \(m.name) has no api_url in etcd") }
        let base = m.apiURL.hasSuffix("/patroni") ? String(m.apiURL.dropLast("/patroni".count)) : m.apiURL
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if let auth = config.ctlAuth ?? config.restAuth {
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(auth.username):\(auth.password ?? "")".utf8).base64EncodedString())
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONText.bytes(body)))
        }
        do {
            let r = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let bytes = try await r.body.collect(upTo: 4 << 20)
            return HTTPAnswer(status: Int(r.status.code), body: String(buffer: bytes))
        } catch {
            throw ControlError.unreachable("\(m.name) (\(base)) did not answer \(method) \(path): \(error)")
        }
    }

    /// The leader's member entry, or "no leader" as an error.
    public func leader(in view: ClusterView) throws -> MemberInfo {
        guard let name = view.leader, let m = view.member(name) else { throw ControlError("cluster \(scope) has no leader") }
        return m
    }

    /// Polls the view until `done` holds (bounded); returns the last view.
    @discardableResult
    public func waitFor(timeout: Double, _ done: (ClusterView) -> Bool) async throws -> ClusterView? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let v = try? await view(), done(v) { return v }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        return nil
    }
}
