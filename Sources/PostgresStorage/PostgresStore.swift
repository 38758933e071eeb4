import CuratorCore
import Foundation
import PostgresNIO
import Storage
import Synchronization

/// A store in a PostgreSQL database: what several `curator serve` replicas share. Same rules and
/// answers as the SQLite store (each part is tested against it), through a pool of connections.
///
/// Open it with `open(_:secret:)`, which checks the server (one clear error line for a wrong URL,
/// password or database, or an unreachable host), applies missing migrations and settles the
/// pseudonym secret before the pool starts.
public final class PostgresStore: CuratorStoring {
    public let location: PostgresLocation
    public let pseudonymizer: ShopperPseudonymizer
    public let pseudonymSecretIsExternal: Bool
    public let pseudonymSecretFingerprint: String
    /// Marks this process's entries in the change log.
    public let origin = UUID().uuidString
    let client: PostgresClient
    let logger: Logger
    private let pool: Task<Void, Never>
    /// The LISTEN connection's task, once `notifyOnChanges` started it.
    private let listener = Mutex<Task<Void, Never>?>(nil)
    /// While the server is known to be unreachable: calls fail at once, but one call a second
    /// tries again (and the listener's reconnect ends the outage as soon as the server is back).
    private let outage = Mutex<Outage?>(nil)
    struct Outage {
        var reason: String
        var nextTry: ContinuousClock.Instant
    }
    static let retryInterval = Duration.seconds(1)

    public var name: String { location.description }
    /// A database has no folder beside it: files such as the vector graph are not kept.
    public var sideFilePath: String? { nil }

