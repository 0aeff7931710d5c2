// A throw-away single-member etcd on 127.0.0.1 free ports with a temp data dir; optionally https
// with client-certificate auth (the cluster's setting) and a short auth-token TTL.
import Foundation

public final class EtcdServer {
    /// https on the client and peer URLs: etcd's own certificate and the CA that signs its clients.
    public struct TLS {
        public var certFile: String
        public var keyFile: String
        public var trustedCAFile: String
        /// --client-cert-auth: a client without a certificate from trustedCAFile is refused.
        public var clientCertAuth = true
        public init(certFile: String, keyFile: String, trustedCAFile: String, clientCertAuth: Bool = true) {
            self.certFile = certFile; self.keyFile = keyFile; self.trustedCAFile = trustedCAFile; self.clientCertAuth = clientCertAuth
        }
    }

    public let clientPort: Int
    public let peerPort: Int
    public let dir: String
    public let daemon: Daemon
    public let tls: TLS?
    public var endpoint: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(clientPort)" }

    /// Starts etcd and waits (bounded) until it answers on its client port. `authTokenTTL` (seconds)
    /// shortens simple-token expiry so a test can see a client authenticate again.
    public init(binary: String = "/usr/bin/etcd", tls: TLS? = nil, authTokenTTL: Int? = nil) throws {
        dir = try makeTempDir("pgha-etcd")
        clientPort = try freePort()
        peerPort = try freePort()
        self.tls = tls
        let scheme = tls == nil ? "http" : "https"
        let peer = "\(scheme)://127.0.0.1:\(peerPort)", client = "\(scheme)://127.0.0.1:\(clientPort)"
        var arguments = [
            "--name", "t", "--data-dir", dir + "/data",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=\(peer)",
            "--log-level", "warn",
        ]
        if let tls {
            arguments += ["--cert-file", tls.certFile, "--key-file", tls.keyFile, "--trusted-ca-file", tls.trustedCAFile,
                          "--peer-cert-file", tls.certFile, "--peer-key-file", tls.keyFile, "--peer-trusted-ca-file", tls.trustedCAFile,
                          "--peer-client-cert-auth"]
            if tls.clientCertAuth { arguments.append("--client-cert-auth") }
        }
        if let authTokenTTL { arguments += ["--auth-token-ttl", String(authTokenTTL)] }
        daemon = try Daemon(name: "etcd", executable: binary, arguments: arguments, logPath: dir + "/etcd.log")
        // Ready means our own process answers /health with a leader elected: the port alone opens
        // before that, and a lease granted before the election settles can vanish. Over https etcd's
        // own certificate (server+client usage) serves as the client certificate for the probe.
        guard waitUntil(timeout: 30, interval: 0.1, { [clientPort, daemon, client] in
            guard daemon.isRunning else { return false }
            guard let tls else { return httpGet(port: clientPort, path: "/health")?.body.contains("\"health\":\"true\"") ?? false }
            guard portAccepts(clientPort) else { return false }
            let answer = try? curl(client + "/health", cacert: tls.trustedCAFile, cert: tls.certFile, key: tls.keyFile, timeout: 2)
            return answer?.body.contains("\"health\":\"true\"") ?? false
        }) else {
            daemon.stop()
            throw FixtureError("etcd was not healthy on \(clientPort) within 30 s:\n\(daemon.logTail())")
        }
    }

    public func stop() {
        daemon.stop()
        removeTree(dir)
    }

    deinit { stop() }
}
