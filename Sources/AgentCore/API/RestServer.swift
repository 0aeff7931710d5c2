// The REST API's server: Patroni's routes and actions over HTTP, or HTTPS when restapi.certfile is set
// (restapi.cafile + verify_client decide whether callers must show a certificate).
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging

public enum RestServer {
    public static func make(config: AgentConfig, snapshot: Locked<AgentSnapshot>, actions: ActionContext,
                            logger: Logger) throws -> Application<RouterResponder<BasicRequestContext>> {
        let router = APIRouter.make(snapshot: snapshot, metrics: AgentMetrics(scope: config.scope, name: config.name),
                                    extend: { ActionRoutes.install($0, actions) })
        var apiLogger = logger
        apiLogger.logLevel = .warning  // HAProxy probes every second; request lines would drown the log
        var server = HTTPServerBuilder.http1()
        if let tls = config.restTLS { server = try .tls(.http1(), tlsConfiguration: try tls.nioConfiguration()) }
        return Application(router: router, server: server,
                           configuration: .init(address: .hostname(config.restListen.host, port: config.restListen.port), serverName: "pgha"),
                           logger: apiLogger)
    }
}