    /// Connects, migrates and opens the pool.
    public static func open(_ location: PostgresLocation, secret: PseudonymSecretSource = .environment,
                            connectTimeout: Duration = .seconds(10)) async throws -> PostgresStore {
        // Failures reach the caller as errors, each mapped to one clear line; the driver's own
        // notes (a query queued while the pool starts) are noise on a command's output.
        var logger = Logger(label: "curator.postgres")
        logger.logLevel = .error
        let connection = try await PostgresProbe.connect(to: location, timeout: connectTimeout, logger: logger)
        let opened: PseudonymSecret
        let external: PseudonymSecret?
        do {
            if let schema = location.schema {
                // A plain identifier (checked when the URL was read), so it may be spliced.
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            }
            try await PostgresSchema.migrate(connection, logger: logger)
            external = try secret.resolve()
            opened = try await openSecret(on: connection, external: external, store: location.description, logger: logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            let error = PostgresProbe.unwrapped(error)
            if error is CuratorError || error is PseudonymSecretError { throw error }
            throw CuratorError.storage("\(location): \(PostgresProbe.serverMessage(error))")
        }
        return PostgresStore(location: location, secret: opened, external: external != nil, connectTimeout: connectTimeout, logger: logger)
    }

    private init(location: PostgresLocation, secret: PseudonymSecret, external: Bool, connectTimeout: Duration, logger: Logger) {
        self.location = location
        self.logger = logger
        pseudonymizer = ShopperPseudonymizer(secret: secret)
        pseudonymSecretIsExternal = external
        pseudonymSecretFingerprint = secret.fingerprint
        let client = PostgresClient(configuration: PostgresProbe.clientConfiguration(for: location, timeout: connectTimeout),
                                    backgroundLogger: logger)
        self.client = client
        pool = Task { await client.run() }
    }

    deinit {
        pool.cancel()
        listener.withLock { $0?.cancel() }
    }

    /// Closes the pool's connections and stops listening (also done when the store is released).
    public func close() {
        pool.cancel()
        listener.withLock { $0?.cancel() }
    }

    /// A fixed key for the advisory lock around settling the secret: "pseudony" in ASCII.
    static let secretLock: Int64 = 0x70_73_65_75_64_6F_6E_79

    /// The secret decided by the rules both stores share (`StoredPseudonymSecret.decide`), under a
    /// lock, so replicas opening a new store at once agree on one.
    private static func openSecret(on connection: PostgresConnection, external: PseudonymSecret?, store: String,
                                   logger: Logger) async throws -> PseudonymSecret {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(secretLock))", logger: logger)
            var stored: [UInt8]?
            var fingerprint: String?
            for try await (key, value) in try await connection.query(
                "SELECT key, value FROM store_meta WHERE key IN (\(StoredPseudonymSecret.secretKey), \(StoredPseudonymSecret.fingerprintKey))",
                logger: logger
            ).decode((String, ByteBuffer).self) {
                if key == StoredPseudonymSecret.secretKey { stored = Array(buffer: value) } else { fingerprint = String(buffer: value) }
            }
            var hasShoppers = false
            for try await _ in try await connection.query("SELECT 1 FROM shoppers LIMIT 1", logger: logger) { hasShoppers = true }
            switch try StoredPseudonymSecret.decide(storedSecret: stored, fingerprint: fingerprint, hasShoppers: hasShoppers,
                                                    external: external, store: store) {
            case .use(let secret):
                return secret
            case .keepFingerprint(let secret):
                try await setMeta(StoredPseudonymSecret.fingerprintKey, Array(secret.fingerprint.utf8), on: connection, logger: logger)
                return secret
            case .keepSecret(let secret):
                try await setMeta(StoredPseudonymSecret.secretKey, secret.bytes, on: connection, logger: logger)
                return secret
            }
        }
    }

    private static func setMeta(_ key: String, _ value: [UInt8], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO store_meta(key, value) VALUES (\(key), \(ByteBuffer(bytes: value)))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, logger: logger)
    }

    // MARK: - Running statements

    /// How long a call that serves a request may wait for the store, queueing for a connection
    /// included: postgres-nio's pool waits (up to a minute) for a server that is down, and a
    /// request must get its 503 rather than hang.
    static let requestDeadline = Duration.seconds(3)

    /// `body` on a pooled connection, within `deadline` (nil: none, for bulk work). A lost or
    /// refused connection, or no answer in time, is `StoreUnavailable`; any other failure one
    /// message naming what was being done.
    @discardableResult
    func withConnection<T: Sendable>(_ what: String, deadline: Duration? = requestDeadline,
                                     _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = client
        if let reason = outage.withLock({ outage -> String? in
            guard let current = outage, ContinuousClock.now < current.nextTry else {
                if outage != nil { outage!.nextTry = .now + Self.retryInterval }  // this call is the one that tries
                return nil
            }
            return current.reason
        }) {
            throw StoreUnavailable(reason)
        }
        do {
            guard let deadline else {
                let result = try await client.withConnection { try await body($0) }
                outage.withLock { $0 = nil }
                return result
            }
            let leased = LeasedConnection()
            let work: @Sendable () async throws -> T = {
                try await client.withConnection { connection in
                    leased.hold(connection)
                    return try await body(connection)
                }
            }
            let result = try await Self.withinDeadline(deadline, unavailable: StoreUnavailable("\(name) gave no answer within \(deadline) (\(what))"),
                                                       onTimeout: { leased.close() }, work)
            outage.withLock { $0 = nil }
            return result
        } catch {
            let error = classified(PostgresProbe.unwrapped(error), what)
            if let unavailable = error as? StoreUnavailable {
                outage.withLock { $0 = Outage(reason: unavailable.reason, nextTry: .now + Self.retryInterval) }
            }
            throw error
        }
    }

    /// `work`'s result, or `unavailable` once `deadline` has passed, whichever comes first: the
    /// caller's wait is bounded whatever the work does. A task group would not do: it returns only
    /// when every child has ended, and a query on a connection whose server died may not end on
    /// cancellation. Here the work runs in a task of its own, is cancelled at the deadline (which
    /// closes its connection in postgres-nio) and is left to end by itself.
    package static func withinDeadline<T: Sendable>(_ deadline: Duration, unavailable: StoreUnavailable, onTimeout: @escaping @Sendable () -> Void = {},
                                            _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = DeadlineRace<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.waiting.withLock { $0 = continuation }
                let worker = Task {
                    let outcome: Result<T, any Error>
                    do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
                    race.finish(outcome)
                }
                let timer = Task {
                    guard (try? await Task.sleep(for: deadline)) != nil else { return }
                    race.finish(.failure(unavailable), first: onTimeout)
                }
                race.started(worker: worker, timer: timer)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// `body` in one transaction on a pooled connection.
    @discardableResult
    func inTransaction<T: Sendable>(_ what: String, deadline: Duration? = requestDeadline,
                                    _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await withConnection(what, deadline: deadline) { connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Our own errors pass; the server or the network going away is `StoreUnavailable`; what the
    /// server refused (an SQL error) is a storage error with its message.
    func classified(_ error: any Error, _ what: String) -> any Error {
        if error is CuratorError || error is PseudonymSecretError || error is StoreUnavailable { return error }
        guard PostgresProbe.isConnectionFailure(error) else {
            return CuratorError.storage("\(name): \(what): \(PostgresProbe.serverMessage(error))")
        }
        if error is CancellationError { return StoreUnavailable("\(name): cancelled (\(what))") }
        if error is PSQLError { return StoreUnavailable("\(name): \(PostgresProbe.serverMessage(error)) (\(what))") }
        // The pool's own failures (no connection could be made) and NIO's socket errors.
        return StoreUnavailable("\(name): \(PostgresProbe.socketReason(error)) (\(what))")
    }

    /// Every row of `query` decoded as `Row`.
    func all<Row: Sendable>(_ query: PostgresQuery, as type: Row.Type, on connection: PostgresConnection) async throws -> [Row]
    where Row: PostgresDecodable {
        var out: [Row] = []
        for try await value in try await connection.query(query, logger: logger).decode(Row.self) { out.append(value) }
        return out
    }

    // MARK: - Catalogue

    public func product(id: String) async throws -> Product? {
        try await withConnection("reading a product") { [self] in try await PostgresQueries.product(id: id, on: $0, logger: logger) }
    }

    public func allProducts() async throws -> [(rowID: Int64, product: Product)] {
        try await withConnection("reading products", deadline: nil) { [self] in try await PostgresQueries.allProducts(on: $0, logger: logger) }
    }

    public func productCount(withEmptyTitle: Bool) async throws -> Int {
        try await withConnection("counting products") { [self] connection in
            Int(try await all("SELECT count(*) FROM products WHERE NOT deleted AND (title = '') = \(withEmptyTitle)",
                              as: Int64.self, on: connection).first ?? 0)
        }
    }

    public func upsertProducts(_ products: [Product]) async throws -> [(rowID: Int64, product: Product)] {
        guard !products.isEmpty else { return [] }
        return try await inTransaction("storing products") { [self] connection in
            let stored = try await PostgresCatalogue.upsertInTransaction(products, on: connection, logger: logger)
            try await PostgresChanges.log(.products, productKeys: stored.map(\.product.id), origin: origin, on: connection, logger: logger)
            return stored
        }
    }

    public func deleteProduct(id: String) async throws -> Bool {
        try await inTransaction("deleting a product") { [self] connection in
            guard try await PostgresCatalogue.deleteInTransaction(id: id, on: connection, logger: logger) else { return false }
            try await PostgresChanges.log(.products, productKeys: [TextCleaning.identifier(id)], origin: origin, on: connection, logger: logger)
            return true
        }
    }

    public func deletedProductRowIDs() async throws -> [Int64] {
        try await withConnection("reading deleted products", deadline: nil) { [self] connection in
            try await all("SELECT id FROM products WHERE deleted ORDER BY id", as: Int64.self, on: connection)
        }
    }

    // MARK: - Events and shoppers

    public func appendEvents(_ events: [Event]) async throws -> AppendedEvents {
        guard !events.isEmpty else { return AppendedEvents(isNew: [], problems: []) }
        return try await inTransaction("storing \(events.count) events") { [self] connection in
            let (appended, _, ids) = try await PostgresEvents.appendInTransaction(events, pseudonymizer: pseudonymizer, connection: connection,
                                                                                  logger: logger)
            if !ids.isEmpty { try await PostgresChanges.log(.events, eventIDs: ids, origin: origin, on: connection, logger: logger) }
            return appended
        }
    }

    public func events(forShopID shopID: String, newest: Int?) async throws -> [StoredEvent] {
        try await withConnection("reading a shopper's events") { [self] in
            try await PostgresQueries.events(forShopID: shopID, pseudonymizer: pseudonymizer, newest: newest, on: $0, logger: logger)
        }
    }

    public func interactionLog() async throws -> InteractionLog {
        try await inTransaction("reading the events", deadline: nil) { [self] connection in
            var log = InteractionLog.Builder()
            for try await (id, key) in try await connection.query("SELECT id, product_key FROM products WHERE NOT deleted ORDER BY id",
                                                                   logger: logger).decode((Int64, String).self) {
                log.addProduct(rowID: id, key: key)
            }
            for try await (id, key) in try await connection.query("SELECT id, shopper_key FROM shoppers ORDER BY id",
                                                                   logger: logger).decode((Int64, String).self) {
                log.addShopper(rowID: id, key: key)
            }
            for try await (id, shopper, product, type, ts) in try await connection.query(
                "SELECT id, shopper_id, product_id, type, ts FROM events ORDER BY id", logger: logger
            ).decode((Int64, Int64, Int64, Int16, Int64).self) {
                log.addEvent(id: id, shopperRowID: shopper, productRowID: product, typeCode: Int(type), timestampMillis: ts)
            }
            return log.build()
        }
    }

    public func productEventCounts() async throws -> [(productID: String, type: EventType, count: Int)] {
        try await withConnection("counting events per product") { [self] in try await PostgresQueries.productEventCounts(on: $0, logger: logger) }
    }

    public func eventTotals() async throws -> (counts: [EventType: Int], shoppers: Int) {
        try await withConnection("counting events") { [self] connection in
            var counts: [EventType: Int] = [:]
            for try await (type, n) in try await connection.query("SELECT type, count(*) FROM events GROUP BY type", logger: logger)
                .decode((Int16, Int64).self) {
                if let eventType = EventType(code: Int(type)) { counts[eventType] = Int(n) }
            }
            let shoppers = try await all("SELECT count(DISTINCT shopper_id) FROM events", as: Int64.self, on: connection).first ?? 0
            return (counts, Int(shoppers))
        }
    }

    public func shopperSummary(shopID: String, recent: Int) async throws -> ShopperSummary? {
        let key = shopperKey(for: shopID)
        return try await withConnection("reading a shopper") { [self] connection in
            guard let id = try await all("SELECT id FROM shoppers WHERE shopper_key = \(key)", as: Int64.self, on: connection).first else {
                return nil
            }
            var counts: [(code: Int, count: Int)] = []
            for try await (type, n) in try await connection.query("SELECT type, count(*) FROM events WHERE shopper_id = \(id) GROUP BY type",
                                                                   logger: logger).decode((Int16, Int64).self) {
                counts.append((Int(type), Int(n)))
            }
            var events: [StoredEvent] = []
            for try await (eventID, productKey, type, ts, quantity, price) in try await connection.query("""
                SELECT e.id, p.product_key, e.type, e.ts, e.quantity, e.price
                FROM events e JOIN products p ON p.id = e.product_id
                WHERE e.shopper_id = \(id) ORDER BY e.ts DESC, e.id DESC LIMIT \(Int64(recent))
                """, logger: logger).decode((Int64, String, Int16, Int64, Int64?, String?).self) {
                events.append(StoredEvent(id: eventID, shopperKey: key, productID: productKey, type: EventType(code: Int(type)) ?? .view,
                                          timestampMillis: ts, quantity: quantity, price: price))
            }
            return ShopperSummary(countsByTypeCode: counts, recent: events)
        }
    }

    public func recentShoppers(limit: Int) async throws -> [ShopperOverview] {
        try await withConnection("reading recent shoppers") { [self] connection in
            var out: [ShopperOverview] = []
            for try await (key, events, lastSeen, category) in try await connection.query("""
                WITH recent AS (
                    SELECT id, shopper_key, last_seen FROM shoppers WHERE last_seen > 0
                    ORDER BY last_seen DESC, id DESC LIMIT \(Int64(limit)))
                SELECT r.shopper_key, (SELECT count(*) FROM events e WHERE e.shopper_id = r.id), r.last_seen,
                       coalesce((SELECT p.category FROM events e JOIN products p ON p.id = e.product_id
                                 WHERE e.shopper_id = r.id GROUP BY p.category ORDER BY count(*) DESC, p.category COLLATE "C" LIMIT 1), '')
                FROM recent r
                ORDER BY r.last_seen DESC, r.id DESC
                """, logger: logger).decode((String, Int64, Int64, String).self) {
                out.append(ShopperOverview(pseudonym: key, events: Int(events), lastSeenMillis: lastSeen, topCategory: category))
            }
            return out
        }
    }

    // MARK: - The pseudonym secret

    private func meta(_ key: String, on connection: PostgresConnection) async throws -> ByteBuffer? {
        try await all("SELECT value FROM store_meta WHERE key = \(key)", as: ByteBuffer.self, on: connection).first
    }

    public func pseudonymSecretLocation() async throws -> PseudonymSecretLocation {
        try await withConnection("reading the store's settings") { [self] connection in
            try await meta(StoredPseudonymSecret.secretKey, on: connection) == nil ? .outside : .store
        }
    }

    public func storedPseudonymSecret() async throws -> PseudonymSecret {
        let value = try await withConnection("reading the store's settings") { [self] in try await meta(StoredPseudonymSecret.secretKey, on: $0) }
        guard let value else { throw PseudonymSecretError.notInStore(store: name) }
        return try PseudonymSecret(bytes: Array(buffer: value), origin: name)
    }

    /// Leaves only the fingerprint in the store. The table is rewritten afterwards (VACUUM FULL), so
    /// the secret's old row version is gone from it; PostgreSQL's write-ahead log and any backup or
    /// standby made before still hold it.
    public func removeStoredPseudonymSecret() async throws {
        guard pseudonymSecretIsExternal else { throw PseudonymSecretError.removeNeedsExternal(store: name) }
        let fingerprint = pseudonymSecretFingerprint
        try await inTransaction("removing the secret") { [self] connection in
            try await Self.setMeta(StoredPseudonymSecret.fingerprintKey, Array(fingerprint.utf8), on: connection, logger: logger)
            try await connection.query("DELETE FROM store_meta WHERE key = \(StoredPseudonymSecret.secretKey)", logger: logger)
        }
        try await withConnection("rewriting the settings table", deadline: nil) { [self] connection in
            try await connection.query("VACUUM FULL store_meta", logger: logger)
        }
    }

    // MARK: - Embeddings and the language model

    public func cachedEmbeddings(modelID: String, hashes: [String]) async throws -> [String: [Float]] {
        try await withConnection("reading cached vectors", deadline: Self.requestDeadline + .milliseconds(hashes.count / 10)) { [self] in try await PostgresEmbeddings.cached(modelID: modelID, hashes: hashes, on: $0, logger: logger) }
    }

    public func scanEmbeddings(modelID: String, _ body: (String, UnsafeRawBufferPointer) throws -> Void) async throws {
        do {
            try await client.withConnection { connection in
                for try await (hash, vector) in try await connection.query(
                    "SELECT text_hash, vector FROM embeddings WHERE model_id = \(modelID)", logger: logger
                ).decode((String, ByteBuffer).self) {
                    try vector.withUnsafeReadableBytes { try body(hash, $0) }
                }
            }
        } catch let error as CuratorError {
            throw error
        } catch {
            throw CuratorError.storage("\(name): reading vectors: \(PostgresProbe.serverMessage(error))")
        }
    }

    public func saveEmbeddings(modelID: String, _ vectors: [(hash: String, vector: [Float])]) async throws {
        try await withConnection("storing vectors", deadline: Self.requestDeadline + .milliseconds(vectors.count)) { [self] in try await PostgresEmbeddings.save(modelID: modelID, vectors, on: $0, logger: logger) }
    }

    static let languageModelKey = "language_model"

    public func languageModel() async throws -> String? {
        try await withConnection("reading the store's settings") { [self] connection in
            try await meta(Self.languageModelKey, on: connection).map { String(buffer: $0) }
        }
    }

    public func recordLanguageModel(_ model: String) async throws {
        try await withConnection("recording the language model") { [self] connection in
            try await Self.setMeta(Self.languageModelKey, Array(model.utf8), on: connection, logger: logger)
        }
    }

    // MARK: - Splits, models, evaluations

    public func dataFingerprint() async throws -> String {
        try await withConnection("reading the data fingerprint") { [self] connection in
            var fingerprint = ""
            for try await (events, maxEvent, products, maxUpdate) in try await connection.query("""
                SELECT (SELECT count(*) FROM events), (SELECT coalesce(max(id), 0) FROM events),
                       (SELECT count(*) FROM products WHERE NOT deleted), (SELECT coalesce(max(updated_at), 0) FROM products)
                """, logger: logger).decode((Int64, Int64, Int64, Int64).self) {
                fingerprint = StoreDigest.data(events: events, maxEventID: maxEvent, liveProducts: products, maxProductUpdate: maxUpdate)
            }
            return fingerprint
        }
    }

    public func saveSplit(_ split: StoredSplit) async throws {
        try await inTransaction("saving split '\(split.name)'", deadline: nil) { [self] connection in
            try await connection.query("DELETE FROM splits WHERE name = \(split.name)", logger: logger)
            let id = try await all("""
                INSERT INTO splits(name, kind, parameters, data_fingerprint, created_at)
                VALUES (\(split.name), \(split.kind), \(split.parameters), \(split.dataFingerprint), \(split.createdAtMillis)) RETURNING id
                """, as: Int64.self, on: connection).first ?? 0
            let chunk = 50_000
            for start in stride(from: 0, to: split.assignments.count, by: chunk) {
                let part = split.assignments[start..<min(start + chunk, split.assignments.count)]
                try await connection.query("""
                    INSERT INTO split_events(split_id, event_id, part)
                    SELECT \(id), e, p FROM unnest(\(part.map(\.eventID))::bigint[], \(part.map(\.part))::text[]) AS a(e, p)
                    """, logger: logger)
            }
        }
    }

    public func split(named name: String) async throws -> StoredSplit? {
        try await inTransaction("reading split '\(name)'", deadline: nil) { [self] connection in
            var found: (id: Int64, kind: String, parameters: String, fingerprint: String, created: Int64)?
            for try await row in try await connection.query(
                "SELECT id, kind, parameters, data_fingerprint, created_at FROM splits WHERE name = \(name)", logger: logger
            ).decode((Int64, String, String, String, Int64).self) {
                found = row
            }
            guard let found else { return nil }
            var assignments: [(eventID: Int64, part: String)] = []
            for try await (event, part) in try await connection.query(
                "SELECT event_id, part FROM split_events WHERE split_id = \(found.id) ORDER BY event_id", logger: logger
            ).decode((Int64, String).self) {
                assignments.append((event, part))
            }
            return StoredSplit(name: name, kind: found.kind, parameters: found.parameters, dataFingerprint: found.fingerprint,
                               createdAtMillis: found.created, assignments: assignments)
        }
    }

    /// A fixed key for the advisory lock around numbering model versions: "models" in ASCII.
    static let modelLock: Int64 = 0x6D_6F_64_65_6C_73

    public func saveModel(_ model: StoredModel) async throws -> Int {
        let payload = model.payload.map { ByteBuffer(data: $0) }
        return try await inTransaction("saving model '\(model.name)'", deadline: nil) { [self] connection in
            // Numbered under a lock, so two trainers saving at once get two versions.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.modelLock))", logger: logger)
            let newest = try await all("SELECT coalesce(max(version), 0) FROM trained_models WHERE name = \(model.name)",
                                       as: Int32.self, on: connection).first ?? 0
            let version = Int(newest) + 1
            try await connection.query("""
                INSERT INTO trained_models(name, version, created_at, data_fingerprint, parameters, metrics, payload)
                VALUES (\(model.name), \(Int32(version)), \(Timestamps.nowMillis()), \(model.dataFingerprint), \(model.parameters),
                        \(model.metrics), \(payload))
                """, logger: logger)
            try await PostgresChanges.log(.model, origin: origin, on: connection, logger: logger)
            return version
        }
    }

    public func model(named name: String, version: Int?) async throws -> StoredModel? {
        try await withConnection("reading model '\(name)'", deadline: nil) { [self] connection in
            let query: PostgresQuery = version.map {
                "SELECT name, version, created_at, data_fingerprint, parameters, metrics, payload FROM trained_models WHERE name = \(name) AND version = \(Int32($0))"
            } ?? "SELECT name, version, created_at, data_fingerprint, parameters, metrics, payload FROM trained_models WHERE name = \(name) ORDER BY version DESC LIMIT 1"
            var found: StoredModel?
            for try await (name, version, created, fingerprint, parameters, metrics, payload) in try await connection.query(query, logger: logger)
                .decode((String, Int32, Int64, String, String, String, ByteBuffer?).self) {
                found = StoredModel(name: name, version: Int(version), createdAtMillis: created, dataFingerprint: fingerprint,
                                    parameters: parameters, metrics: metrics, payload: payload.map { Data(buffer: $0) })
            }
            return found
        }
    }

    public func models() async throws -> [StoredModel] {
        try await withConnection("listing models") { [self] connection in
            var out: [StoredModel] = []
            for try await (name, version, created, fingerprint, parameters, metrics) in try await connection.query(
                "SELECT name, version, created_at, data_fingerprint, parameters, metrics FROM trained_models ORDER BY name, version", logger: logger
            ).decode((String, Int32, Int64, String, String, String).self) {
                out.append(StoredModel(name: name, version: Int(version), createdAtMillis: created, dataFingerprint: fingerprint,
                                       parameters: parameters, metrics: metrics, payload: nil))
            }
            return out
        }
    }

    public func modelPayloadSizes() async throws -> [String: Int] {
        try await withConnection("listing models") { [self] connection in
            var sizes: [String: Int] = [:]
            for try await (name, version, bytes) in try await connection.query(
                "SELECT name, version, coalesce(octet_length(payload), 0) FROM trained_models", logger: logger
            ).decode((String, Int32, Int32).self) {
                sizes["\(name)@\(version)"] = Int(bytes)
            }
            return sizes
        }
    }

    public func saveEvaluation(json: String) async throws {
        try await withConnection("saving an evaluation") { [self] connection in
            try await connection.query("INSERT INTO evaluations(created_at, report) VALUES (\(Timestamps.nowMillis()), \(json))", logger: logger)
        }
    }

    public func latestEvaluation() async throws -> (createdAtMillis: Int64, json: String)? {
        try await withConnection("reading the latest evaluation") { [self] connection in
            var latest: (createdAtMillis: Int64, json: String)?
            for try await row in try await connection.query("SELECT created_at, report FROM evaluations ORDER BY id DESC LIMIT 1", logger: logger)
                .decode((Int64, String).self) {
                latest = row
            }
            return latest
        }
    }

    public func statistics() async throws -> StoreStatistics {
        try await inTransaction("reading statistics", deadline: nil) { [self] connection in
            func count(_ query: PostgresQuery) async throws -> Int { Int(try await all(query, as: Int64.self, on: connection).first ?? 0) }
            let shoppers = try await count("SELECT count(*) FROM shoppers")
            let products = try await count("SELECT count(*) FROM products WHERE NOT deleted")
            let events = try await count("SELECT count(*) FROM events")
            var byType: [String: Int] = [:]
            for try await (type, n) in try await connection.query("SELECT type, count(*) FROM events GROUP BY type", logger: logger)
                .decode((Int16, Int64).self) {
                if let eventType = EventType(code: Int(type)) { byType[eventType.rawValue] = Int(n) }
            }
            let pairs = try await count("SELECT count(*) FROM (SELECT DISTINCT shopper_id, product_id FROM events) d")
            let lengths = try await all("SELECT count(*) AS n FROM events GROUP BY shopper_id ORDER BY n", as: Int64.self, on: connection).map(Int.init)
            var range: (Int64?, Int64?) = (nil, nil)
            for try await row in try await connection.query("SELECT min(ts), max(ts) FROM events", logger: logger).decode((Int64?, Int64?).self) {
                range = row
            }
            return StoreStatistics(shoppers: shoppers, products: products, events: events, eventsByType: byType, shopperProductPairs: pairs,
                                   historyLengths: lengths, firstEventMillis: range.0, lastEventMillis: range.1)
        }
    }
}

// MARK: - Following other replicas

extension PostgresStore {
    public var isShared: Bool { true }

    public func changes(after sequence: Int64, limit: Int) async throws -> [StoreChange] {
        try await withConnection("reading the change log") { [self] in try await PostgresChanges.after(sequence, limit: limit, on: $0, logger: logger) }
    }

    public func productEventCountsAndPosition() async throws -> (counts: [(productID: String, type: EventType, count: Int)], position: Int64) {
        try await withConnection("counting events per product", deadline: nil) { [self] connection in
            // One snapshot: the counts include exactly the changes up to the position read with them.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let position = try await PostgresChanges.position(on: connection, logger: logger)
                let counts = try await PostgresQueries.productEventCounts(on: connection, logger: logger)
                try await connection.query("COMMIT", logger: logger)
                return (counts, position)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func storedProducts(keys: [String]) async throws -> [(rowID: Int64, product: Product)] {
        guard !keys.isEmpty else { return [] }
        return try await withConnection("reading products") { [self] in try await PostgresQueries.products(keys: keys, on: $0, logger: logger) }
    }

    public func storedProducts(rowIDs: [Int64]) async throws -> [(rowID: Int64, product: Product, version: Int64)] {
        guard !rowIDs.isEmpty else { return [] }
        return try await withConnection("reading products", deadline: nil) { [self] in
            try await PostgresQueries.products(rowIDs: rowIDs, on: $0, logger: logger)
        }
    }

    public func productVersions() async throws -> [(rowID: Int64, version: Int64)] {
        try await withConnection("reading product versions", deadline: nil) { [self] connection in
            try await PostgresQueries.run("reading product versions") {
                var out: [(rowID: Int64, version: Int64)] = []
                for try await (id, version) in try await connection.query("SELECT id, updated_at FROM products WHERE NOT deleted ORDER BY id", logger: logger)
                    .decode((Int64, Int64).self) { out.append((id, version)) }
                return out
            }
        }
    }

    public func eventSummaries(ids: [Int64]) async throws -> [EventSummary] {
        guard !ids.isEmpty else { return [] }
        return try await withConnection("reading events") { [self] connection in
            let firsts = try await PostgresEvents.firstOfTheirDay(ids: ids, on: connection, logger: logger)
            var out: [EventSummary] = []
            for try await (shopper, key, type, id) in try await connection.query("""
                SELECT s.shopper_key, p.product_key, e.type, e.id FROM events e
                JOIN products p ON p.id = e.product_id JOIN shoppers s ON s.id = e.shopper_id
                WHERE e.id = ANY(\(ids)) ORDER BY e.id
                """, logger: logger).decode((String, String, Int16, Int64).self) {
                if let eventType = EventType(code: Int(type)) {
                    out.append(EventSummary(shopperKey: shopper, productID: key, type: eventType, countsTowardPopularity: firsts.contains(id)))
                }
            }
            return out
        }
    }

    /// LISTENs on a connection of its own for the change log's notifications; when that
    /// connection is lost it reconnects (100 ms, doubling up to 1 s) and rings once more, since
    /// changes may have been committed while nobody listened.
    public func notifyOnChanges(_ ring: @escaping @Sendable () -> Void) {
        let location = location, logger = logger
        let task = Task { [weak self] in
            var backoff = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresProbe.connect(to: location, timeout: .seconds(5), logger: logger)
                    defer { Task { try? await connection.close() } }
                    var schema = "public"
                    for try await name in try await connection.query("SELECT current_schema()", logger: logger).decode(String.self) { schema = name }
                    backoff = .milliseconds(100)
                    // The server answers again: end the outage now rather than at the next try.
                    self?.outage.withLock { $0 = nil }
                    try await connection.listen(on: "curator_changes_" + schema) { notifications in
                        ring()
                        for try await _ in notifications { ring() }
                    }
                } catch {
                    // Lost or refused: try again shortly; the follower's own poll covers the gap.
                }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
        listener.withLock { previous in
            previous?.cancel()
            previous = task
        }
    }
}

extension PostgresStore {
    /// Drops the schema a store lives in, with everything in it (a benchmark's or a test's store).
    public static func dropSchema(of location: PostgresLocation) async throws {
        guard let schema = location.schema else { throw CuratorError.configuration("\(location) names no schema to drop") }
        var admin = location
        admin.schema = nil
        var logger = Logger(label: "curator.postgres")
        logger.logLevel = .error
        let connection = try await PostgresProbe.connect(to: admin, logger: logger)
        defer { Task { try? await connection.close() } }
        // A plain identifier (checked when the URL was read), so it may be spliced.
        try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
    }
}

/// The state of one `withinDeadline` call: the caller waiting, and the work and timer tasks.
/// The first outcome resumes the caller; the other side is cancelled.
final class DeadlineRace<T: Sendable>: Sendable {
    let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)
    private let tasks = Mutex<(worker: Task<Void, Never>?, timer: Task<Void, Never>?, done: Bool)>((nil, nil, false))

    func started(worker: Task<Void, Never>, timer: Task<Void, Never>) {
        let done = tasks.withLock { state -> Bool in
            state.worker = worker
            state.timer = timer
            return state.done
        }
        // Finished before the tasks were recorded (an instant answer): the timer is not needed.
        if done { timer.cancel() }
    }

    /// Resumes the caller with `outcome` if nothing did yet, after running `first` (the clean-up
    /// that goes with this outcome, done before the caller goes on).
    func finish(_ outcome: Result<T, any Error>, first: () -> Void = {}) {
        guard let continuation = waiting.withLock({ current -> CheckedContinuation<T, any Error>? in
            defer { current = nil }
            return current
        }) else { return }
        first()
        continuation.resume(with: outcome)
        let (worker, timer) = tasks.withLock { state -> (Task<Void, Never>?, Task<Void, Never>?) in
            state.done = true
            return (state.worker, state.timer)
        }
        timer?.cancel()
        // Too late or given up on: cancelling the work ends its query and gives its connection back.
        if case .failure = outcome { worker?.cancel() }
    }
}

/// The connection a call with a deadline is using, so that a call past its deadline can close it:
/// a query on a connection to a dead server may never end otherwise.
final class LeasedConnection: Sendable {
    private let connection = Mutex<PostgresConnection?>(nil)

    func hold(_ leased: PostgresConnection) { connection.withLock { $0 = leased } }

    func close() {
        guard let leased = connection.withLock({ $0 }) else { return }
        Task { try? await leased.close() }
    }
}
