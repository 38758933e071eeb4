import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import Storage
import Synchronization

/// The HTTP API: events and products in, explained recommendations out, on a store.
///
/// Every write is committed to the store before its response is sent, and the in-memory
/// catalogue is updated in the same request, so the next request already sees it. Blocking
/// work (encoding, model swaps) runs on the server's own lanes (`BlockingWork`),
/// never on the event loops or Swift's cooperative pool, so `/healthz` and recommendations keep
/// answering while a large upsert or a model swap runs.
public struct CuratorHTTPServer: Sendable {
    public let store: any CuratorStoring
    public let embedding: CatalogueEmbedding
    public let engine: RecommendationEngine
    public let configuration: ServerConfiguration
    let metrics = ServerMetrics()
    let work = BlockingWork()
    let storeHealth = StoreHealth()
    let sessions: SessionSigner
    let access: AccessPolicy

    public init(store: any CuratorStoring, embedding: CatalogueEmbedding, engine: RecommendationEngine, configuration: ServerConfiguration) {
        self.store = store
        var embedding = embedding
        embedding.lane = work.encoder
        self.embedding = embedding
        self.engine = engine
        self.configuration = configuration
        sessions = SessionSigner(secret: configuration.sessionSecret, lifetime: Int64(configuration.sessionLifetimeSeconds))
        access = AccessPolicy(keys: APIKeyTable(configuration.apiKeys), signer: sessions,
                              authenticateReads: configuration.authenticateReads, openShopperReads: configuration.openShopperReads,
                              shopperKey: { [store] in store.shopperKey(for: $0) })
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish and returns.
    /// `onListening` gets the bound host and port (useful with port 0).
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "curator"),
            onServerRunning: { channel in
                onListening(configuration.host, channel.localAddress?.port ?? configuration.port)
            })
        // The newest trained model is loaded beside the running server (semantic scoring answers
        // meanwhile, and says so in `model`), then looked for again every modelPollSeconds.
        let watcher = Task.detached { [self] in
            while !Task.isCancelled {
                do { try await reloadModel() } catch {
                    FileHandle.standardError.write(Data("curator: could not load the newest model: \(error)\n".utf8))
                }
                guard configuration.modelPollSeconds > 0 else { break }
                try? await Task.sleep(for: .seconds(configuration.modelPollSeconds))
            }
        }
        defer { watcher.cancel() }
        let follower = store.isShared ? followOtherServers() : nil
        defer { follower?.cancel() }
        try await app.runService()
    }

    /// On a shared store: applies what the other servers commit (`StoreFollower`), woken by the
    /// store's notifications and, as a safety net, every second. While the store cannot be read
    /// this server answers from memory and says so once; it catches up when the store is back.
    private func followOtherServers() -> Task<Void, Never> {
        let bell = Doorbell()
        let storeHealth = storeHealth
        let follower = StoreFollower(engine: engine, embedding: embedding, modelSaved: { [self] in
            Task { try? await reloadModel() }
        })
        store.notifyOnChanges { bell.ring() }
        return Task.detached {
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    bell.ring()
                }
            }
            defer { ticker.cancel() }
            var failing = false
            while !Task.isCancelled {
                do {
                    try await follower.catchUp()
                    if failing { FileHandle.standardError.write(Data("curator: following the store again\n".utf8)) }
                    failing = false
                } catch {
                    if !failing { FileHandle.standardError.write(Data("curator: cannot follow the store's changes: \(error)\n".utf8)) }
                    failing = true
                }
                storeHealth.reachable = !failing
                await bell.wait()
            }
        }
    }

    /// The routes, one group per resource.
    func makeRouter() -> Router<CuratorRequestContext> {
        let router = Router(context: CuratorRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: StoreUnavailableMiddleware())
        router.add(middleware: CredentialMiddleware(access: access, maxBodyBytes: configuration.maxBodyBytes))
        addOperationsRoutes(to: router)
        addStorefrontRoutes(to: router)
        let v1 = router.group("v1")
        addSessionRoutes(to: v1.group("sessions"))
        addEventRoutes(to: v1.group("events"))
        addProductRoutes(to: v1.group("products"))
        addCategoryRoutes(to: v1.group("categories"))
        addShopperRoutes(to: v1.group("shoppers"))
        addRecommendationRoutes(to: v1.group("recommendations"))
        addModelRoutes(to: v1.group("models"))
        // Last: a middleware wraps only what is added after it, so this one sees just the requests no route took.
        router.add(middleware: UnroutedRequestMiddleware(routes: router.routes.map { ($0.path, $0.method) }))
        return router
    }

    /// Swaps in the newest trained model if it is not the one in use; the swap (seconds on a
    /// large catalogue) runs on `work.models`.
    func reloadModel() async throws {
        let before = engine.catalogue.servingModel.map { "\($0.name) v\($0.version)" }
        if let newer = try await engine.newerModel() {
            _ = try await work.models.run { [engine] in try engine.install(newer) }
        }
        let after = engine.catalogue.servingModel.map { "\($0.name) v\($0.version)" }
        if before != after { FileHandle.standardError.write(Data("curator: now serving \(after ?? "semantic")\n".utf8)) }
    }
}

/// `/healthz`, `/metrics`, `/openapi.yaml`: what operators and load balancers read, never keyed.
extension CuratorHTTPServer {
    struct Health: ResponseEncodable, Sendable {
        var status = "ok"
        var products: Int
        var model: String
        /// "unavailable" while a shared store cannot be read (this server answers from memory).
        var store: String
    }

    func addOperationsRoutes(to router: Router<CuratorRequestContext>) {
        router.get("healthz") { _, _ in
            Health(products: engine.catalogue.count, model: engine.catalogue.servingModel?.name ?? "semantic",
                   store: storeHealth.reachable ? "ok" : "unavailable")
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render(productsIndexed: engine.catalogue.count,
                                                                                      model: engine.catalogue.servingModel?.name ?? "semantic"))))
        }
        router.get("openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let data = try? Data(contentsOf: url) else { throw APIError.notFound("openapi.yaml is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}

/// Whether the store answered the last time this server followed it (always, for SQLite).
final class StoreHealth: Sendable {
    private let state = Mutex(true)
    var reachable: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
