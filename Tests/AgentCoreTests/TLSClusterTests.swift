// Two agents (as the postgres user) over an https etcd with client-certificate auth and RBAC, their
// REST APIs on HTTPS with verify_client: required, Postgres with ssl on and replication verify-full
// (Fixtures' useTLS, the lab's settings): a primary and a streaming replica, peers talking https to
// each other, replication over TLS, the control client listing the cluster, no secret in any log.
@testable import AgentCore
import Fixtures
import Foundation
import Testing

@Suite(.serialized) struct TLSClusterTests {
    @Test func agentsRunOverTLSAndRBAC() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        guard let pw = getpwnam("postgres") else { throw FixtureError("no postgres OS user") }
        pki.share(uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
        let etcd = try EtcdTLSTests.server(pki)
        let scope = "pgtls"
        let etcdPassword = "etcd-pgha-pw-7Q", restPassword = "rest-pw-9Z"
        try etcd.enableRBAC(pki, prefix: "/service/\(scope)/", rootPassword: "etcd-root-pw-3K", pghaPassword: etcdPassword)
        let cluster = try AgentCluster(size: 2, scope: scope, etcd: etcd)
        defer { cluster.shutdown() }
        try cluster.useTLS(pki, etcdPassword: etcdPassword, restPassword: restPassword)
        try cluster.startAll()
        func status(_ name: String, _ path: String) -> Int {
            (try? curl("https://127.0.0.1:\(cluster.member(name).restPort)\(path)", cacert: pki.ca,
                       cert: pki.crt("operator-client"), key: pki.key("operator-client"), timeout: 2))?.status ?? 0
        }
        var primary: String?
        _ = waitUntil(timeout: 120, interval: 0.5) {
            let up = cluster.members.filter { status($0.name, "/primary") == 200 }
            primary = up.count == 1 ? up[0].name : nil
            return primary != nil
        }
        let leader = try #require(primary, "no primary over TLS\n\(cluster.logs())")
        let replica = try #require(cluster.members.map(\.name).first { $0 != leader })
        #expect(waitUntil(timeout: 90, interval: 0.5) { status(replica, "/replica") == 200 }, "no replica\n\(cluster.logs())")
        // The replica streams over TLS: the primary's walsender for it is an ssl connection.
        let walsender = try cluster.connect(leader).query(
            "select coalesce(bool_and(s.ssl), false)::text as ssl, count(*) as n from pg_stat_replication r join pg_stat_ssl s using (pid)")
        #expect(walsender.value("ssl") == "true" && walsender.value("n") == "1", "replication over TLS: \(walsender.rows)")
        // Plain http to the REST API and a client without a certificate get nothing.
        #expect(httpGet(port: cluster.member(leader).restPort, path: "/primary")?.status != 200)
        #expect(try curl("https://127.0.0.1:\(cluster.member(leader).restPort)/primary", cacert: pki.ca).status != 200)
        // The control client with the members' own configuration: etcd over TLS + token, REST over HTTPS.
        let client = try ControlClient.load(path: cluster.member(leader).configPath)
        let view = try await client.view()
        #expect(view.leader == leader && view.members.count == 2)
        #expect(view.members.allSatisfy { $0.apiURL.hasPrefix("https://") })
        #expect(try await client.call(client.leader(in: view), "GET", "/cluster").status == 200)
        await client.shutdown()
        // The pgha CLI itself, with the same file.
        let listed = try runTool(cluster.binary, ["list", "-c", cluster.member(leader).configPath], environment: ["PATH": "/usr/bin:/bin"])
        #expect(listed.contains(leader) && listed.contains(replica), "\(listed)")
        // No secret in any agent log, nor in any process's argv while the cluster runs (agents, Postgres, etcd).
        let logs = cluster.members.map { (try? String(contentsOfFile: cluster.logPath($0.name), encoding: .utf8)) ?? "" }.joined()
        let argv = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int($0) != nil }.map {
            String(decoding: FileManager.default.contents(atPath: "/proc/\($0)/cmdline") ?? Data(), as: UTF8.self)
        }.joined(separator: "\n")
        #expect(argv.contains("pgha") && argv.contains("etcd"))
        for secret in [etcdPassword, restPassword, "PRIVATE KEY"] {
            #expect(!logs.contains(secret), "\(secret) in a log")
            #expect(!argv.contains(secret), "\(secret) in a process's argv")
        }
    }
}
