import CuratorCore
import CuratorEngine
import Logging
import ServiceLifecycle
import Synchronization

/// Swaps in the newest trained model: once at start (semantic scoring answers meanwhile, and
/// says so in `model`), then every `pollSeconds` (0: only on `POST /v1/models/reload`).
/// A service of the application, so a stop waits for a swap in progress and then ends it.
struct ModelWatcher: Service {
    let engine: RecommendationEngine
    let pollSeconds: Double
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await watch() }
    }

    private func watch() async {
        repeat {
            do { try await Self.reload(engine, logger: logger) } catch {
                if Task.isCancelled { return }
                logger.error("could not load the newest model: \(error)")
            }
            guard pollSeconds > 0 else { break }
            try? await Task.sleep(for: .seconds(pollSeconds))
        } while !Task.isCancelled
        // Nothing more to do here until the application stops.
        try? await gracefulShutdown()
    }

    /// Swaps in the newest trained model if it is not the one in use, and says so.
    static func reload(_ engine: RecommendationEngine, logger: Logger) async throws {
        let swap = try await engine.reloadModel()
        if swap.changed { logger.notice("now serving \(swap.after.map { "\($0.name) v\($0.version)" } ?? "semantic")") }
    }
}

/// On a shared store: applies what the other servers commit (`StoreFollower`), woken by the
/// store's notifications and, as a safety net, every second. While the store cannot be read
/// this server answers from memory and says so once; it catches up when the store is back.
struct ReplicaFollower: Service {
    let engine: RecommendationEngine
    let storeHealth: StoreHealth
    let logger: Logger

    func run() async throws {
        let bell = Doorbell()
        let follower = StoreFollower(engine: engine, modelSaved: { [engine, logger] in
            Task { try? await ModelWatcher.reload(engine, logger: logger) }
        })
        engine.notifyOnStoreChanges { bell.ring() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        bell.ring()
                    }
                }
                // The bell's wait does not end on cancellation; a last ring does.
                group.addTask { await withTaskCancellationHandler { await follow(follower, bell: bell) } onCancel: { bell.ring() } }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func follow(_ follower: StoreFollower, bell: Doorbell) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await follower.catchUp()
                if failing { logger.notice("following the store again") }
                failing = false
            } catch {
                if Task.isCancelled { return }
                if !failing { logger.error("cannot follow the store's changes: \(error)") }
                failing = true
            }
            storeHealth.reachable = !failing
            await bell.wait()
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

/// Writes the engine's online log (served lists, seen reports, attributions) to the store every
/// quarter second, reads the running experiments every second, and prunes lists older than
/// `impressionDays` every hour. On a stop it writes what is left.
struct OnlineLogWriter: Service {
    let engine: RecommendationEngine
    let impressionDays: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await write() }
        do { try await engine.flushOnlineLog() } catch { logger.error("could not store the last served lists: \(error)") }
    }

    private func write() async {
        var failing = false
        var tick = 0
        while !Task.isCancelled {
            // Each step on its own: a store that refuses the log still has its experiments and
            // preferences read, and the other way round.
            do {
                try await engine.flushOnlineLog()
                if failing { logger.notice("storing served lists again") }
                failing = false
            } catch {
                if Task.isCancelled { return }
                if !failing { logger.error("cannot store served lists (kept in memory meanwhile): \(error)") }
                failing = true
            }
            if tick % 4 == 0 {
                do {
                    try await engine.refreshExperiments()
                    try await engine.refreshPreferences()
                    try await engine.refreshRules()
                } catch {
                    if Task.isCancelled { return }
                }
            }
            if tick % 14_400 == 0 {
                do {
                    let pruned = try await engine.pruneOnlineLog(olderThanDays: impressionDays)
                    if pruned > 0 { logger.notice("pruned \(pruned) served lists older than \(impressionDays) days") }
                } catch {
                    if Task.isCancelled { return }
                    logger.error("could not prune old served lists (tried again in an hour): \(error)")
                }
            }
            tick += 1
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
