// The REST API over HTTPS on loopback, judged by curl (OpenSSL) and by pgha's own control client.
@testable import AgentCore
import Fixtures
import Foundation
import Logging
import Testing

@Suite(.serialized) struct RestTLSTests {
    static let password = "rest-secret-pw"

    static func config(_ pki: TestPKI, verify: VerifyClient) throws -> AgentConfig {
        var c = AgentConfig()
        c.scope = "t"; c.name = "node"
        let port = try freePort()
        c.restListen = HostPort(host: "127.0.0.1", port: port)
        c.restConnect = c.restListen
        c.restAuth = Credentials(username: "admin", password: password)
        c.restTLS = ServerTLS(certfile: pki.crt("node"), keyfile: pki.key("node"), cafile: pki.ca, verifyClient: verify)
        c.ctl = ClientTLS(section: "ctl", cacert: pki.ca)
        return c
    }

    /// The agent's REST server alone (etcd unreachable: the routes under test do not need it).
    static func serve(_ config: AgentConfig) async throws -> Task<Void, Error> {
        let snapshot = Locked(AgentSnapshot(config: config))
        let store = ClusterStore(config: config, etcd: EtcdClient(endpoints: ["http://127.0.0.1:1"], requestTimeout: 1))
        let actions = ActionContext(config: config, store: store, snapshot: snapshot, requests: LocalRequests(), wakeup: Wakeup())
        let app = try RestServer.make(config: config, snapshot: snapshot, actions: actions, logger: Logger(label: "rest-tls-test"))
        let task = Task { try await app.runService() }
        let port = config.restListen.port
        guard waitUntil(timeout: 20, { portAccepts(port) }) else {
            task.cancel()
            let outcome = await task.result
            throw FixtureError("REST server not listening on \(port): \(outcome)")
        }
        return task
    }

    static func member(_ config: AgentConfig) -> MemberInfo {
        var m = MemberInfo(name: config.name)
        m.apiURL = config.apiURL
        return m
    }

    static func basic(_ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("admin:\(password)".utf8).base64EncodedString()]
    }

    @Test func httpsWithTheClusterCAAndPlainHTTPRefused() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        let config = try Self.config(pki, verify: .none)
        let server = try await Self.serve(config)
        defer { server.cancel() }
        let url = "https://127.0.0.1:\(config.restListen.port)"
        let ok = try curl(url + "/patroni", cacert: pki.ca)
        #expect(ok.exitCode == 0 && ok.status == 200, "\(ok)")
        #expect(try curl("https://localhost:\(config.restListen.port)/patroni", cacert: pki.ca).status == 200)
        // Another CA's trust store does not accept the server; plain HTTP gets no HTTP answer.
        #expect(try curl(url + "/patroni", cacert: pki.crt("ca", ca: "other")).exitCode == 60)
        let plain = try curl("http://127.0.0.1:\(config.restListen.port)/patroni")
        #expect(plain.exitCode != 0 && plain.status != 200, "\(plain)")
        // Unsafe methods still need basic auth over TLS.
        #expect(try curl(url + "/restart", method: "POST", cacert: pki.ca, body: "{}").status == 401)
        #expect(try curl(url + "/restart", method: "POST", cacert: pki.ca, body: "{}", headers: Self.basic("wrong")).status == 401)
        // With the password the request gets past the auth check to the JSON parser.
        let authed = try curl(url + "/restart", method: "POST", cacert: pki.ca, body: "{", headers: Self.basic(Self.password))
        #expect(authed.exitCode == 0 && authed.status == 400, "\(authed)")
        // pgha's own client (ctl.cacert) reaches the https api_url the member publishes.
        #expect(config.apiURL.hasPrefix("https://"))
        let client = try ControlClient(config: config)
        let answer = try await client.call(Self.member(config), "GET", "/patroni")
        #expect(answer.status == 200)
        var untrusting = config
        untrusting.ctl = ClientTLS(section: "ctl", cacert: pki.crt("ca", ca: "other"))
        untrusting.restTLS?.cafile = nil
        await #expect(throws: ControlError.self) {
            _ = try await ControlClient(config: untrusting).call(Self.member(config), "GET", "/patroni", timeout: 3)
        }
        await client.shutdown()
    }

    @Test func verifyClientRequiredRefusesMissingAndForeignCertificates() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        let config = try Self.config(pki, verify: .required)
        let server = try await Self.serve(config)
        defer { server.cancel() }
        let url = "https://127.0.0.1:\(config.restListen.port)/patroni"
        let none = try curl(url, cacert: pki.ca)
        #expect(none.exitCode != 0 && none.status != 200, "no certificate: \(none)")
        let foreign = try curl(url, cacert: pki.ca, cert: pki.crt("operator-client", ca: "other"), key: pki.key("operator-client", ca: "other"))
        #expect(foreign.exitCode != 0 && foreign.status != 200, "another CA: \(foreign)")
        let good = try curl(url, cacert: pki.ca, cert: pki.crt("operator-client"), key: pki.key("operator-client"))
        #expect(good.status == 200, "\(good)")
        // A certificate is not a password: unsafe methods still need basic auth.
        let noAuth = try curl(url.replacingOccurrences(of: "/patroni", with: "/restart"), method: "POST", cacert: pki.ca,
                              cert: pki.crt("operator-client"), key: pki.key("operator-client"), body: "{}")
        #expect(noAuth.status == 401)
        // Peers and the CLI fall back to restapi.certfile/keyfile as their client certificate (Patroni's rule).
        let client = try ControlClient(config: config)
        #expect(try await client.call(Self.member(config), "GET", "/patroni").status == 200)
        await client.shutdown()
    }

    @Test func verifyClientOptionalChecksOnlyPresentedCertificates() async throws {
        let pki = try TestPKI(); defer { pki.remove() }
        let config = try Self.config(pki, verify: .optional)
        let server = try await Self.serve(config)
        defer { server.cancel() }
        let url = "https://127.0.0.1:\(config.restListen.port)/patroni"
        #expect(try curl(url, cacert: pki.ca).status == 200)
        #expect(try curl(url, cacert: pki.ca, cert: pki.crt("pgha-client"), key: pki.key("pgha-client")).status == 200)
        let foreign = try curl(url, cacert: pki.ca, cert: pki.crt("pgha-client", ca: "other"), key: pki.key("pgha-client", ca: "other"))
        #expect(foreign.exitCode != 0 && foreign.status != 200, "\(foreign)")
    }
}
