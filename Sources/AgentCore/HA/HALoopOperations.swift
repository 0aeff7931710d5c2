// What the HA loop adds to the decision's input for the operations (requests, stale config,
// failsafe answers) and how it reports a request's outcome back to the REST API.
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

extension HALoop {
    func addOperationInputs(_ input: inout DecisionInput, cluster: ClusterView?, local: LocalPostgres) async {
        input.wallNow = Date().timeIntervalSince1970
        input.request = requests.current()?.request
        input.lastKnown = snapshot.get().cluster
        if let cluster, local.run == .running {
            input.configStale = ConfigSync.isStale(postgres.files, dynamic: runner.dynamicParameters(cluster),
                                                   clusterHBA: cluster.config?.pgHBA ?? config.dcsPgHBA)
        }
        if cluster == nil, local.isPrimary, let last = input.lastKnown, last.leader == config.name, last.settings.failsafeMode {
            input.failsafeAcked = await askFailsafe(last)
        }
    }

    /// Reports the outcome of the request the decision answered (if any).
    func finishRequest(_ decision: Decision, ok: Bool, started: Bool = false) {
        guard decision.answersRequest, let (id, _) = requests.current() else { return }
        let success = ok && !decision.actions.isEmpty
        requests.complete(id, RequestOutcome(ok: success, message: success && started ? decision.message + " (started)" : decision.message))
    }

    /// etcd is unreachable: POST /failsafe to every other member of the last `failsafe` key; true
    /// only if all of them answer 200 (they then know the leader is alive and none will promote).
    func askFailsafe(_ last: ClusterView) async -> Bool {
        let others = last.failsafeMembers.filter { $0.key != config.name }
        if others.isEmpty { return false }
        let body: [String: Any] = ["name": config.name, "api_url": config.apiURL,
                                   "conn_url": "postgres://\(config.postgres.connectAddress)/postgres"]
        let payload = (try? JSONText.bytes(body)) ?? []
        // A peer slow to answer would demote a healthy primary; none may hold it past its deadline.
        let timeout = min(2.0, etcdBudget)
        let auth = (config.ctlAuth ?? config.restAuth).map { "Basic " + Data("\($0.username):\($0.password ?? "")".utf8).base64EncodedString() }
        return await withTaskGroup(of: Bool.self) { group in
            for (_, api) in others {
                let url = api.hasSuffix("/patroni") ? String(api.dropLast("/patroni".count)) + "/failsafe" : api + "/failsafe"
                group.addTask { [peerClient] in
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    if let auth { request.headers.add(name: "Authorization", value: auth) }
                    request.body = .bytes(ByteBuffer(bytes: payload))
                    guard let r = try? await peerClient.execute(request, timeout: .milliseconds(Int64(timeout * 1000))) else { return false }
                    _ = try? await r.body.collect(upTo: 1 << 16)
                    return r.status == .ok
                }
            }
            var all = true
            for await ok in group where !ok { all = false }
            return all
        }
    }
}

/// Whether pgha.conf still carries the parameters the `config` key asks for.
public enum ConfigSync {
    public static func isStale(_ files: PostgresFiles, dynamic: [String: String], clusterHBA: [String]? = nil) -> Bool {
        guard let text = try? String(contentsOfFile: files.confPath, encoding: .utf8) else { return false }
        if let hba = try? String(contentsOfFile: files.dataDir + "/pg_hba.conf", encoding: .utf8),
           hba != files.hbaLines(cluster: clusterHBA).joined(separator: "\n") + "\n" { return true }
        if let ident = try? String(contentsOfFile: files.dataDir + "/pg_ident.conf", encoding: .utf8),
           ident != files.config.postgres.pgIdent.map({ $0 + "\n" }).joined() { return true }
        // The parameters are the lines above the replication marker (a file without it was written
        // by an older pgha: stale, rewritten once). Parameters such as restore_command may appear on
        // both sides of it: a local parameter above, a standby cluster's setting below.
        var written: [String: String] = [:]
        var sawMarker = false
        for line in text.split(separator: "\n") {
            if line == PostgresFiles.replicationMarker { sawMarker = true; break }
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            written[line[..<eq].trimmingSpaces()] = line[line.index(after: eq)...].trimmingSpaces()
        }
        return !sawMarker || written != files.parameters(dynamic: dynamic)
    }
}
