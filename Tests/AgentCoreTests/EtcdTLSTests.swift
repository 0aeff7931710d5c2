// The DCS client against a real etcd over https with --client-cert-auth, and with RBAC: a `pgha`
// role limited to the cluster's prefix, reached by password (token) over a certificate without a CN.
@testable import AgentCore
import Fixtures
import Foundation
import Testing

@Suite(.serialized) struct EtcdTLSTests {
    static func server(_ pki: TestPKI, authTokenTTL: Int? = nil) throws -> EtcdServer {
        try EtcdServer.tls(pki, authTokenTTL: authTokenTTL)
    }

    static func client(_ etcd: EtcdServer, _ pki: TestPKI, cert: String?, ca: String = "cluster", password: String? = nil,
                       user: String = "pgha") throws -> EtcdClient {
        let tls = ClientTLS(section: "etcd3", cacert: pki.ca, certfile: cert.map { pki.crt($0, ca: ca) }, keyfile: cert.map { pki.key($0, ca: ca) })
        return try EtcdClient(endpoints: [etcd.endpoint], requestTimeout: 5, tls: tls,
                              credentials: password.map { Credentials(username: user, password: $0) })
    }

    @Test func clientCertificateRequired() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        let etcd = try Self.server(pki)
        defer { etcd.stop() }
        let good = try Self.client(etcd, pki, cert: "pgha-client")
        try await good.put("/service/t/config", "{}")
        #expect(try await good.get("/service/t/config")?.value == "{}")
        let lease = try await good.grantLease(ttl: 5)
        #expect(try await good.createIfAbsent("/service/t/leader", "node", lease: lease))

        await #expect(throws: EtcdError.self) { _ = try await Self.client(etcd, pki, cert: nil).get("/service/t/config") }
        await #expect(throws: EtcdError.self) { _ = try await Self.client(etcd, pki, cert: "pgha-client", ca: "other").get("/service/t/config") }
        let plain = EtcdClient(endpoints: [etcd.endpoint.replacingOccurrences(of: "https://", with: "http://")], requestTimeout: 3)
        await #expect(throws: EtcdError.self) { _ = try await plain.get("/service/t/config") }
        // curl (OpenSSL) agrees: no certificate, no answer.
        #expect(try curl(etcd.endpoint + "/v3/kv/range", method: "POST", cacert: pki.ca, body: "{\"key\":\"Lw==\"}").status != 200)
    }

    @Test func rbacLimitsThePghaRoleToTheClusterPrefix() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        let etcd = try Self.server(pki, authTokenTTL: 2)
        defer { etcd.stop() }
        let pghaPassword = "pgha-etcd-secret"
        try etcd.enableRBAC(pki, prefix: "/service/t/", rootPassword: "root-etcd-secret", pghaPassword: pghaPassword)

        // By password: a token; the certificate (no CN) only opens TLS.
        var config = AgentConfig()
        config.scope = "t"; config.name = "node"
        let byPassword = try Self.client(etcd, pki, cert: "pgha-client", password: pghaPassword)
        let store = ClusterStore(config: config, etcd: byPassword)
        #expect(try await store.claimInitialize())
        try await store.renewLease(ttl: 6)
        try await store.publishMember("{\"role\":\"primary\"}")
        #expect(try await store.acquireLeader())
        #expect(try await store.load().leader == "node")
        await #expect(throws: EtcdError.self) { try await byPassword.put("/service/other/leader", "x") }
        await #expect(throws: EtcdError.self) { _ = try await byPassword.range(prefix: "/") }
        // The token expires after 2 s: the client authenticates again and carries on.
        let firstToken = byPassword.token
        try await Task.sleep(nanoseconds: 3_500_000_000)
        #expect(try await store.load().leader == "node")
        #expect(byPassword.token != nil && byPassword.token != firstToken)

        // No password: no user, nothing readable.
        await #expect(throws: EtcdError.self) { _ = try await Self.client(etcd, pki, cert: "pgha-client").get("/service/t/leader") }
        // A certificate with a CN is refused by etcd's JSON gateway once RBAC is on, password or not:
        // why provision's client certificates carry none.
        do {
            _ = try await Self.client(etcd, pki, cert: "root-client", password: pghaPassword).get("/service/t/leader")
            Issue.record("a certificate with a CN crossed the gateway")
        } catch { #expect("\(error)".contains("CommonName")) }
        // Wrong password: refused, and the password is not in the error.
        let wrong = try Self.client(etcd, pki, cert: "pgha-client", password: "not-it")
        do { _ = try await wrong.get("/service/t/leader"); Issue.record("a wrong password was accepted") } catch {
            #expect(!"\(error)".contains("not-it"))
        }
        // No client certificate: refused at the handshake whatever the password.
        await #expect(throws: EtcdError.self) { _ = try await Self.client(etcd, pki, cert: nil, password: pghaPassword).get("/service/t/leader") }
    }
}
