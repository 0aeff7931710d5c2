// Helpers for the operations' end-to-end tests: run the `pgha` control CLI as a user would, make a
// replica lag for real, and wait (bounded) for cluster states.
import AgentCore
import Fixtures
import Foundation
import Spawn
import PQ
import Testing

struct CLIResult {
    var status: Int32
    var out: String
    var err: String
}

/// The operations' cluster tests run one after another (each starts etcd + 3 agents + 3 Postgres;
/// two cores do not run several such clusters at once without stalling their leases).
@Suite(.serialized) struct AgentOpsClusters {}

/// REST basic auth the ops tests put into every member's configuration.
let opsAuth = (user: "admin", password: "pw-rest-test")

extension AgentCluster {
    /// Adds restapi.authentication to every member's configuration (before the agents start).
    func requireRESTAuth() throws {
        for m in members {
            var text = try String(contentsOfFile: m.configPath, encoding: .utf8)
            text = text.replacingOccurrences(of: "  connect_address: 127.0.0.1:\(m.restPort)\n",
                                             with: "  connect_address: 127.0.0.1:\(m.restPort)\n  authentication: {username: \(opsAuth.user), password: \(opsAuth.password)}\n")
            try text.write(toFile: m.configPath, atomically: false, encoding: .utf8)
        }
    }

    /// Runs `pgha ARGS -c <first member's config>` and returns its exit status and output (bounded).
    /// `input`: what is typed on stdin (answers to questions).
    func cli(_ args: [String], timeout: Double = 120, quiet: Bool = false, environment: [String: String] = [:], input: String? = nil) throws -> CLIResult {
        let r = try Spawn.run(binary, args + ["-c", members[0].configPath],
                              environment: ProcessInfo.processInfo.environment.merging(environment) { _, n in n },
                              input: input.map { Data($0.utf8) }, timeout: timeout)
        if r.timedOut { throw FixtureError("pgha \(args.joined(separator: " ")) did not finish within \(timeout) s") }
        if !quiet { print("$ pgha \(args.joined(separator: " "))\n\(r.stdout)\(r.stderr)", terminator: "") }
        return CLIResult(status: r.status, out: r.stdout, err: r.stderr)
    }

    /// An HTTP request to a member's REST API, with the ops tests' basic auth unless `auth` is false.
    func http(_ name: String, _ method: String, _ path: String, body: String? = nil, auth: Bool = true) -> (status: Int, body: String)? {
        let headers = auth ? ["Authorization": "Basic \(Data("\(opsAuth.user):\(opsAuth.password)".utf8).base64EncodedString())"] : [:]
        return httpGet(port: member(name).restPort, path: path, method: method, body: body, headers: headers, timeout: 60)
    }

    /// Waits (bounded) until `body` returns a value; the failure names `what` and shows the logs.
    func eventually<T>(_ timeout: Double, _ what: String, _ body: () -> T?) throws -> T {
        try Fixtures.eventually(timeout, what, context: { logs() }, body)
    }

    func streaming(on primary: String) -> Set<String> {
        guard let conn = try? connect(primary),
              let r = try? conn.query("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'") else { return [] }
        return Set(r.rows.compactMap { $0[0] })
    }

    /// Up: one primary and every other member streaming from it; returns the primary.
    func healthy(timeout: Double = 90) throws -> String {
        try eventually(timeout, "one primary with every other member streaming") { () -> String? in
            guard let p = primary() else { return nil }
            return streaming(on: p) == Set(members.map(\.name)).subtracting([p]) ? p : nil
        }
    }
}

extension AgentCluster {
    /// The value of `/service/<scope>/<key>` read straight from etcd's JSON gateway (nil: absent).
    func etcdValue(_ key: String, scope: String? = nil) -> String? {
        let full = "/service/\(scope ?? self.scope)/\(key)"
        let r = try? Spawn.run("/usr/bin/curl", ["-s", "-X", "POST", etcd.endpoint + "/v3/kv/range",
                                                  "-d", #"{"key": "\#(Data(full.utf8).base64EncodedString())"}"#], environment: [:], timeout: 5)
        guard let out = r?.stdout, let d = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any],
              let kv = (d["kvs"] as? [[String: Any]])?.first, let v = kv["value"] as? String,
              let raw = Data(base64Encoded: v) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    /// How many keys etcd holds under /service/<scope>/.
    func etcdKeyCount(scope: String? = nil) -> Int? {
        let prefix = "/service/\(scope ?? self.scope)/"
        var end = Array(prefix.utf8); end[end.count - 1] += 1
        let body = #"{"key": "\#(Data(prefix.utf8).base64EncodedString())", "range_end": "\#(Data(end).base64EncodedString())", "count_only": true}"#
        let r = try? Spawn.run("/usr/bin/curl", ["-s", "-X", "POST", etcd.endpoint + "/v3/kv/range", "-d", body], environment: [:], timeout: 5)
        guard let out = r?.stdout, let d = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any] else { return nil }
        return Int(d["count"] as? String ?? "0")
    }

    /// Runs a Postgres tool (initdb, pg_ctl, …) from the Debian layout as the postgres user.
    func asPostgres(_ tool: String, _ args: [String], timeout: Double = 120) throws -> Spawn.Result {
        let r = try Spawn.run("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "/usr/lib/postgresql/15/bin/" + tool] + args,
                              environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": root], timeout: timeout)
        if r.timedOut || r.status != 0 { throw FixtureError("\(tool) \(args.joined(separator: " ")) failed (\(r.status)): \(r.stdout)\(r.stderr)") }
        return r
    }
}
