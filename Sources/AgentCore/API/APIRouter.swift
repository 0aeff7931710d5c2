// The REST API: Patroni's paths on a Hummingbird router that later work extends with more routes.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Prometheus

public enum APIRouter {
    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func query(_ request: Request) -> [String: String] {
        var q: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { q[String(k)] = String(v) }
        return q
    }

    /// Builds the router with every read-only route; `extend` adds more (actions such as switchover).
    public static func make(snapshot: Locked<AgentSnapshot>, metrics: AgentMetrics,
                            extend: (Router<BasicRequestContext>) -> Void = { _ in }) -> Router<BasicRequestContext> {
        let router = Router()
        for path in HealthChecks.paths {
            let routePath = RouterPath(path)
            router.get(routePath) { request, _ -> Response in
                let s = snapshot.get()
                let code = HealthChecks.status(path: path, query: query(request), snapshot: s)
                return json(.init(code: code), StatusJSON.encode(StatusJSON.patroni(s)))
            }
            router.head(routePath) { request, _ -> Response in
                Response(status: .init(code: HealthChecks.status(path: path, query: query(request), snapshot: snapshot.get())))
            }
            router.on(routePath, method: .options) { request, _ -> Response in
                Response(status: .init(code: HealthChecks.status(path: path, query: query(request), snapshot: snapshot.get())))
            }
        }
        router.get("/patroni") { _, _ in json(.ok, StatusJSON.encode(StatusJSON.patroni(snapshot.get()))) }
        router.get("/cluster") { _, _ in json(.ok, StatusJSON.encode(StatusJSON.cluster(snapshot.get()))) }
        router.get("/history") { _, _ in json(.ok, StatusJSON.encode(StatusJSON.history(snapshot.get()))) }
        router.get("/config") { _, _ in json(.ok, StatusJSON.config(snapshot.get())) }
        router.get("/metrics") { _, _ -> Response in
            let text = metrics.render(snapshot.get())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        extend(router)
        return router
    }
}

/// Prometheus gauges, refreshed from the snapshot at scrape time (Patroni's metric names).
public final class AgentMetrics: @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    let running, primary, replica, xlog, timeline, unlocked, dcsSeen, failovers: Gauge

    public init(scope: String, name: String) {
        let labels = [("scope", scope), ("name", name)]
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        // Patroni's names carry no unit suffix: the unit is left empty, so the name stays as given.
        func gauge(_ metric: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: metric, unitName: "", helpText: help), labels: labels)
        }
        running = gauge("patroni_postgres_running", "1 if Postgres is running")
        primary = gauge("patroni_primary", "1 if this member is the leader with a running primary")
        replica = gauge("patroni_replica", "1 if this member is a running replica")
        xlog = gauge("patroni_xlog_location", "WAL position (bytes)")
        timeline = gauge("patroni_postgres_timeline", "Postgres timeline")
        unlocked = gauge("patroni_cluster_unlocked", "1 if nobody holds the leader key")
        dcsSeen = gauge("patroni_dcs_last_seen", "Unix time of the last etcd contact")
        failovers = gauge("pgha_promotions_total", "Promotions done by this agent since start")
    }

    public func render(_ s: AgentSnapshot) -> String {
        running.set(Double(s.local.run == .running ? 1 : 0))
        primary.set(Double(s.local.isPrimary && s.holdsLeader ? 1 : 0))
        replica.set(Double(s.local.isReplica ? 1 : 0))
        xlog.set(Double(s.local.lsn))
        timeline.set(Double(s.local.timeline))
        unlocked.set(Double(s.cluster?.leader == nil ? 1 : 0))
        dcsSeen.set(Double(s.lastEtcdContact.map { $0.timeIntervalSince1970.rounded() } ?? 0.0))
        failovers.set(Double(s.failovers))
        return registry.emitToString()
    }
}
