// The pgha agent: a ServiceGroup of [DCS watch, HA loop, HTTP API]; SIGTERM shuts down in reverse.
// Config/ (patroni.yml subset), DCS/ (etcd v3), Postgres/, HA/ (the pure decision), API/ (REST), Control/ (CLI ops).
import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
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
    /// `configPath`: the file SIGHUP re-reads (nil: SIGHUP only wakes the loop).
    public static func serve(_ config: AgentConfig, configPath: String? = nil, logger: Logger) async throws {
        let etcd = try EtcdClient(config: config, requestTimeout: config.timing.retryTimeout)
        if !config.restClientTLS.isEmpty { _ = try EtcdClient.sharedHTTP(tls: config.restClientTLS) }  // bad ctl files: fail at start
        let store = ClusterStore(config: config, etcd: etcd)
        let callbacks = config.postgres.callbacks.isEmpty ? nil : CallbackRunner(scripts: config.postgres.callbacks, scope: config.scope, logger: logger)
        let postgres = PostgresControl(config: config, callbacks: callbacks, warn: { logger.warning("\($0)") })
        if await ServerParameters.load(binDir: config.postgres.binDir) == nil {
            logger.warning("cannot ask \(config.postgres.binDir)/postgres which parameters it knows (--describe-config): parameters are written as given")
        }
        try await refuseDuplicateName(config, store: store)
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
            defer { wakeup.signal() }
            guard let configPath else { return }
            // Patroni re-reads its file on SIGHUP; pgha takes what it can apply to a running Postgres.
            do {
                let loaded = try ConfigLoader.load(path: configPath)
                for w in loaded.warnings { logger.warning("\(w)") }
                let changed = postgres.reloadLocal(from: loaded.config.postgres)
                var rest = loaded.config.postgres
                rest.parameters = config.postgres.parameters; rest.pgHBA = config.postgres.pgHBA; rest.pgIdent = config.postgres.pgIdent
                logger.info("SIGHUP: re-read \(configPath): \(changed.isEmpty ? "no local parameters, pg_hba or pg_ident changed" : changed.joined(separator: ", ") + " applied")")
                if rest != config.postgres { logger.warning("SIGHUP: other postgresql.* changes in \(configPath) take effect when pgha restarts") }
            } catch {
                logger.warning("SIGHUP: \(error); nothing changed")
            }
        }
        hup.resume()
        defer { hup.cancel() }
        logger.info("pgha \(pghaVersion) starting: member \(config.name) of \(config.scope), etcd \(config.etcdEndpoints.joined(separator: ",")), REST \(config.restTLS == nil ? "http" : "https")://\(config.restListen)")
        try await group.run()
        await callbacks?.drain(within: 10)  // on_stop of the shutdown
    }

    /// Patroni's start-up check: a `members/<name>` whose agent answers GET /liveness means another
    /// agent runs under this name, and two would fight over one leader key. A member key left by an
    /// agent that died (its lease not yet lapsed) answers nothing and is no reason to refuse.
    static func refuseDuplicateName(_ config: AgentConfig, store: ClusterStore) async throws {
        guard let view = try? await store.load(timeout: config.timing.retryTimeout), let m = view.member(config.name),
              !m.apiURL.isEmpty else { return }
        let url = (m.apiURL.hasSuffix("/patroni") ? String(m.apiURL.dropLast("/patroni".count)) : m.apiURL) + "/liveness"
        let client = (try? EtcdClient.sharedHTTP(tls: config.restClientTLS.isEmpty ? nil : config.restClientTLS)) ?? EtcdClient.sharedHTTP
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3)), response.status == .ok else { return }
        throw DuplicateMemberName(name: config.name, apiURL: m.apiURL)
    }
}

/// Another agent already runs under this member name (Patroni's wording).
public struct DuplicateMemberName: Error, CustomStringConvertible, Sendable {
    public var name: String
    public var apiURL: String
    public var description: String { "Can't start; there is already a node named '\(name)' running (\(apiURL) answers /liveness)" }
}
