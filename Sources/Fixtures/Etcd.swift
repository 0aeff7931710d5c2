// A throw-away single-member etcd on 127.0.0.1 free ports with a temp data dir.
import Foundation

public final class EtcdServer {
    public let clientPort: Int
    public let peerPort: Int
    public let dir: String
    public let daemon: Daemon
    public var endpoint: String { "http://127.0.0.1:\(clientPort)" }

    /// Starts etcd and waits (bounded) until it answers on its client port.
    public init(binary: String = "/usr/bin/etcd") throws {
        dir = try makeTempDir("pgha-etcd")
        clientPort = try freePort()
        peerPort = try freePort()
        let peer = "http://127.0.0.1:\(peerPort)"
        daemon = try Daemon(name: "etcd", executable: binary, arguments: [
            "--name", "t", "--data-dir", dir + "/data",
            "--listen-client-urls", "http://127.0.0.1:\(clientPort)", "--advertise-client-urls", "http://127.0.0.1:\(clientPort)",
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=\(peer)",
            "--log-level", "warn",
        ], logPath: dir + "/etcd.log")
        // Ready means our own process answers /health with a leader elected: the port alone opens
        // before that, and a lease granted before the election settles can vanish.
        guard waitUntil(timeout: 30, interval: 0.1, { [clientPort, daemon] in
            daemon.isRunning && (httpGet(port: clientPort, path: "/health")?.body.contains("\"health\":\"true\"") ?? false)
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
