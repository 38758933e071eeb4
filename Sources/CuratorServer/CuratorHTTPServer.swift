import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP API: events and products in, explained recommendations out, through the engine.
///
/// Every write is committed to the store before its response is sent, and the in-memory
/// catalogue is updated in the same request, so the next request already sees it. Blocking
/// work (encoding, model swaps) runs on the engine's own lanes, never on the event loops or
/// Swift's cooperative pool, so `/healthz` and recommendations keep answering while a large
/// upsert or a model swap runs. The server holds no store: state is the engine's.
public struct CuratorHTTPServer: Sendable {
    public let engine: RecommendationEngine
    public let configuration: ServerConfiguration
    let logger: Logger
    let metrics = ServerMetrics()
    let storeHealth = StoreHealth()
    let sessions: SessionSigner
    let access: AccessPolicy

    public init(engine: RecommendationEngine, configuration: ServerConfiguration, logger: Logger = Logger(label: "curator")) {
        self.engine = engine
        self.configuration = configuration
        self.logger = logger
        sessions = SessionSigner(secret: configuration.sessionSecret, lifetime: Int64(configuration.sessionLifetimeSeconds))
        access = AccessPolicy(keys: APIKeyTable(configuration.apiKeys), signer: sessions,
                              authenticateReads: configuration.authenticateReads, openShopperReads: configuration.openShopperReads,
                              shopperKey: { [engine] in engine.shopperKey(for: $0) })
    }

    /// The application: the routes, plus the services that run beside them (the model watcher and,
    /// on a shared store, the replica follower, then `services`). On SIGTERM or SIGINT the server
    /// stops taking requests and lets in-flight ones finish, then the services stop in reverse
    /// order. `onListening` gets the bound host and port (useful with port 0).
    public func application(services: [any Service] = [],
                            onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) -> some ApplicationProtocol {
        var background: [any Service] = services
        background.append(ModelWatcher(engine: engine, pollSeconds: configuration.modelPollSeconds, logger: logger))
        background.append(OnlineLogWriter(engine: engine, impressionDays: configuration.impressionDays, logger: logger))
        if engine.followsOtherServers {
            background.append(ReplicaFollower(engine: engine, storeHealth: storeHealth, logger: logger))
        }
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "curator"),
            services: background,
            onServerRunning: { [configuration] channel in
                onListening(configuration.host, channel.localAddress?.port ?? configuration.port)
            },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish and returns.
    public func run(services: [any Service] = [], onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await application(services: services, onListening: onListening).runService()
    }

    /// The routes, one controller per resource, each holding only what it uses.
    func makeRouter() -> Router<CuratorRequestContext> {
        let router = Router(context: CuratorRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: StoreUnavailableMiddleware())
        router.add(middleware: CredentialMiddleware(access: access, maxBodyBytes: configuration.maxBodyBytes))
        router.add(middleware: RateLimitMiddleware(limits: configuration.rateLimits, trustedProxies: configuration.trustedProxies))
        OperationsController(engine: engine, metrics: metrics, storeHealth: storeHealth).addRoutes(to: router)
        StorefrontController(configuration: configuration).addRoutes(to: router)
        let v1 = router.group("v1")
        SessionController(access: access, sessions: sessions).addRoutes(to: v1.group("sessions"))
        EventController(engine: engine, access: access, metrics: metrics).addRoutes(to: v1.group("events"))
        ProductController(engine: engine, access: access, metrics: metrics, defaultDiversity: configuration.defaultDiversity).addRoutes(to: v1.group("products"))
        CategoryController(access: access, engine: engine).addRoutes(to: v1.group("categories"))
        ShopperController(engine: engine, access: access, metrics: metrics, defaultDiversity: configuration.defaultDiversity).addRoutes(to: v1.group("shoppers"))
        RecommendationController(engine: engine, access: access, metrics: metrics, defaultDiversity: configuration.defaultDiversity).addRoutes(to: v1.group("recommendations"))
        ImpressionController(engine: engine, access: access).addRoutes(to: v1.group("impressions"))
        OnlineMetricsController(engine: engine, access: access).addRoutes(to: v1.group("metrics"))
        ExperimentController(engine: engine, access: access).addRoutes(to: v1.group("experiments"))
        RuleController(engine: engine, access: access).addRoutes(to: v1.group("rules"))
        ModelController(engine: engine, access: access, logger: logger).addRoutes(to: v1.group("models"))
        // Last: a middleware wraps only what is added after it, so this one sees just the requests no route took.
        router.add(middleware: UnroutedRequestMiddleware(routes: router.routes.map { ($0.path, $0.method) }))
        return router
    }
}

/// `/healthz`, `/metrics`, `/openapi.yaml`: what operators and load balancers read, never keyed.
struct OperationsController: Sendable {
    let engine: RecommendationEngine
    let metrics: ServerMetrics
    let storeHealth: StoreHealth

    struct Health: ResponseEncodable, Sendable {
        var status = "ok"
        var products: Int
        var model: String
        /// "unavailable" while a shared store cannot be read (this server answers from memory).
        var store: String
        /// "graph", "exact scan", or "compact scan while the graph builds" (slower per request until it is in).
        var search: String
    }

    func addRoutes(to router: Router<CuratorRequestContext>) {
        router.get("healthz") { _, _ in
            Health(products: engine.productCount, model: engine.modelInUse?.name ?? "semantic",
                   store: storeHealth.reachable ? "ok" : "unavailable", search: engine.vectorSearch)
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render(productsIndexed: engine.productCount,
                                                                                      model: engine.modelInUse?.name ?? "semantic",
                                                                                      onlineLog: engine.onlineLogBacklog,
                                                                                      vectorSearches: engine.vectorSearchStatistics))))
        }
        router.get("openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let data = try? Data(contentsOf: url) else { throw APIError.notFound("openapi.yaml is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
