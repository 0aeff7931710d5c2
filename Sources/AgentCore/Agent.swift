// The pgha agent: a ServiceGroup of [DCS watch, HA loop, HTTP API]; SIGTERM shuts down in reverse.
// Config/ (patroni.yml subset), DCS/ (etcd v3), Postgres/, HA/ (the pure decision), API/ (REST), Control/ (CLI ops).
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

public enum Agent {
    /// An agent needs few threads and little heap: one NIO event loop and one blocking-pool thread
    /// for the REST API, etcd and peer requests together (NIO's default: one of each per core), and
    /// at most two glibc malloc arenas (default: eight per core, each keeping freed memory). Call it
    /// first, before anything touches NIO. docs/benchmarks.md has the figures.
    public static func useFewThreads() {
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
        // mallopt is in malloc.h, which Swift's Glibc module leaves out: looked up like prctl (Reaper).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let M_ARENA_MAX: Int32 = -8
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") { _ = unsafeBitCast(sym, to: Mallopt.self)(M_ARENA_MAX, 2) }
    }

    /// Runs until SIGTERM / SIGINT.
    public static func serve(_ config: AgentConfig, logger: Logger) async throws {
        let etcd = try EtcdClient(config: config, requestTimeout: config.timing.retryTimeout)
        if !config.restClientTLS.isEmpty { _ = try EtcdClient.sharedHTTP(tls: config.restClientTLS) }  // bad ctl files: fail at start
        let store = ClusterStore(config: config, etcd: etcd)
        let postgres = PostgresControl(config: config)
        let snapshot = Locked(AgentSnapshot(config: config))
        let wakeup = Wakeup()
        let loop = HALoop(config: config, store: store, postgres: postgres, snapshot: snapshot, wakeup: wakeup, logger: logger)
        // failover and config too: a switchover request or config change is acted on at once.
        let watch = LeaderWatch(store: store, wakeup: wakeup, logger: logger, watchedKeys: ["leader", "failover", "config"])
        let actions = ActionContext(config: config, store: store, snapshot: snapshot, requests: loop.requests, wakeup: wakeup,
                                    liveLag: { [postgres] in await postgres.replicationLag(of: $0) })
        let app = try RestServer.make(config: config, snapshot: snapshot, actions: actions, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: watch), .init(service: loop), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        // SIGHUP (systemd's ExecReload) would otherwise end the process: note it and run a loop now.
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP)
        hup.setEventHandler {
            logger.info("SIGHUP: pgha re-reads its configuration file only on restart; Postgres settings are re-applied with POST /reload")
            wakeup.signal()
        }
        hup.resume()
        defer { hup.cancel() }
        logger.info("pgha \(pghaVersion) starting: member \(config.name) of \(config.scope), etcd \(config.etcdEndpoints.joined(separator: ",")), REST \(config.restTLS == nil ? "http" : "https")://\(config.restListen)")
        try await group.run()
    }
}
