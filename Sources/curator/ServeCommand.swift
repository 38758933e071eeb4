import ArgumentParser
import CuratorCore
import CuratorEngine
import CuratorServer
import Foundation
import Linear
import ServiceLifecycle
import Storage
import TextModels

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (recommendations with reasons, events, products) on the store.",
        discussion: """
            Writes need an API key (Authorization: Bearer KEY) when keys are configured: CURATOR_API_KEYS \
            or --api-keys FILE, entries "KEY" (everything) or "KEY:events" (record events and read, for any shopper), \
            separated by commas or new lines. Browsers get no key: POST /v1/sessions gives them a short-lived token \
            signed with CURATOR_SESSION_SECRET (or --session-secret-file) that records events and reads \
            recommendations for one shopper. Shopper data (GET /v1/shoppers…) needs a key or that shopper's token \
            unless --open-shopper-reads. SIGTERM or Ctrl-C lets in-flight requests finish, then exits.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: the one the store was embedded with, else $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Option(help: "File with API keys, one per line.") var apiKeys: String?
    @Flag(help: "Catalogue reads need an API key or a session token too.") var authReads = false
    @Flag(help: "Anyone may list shoppers and read any shopper's history and recommendations (a local demo only).")
    var openShopperReads = false
    @Option(help: "File holding the secret that signs session tokens, at least 32 characters (default: $CURATOR_SESSION_SECRET, else one made up per process).")
    var sessionSecretFile: String?
    @Option(help: "Seconds a session token is valid after it is issued or renewed (1 to 86400).")
    var sessionTTL = 1800
    @Option(help: "Recommendations read at most this many of a shopper's newest events.")
    var historyLimit = RecommendationEngine.defaultHistoryLimit
    @Option(help: "On a PostgreSQL store: megabytes of memory for shoppers' newest events, kept current by this replica's writes and the change log (0: read them from the store for every recommendation).")
    var historyCacheMb = RecommendationEngine.defaultHistoryCacheBytes >> 20
    @Option(help: "Largest request body in bytes; larger ones get 413.") var maxBodyBytes = 8 << 20
    @Option(help: ArgumentHelp("An event without a recommendation_id is credited to the newest list that showed its product to its shopper within this long before it: 24h, 90m, 3600s, or hours.", valueName: "duration"))
    var attributionWindow = "24h"
    @Option(help: "Days served lists, seen reports and attributions are kept before they are pruned.") var impressionDays = 90
    @Flag(help: "Log no served lists, seen reports or attributions (lists keep their ids; the online report and experiments then see nothing).")
    var noOnlineLog = false
    @Option(help: "Sessions created per minute per client address without a key (0: no limit).") var rateSessions = RateLimits().sessionsPerMinute
    @Option(help: "Event batches per minute per session token, or per client address without a credential (0: no limit).")
    var rateEvents = RateLimits().eventsPerMinute
    @Option(help: "Event batches per minute per key scope (admin, events) (0: no limit).") var rateKeyEvents = RateLimits().keyEventsPerMinute
    @Option(help: "Recommendations for a sent history and searches per minute per client address without a key (0: no limit).")
    var rateAnonymous = RateLimits().anonymousPerMinute
    @Flag(help: "No rate limits at all (benchmarks that drive the server from one address).") var noRateLimits = false
    @Option(help: "Lists' diversity when a request does not set it: 0 (the scores' order) to 1 (variety first); README, \"Diverse lists\".")
    var diversity: Float = ServerConfiguration.standardDiversity
    @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp("A proxy's address whose X-Forwarded-For names the client (repeat for several); without it the header is ignored.", valueName: "address"))
    var trustedProxies: [String] = []
    @Option(help: "Catalogues of at least this many products are searched through an HNSW graph (saved as STORE.hnsw).")
    var hnswThreshold = 50_000
    @Option(help: ArgumentHelp("Where the HNSW graph is saved on a clean stop and loaded (then brought up to date with the store) on start, with the catalogue's vectors beside it (FILE.vectors) and, after a clean stop, what the catalogue held (FILE.catalogue), so that the next start reads only what changed (default: STORE.hnsw beside a SQLite file; none for PostgreSQL, where each replica builds it at start unless given one of its own).", valueName: "file"))
    var indexFile: String?
    @Option(help: "Seconds between checks for a newly trained model (0: only on POST /v1/models/reload).")
    var modelPoll: Double = 10

    func validate() throws {
        guard (1...86_400).contains(sessionTTL) else { throw ValidationError("--session-ttl must be 1 to 86400 seconds") }
        guard historyLimit > 0 else { throw ValidationError("--history-limit must be at least 1") }
        guard historyCacheMb >= 0 else { throw ValidationError("--history-cache-mb cannot be negative") }
        guard let window = Self.durationMillis(attributionWindow), window > 0 else {
            throw ValidationError("--attribution-window: '\(attributionWindow)' is not a positive duration of at most ten years like 24h, 90m or 3600s")
        }
        guard impressionDays >= 1 else { throw ValidationError("--impression-days must be at least 1") }
        guard (0...1).contains(diversity) else { throw ValidationError("--diversity must be from 0 to 1") }
        for (name, value) in [("--rate-sessions", rateSessions), ("--rate-events", rateEvents), ("--rate-key-events", rateKeyEvents),
                              ("--rate-anonymous", rateAnonymous)] where value < 0 {
            throw ValidationError("\(name) cannot be negative (0 turns the limit off)")
        }
    }

    func run() async throws {
        let server: CuratorHTTPServer
        let openedStore: any CuratorStoring
        do {
            let sessionSecret = try loadSessionSecret()
            var keys: [String: ServerConfiguration.Scope] = [:]
            if let env = ProcessInfo.processInfo.environment["CURATOR_API_KEYS"], !env.isEmpty {
                keys.merge(try ServerConfiguration.parseKeys(env, source: "CURATOR_API_KEYS")) { $1 }
            }
            if let apiKeys {
                guard let text = try? String(contentsOfFile: apiKeys, encoding: .utf8) else {
                    throw CuratorError.configuration("cannot read the API keys file \(apiKeys)")
                }
                keys.merge(try ServerConfiguration.parseKeys(text, source: apiKeys)) { $1 }
            }
            let curatorStore = try await store.open()
            let embedding = try await CatalogueEmbedding.open(store: curatorStore, model: model)
            // The vectors read from the store are let go once the catalogue holds them (for a large
            // catalogue, in a mapped file), not kept for the life of the server.
            var engine = try await RecommendationEngine.start(store: curatorStore, embedding: embedding,
                                                              indexOptions: .init(threshold: hnswThreshold, path: indexPath(curatorStore), buildsInBackground: true),
                                                              historyLimit: historyLimit, historyCacheBytes: historyCacheMb << 20,
                                                              progress: ProgressLine(label: "embedding").callback)
            engine.attributionWindowMillis = Self.durationMillis(attributionWindow) ?? RecommendationEngine.defaultAttributionWindowMillis
            engine.logsOnline = !noOnlineLog
            printErr("curator: vector search: \(engine.indexOrigin)")
            if engine.vectorSearch == LiveCatalogue.scanWhileBuilding {
                Task { [engine] in
                    await engine.waitForGraph()
                    printErr("curator: vector search: \(engine.indexOrigin)")
                }
            }
            if let model = try await ServingModel.latest(in: curatorStore) {
                printErr("curator: loading \(model.name) v\(model.version) beside the running server (semantic scoring until it is in; newer versions are swapped in as they are trained)")
            } else {
                printErr("curator: scoring with the language-model vectors (semantic); a model trained with curator train is picked up while serving")
            }
            if keys.isEmpty {
                printErr("curator: warning: no API keys configured (CURATOR_API_KEYS or --api-keys): anyone who can reach the port may write")
            }
            if openShopperReads {
                printErr("curator: warning: --open-shopper-reads: anyone who can reach the port may list shoppers and read their histories")
            }
            if sessionSecret.generated {
                printErr("curator: warning: no session secret configured (CURATOR_SESSION_SECRET or --session-secret-file): using one made up for this process, so session tokens die with it and other replicas refuse them")
            }
            // Requests run side by side on the event loops; a multi-threaded BLAS call inside each would
            // make the threads fight over the same cores.
            BLAS.threads = 1
            openedStore = curatorStore
            server = CuratorHTTPServer(
                engine: engine,
                configuration: ServerConfiguration(host: host, port: port, apiKeys: keys, authenticateReads: authReads,
                                                   openShopperReads: openShopperReads, maxBodyBytes: maxBodyBytes,
                                                   modelPollSeconds: modelPoll, sessionSecret: sessionSecret,
                                                   sessionLifetimeSeconds: sessionTTL, impressionDays: impressionDays,
                                                   rateLimits: noRateLimits ? .none : RateLimits(sessionsPerMinute: rateSessions, eventsPerMinute: rateEvents,
                                                                                                  keyEventsPerMinute: rateKeyEvents,
                                                                                                  anonymousPerMinute: rateAnonymous),
                                                   trustedProxies: Set(trustedProxies), defaultDiversity: diversity))
        } catch {
            throw fail(error)
        }
        let count = server.engine.productCount
        // First in, so stopped last: the store is closed after the server and the followers.
        try await server.run(services: [StoreLifetime(store: openedStore)]) { host, port in
            FileHandle.standardOutput.write(Data("curator: serving \(count) products on http://\(host):\(port)\n".utf8))
        }
        // Saved on a clean stop so the next start only reconciles; after a crash it is rebuilt or reconciled.
        if let path = indexPath(openedStore) { try? await server.engine.saveIndex(to: path) }
        print("curator: stopped")
    }

    /// The graph file: `--index-file`, else beside a SQLite store.
    func indexPath(_ store: any CuratorStoring) -> String? {
        indexFile ?? store.sideFilePath.map { $0 + ".hnsw" }
    }

    /// The file wins over the environment; with neither, a random secret for this process.
    func loadSessionSecret() throws -> SessionSecret {
        if let sessionSecretFile {
            guard let text = try? String(contentsOfFile: sessionSecretFile, encoding: .utf8) else {
                throw CuratorError.configuration("cannot read the session secret file \(sessionSecretFile)")
            }
            return try SessionSecret(text, source: sessionSecretFile)
        }
        if let env = ProcessInfo.processInfo.environment["CURATOR_SESSION_SECRET"], !env.isEmpty {
            return try SessionSecret(env, source: "CURATOR_SESSION_SECRET")
        }
        return .random()
    }
}

/// The store's lifetime as a service of the application: it ends (closing a PostgreSQL store's
/// connection pool and listener) after every service added after it has stopped.
struct StoreLifetime: Service {
    let store: any CuratorStoring

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
    }
}

extension ServeCommand {
    /// "24h", "90m", "3600s", or a number of hours, in milliseconds.
    static func durationMillis(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, millis: Double)] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        // At most ten years: beyond that a window means nothing, and a huge number would not fit.
        func millis(_ value: Double?, _ unit: Double) -> Int64? {
            guard let value, value.isFinite, value * unit < 10 * 365 * 86_400_000 else { return nil }
            return Int64((value * unit).rounded())
        }
        for unit in units where trimmed.hasSuffix(unit.suffix) { return millis(Double(trimmed.dropLast()), unit.millis) }
        return millis(Double(trimmed), 3_600_000)
    }
}
