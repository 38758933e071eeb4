import CuratorCore
import Foundation
import Storage
import Synchronization

/// What a replica served and what it attributed, kept off the request path: requests append
/// here, and `flush` (every quarter second, `OnlineLogWriter` in the server) writes one batch
/// to the store. A crash loses what was not flushed yet: about the last quarter second of lists,
/// seen reports and attributions (events themselves are stored before their response).
final class OnlineLog: Sendable {
    private struct State {
        var lists: [ServedList] = []
        var seen: [SeenReport] = []
        var attributed: [AttributedEvent] = []
        /// Lists served here lately, by id, for impressions and attribution before and after
        /// they reach the store; the oldest go first past `recentLimit`.
        var recent: [String: ServedList] = [:]
        var recentOrder: [String] = []
        var recentStart = 0
        /// Entries dropped because the store could not take them for too long.
        var dropped = 0
    }

    private let state = Mutex(State())
    /// Off: lists still get ids and positions, but nothing is logged (`curator serve --no-online-log`).
    private let enabled = Atomic(true)

    var isEnabled: Bool {
        get { enabled.load(ordering: .relaxed) }
        set { enabled.store(newValue, ordering: .relaxed) }
    }
    /// How many entries wait for the store at most while it is unavailable.
    static let pendingLimit = 200_000
    static let recentLimit = 20_000

    func append(_ list: ServedList) {
        guard isEnabled else { return }
        state.withLock { state in
            state.lists.append(list)
            state.recent[list.id] = list
            state.recentOrder.append(list.id)
            if state.recentOrder.count - state.recentStart > Self.recentLimit {
                state.recent[state.recentOrder[state.recentStart]] = nil
                state.recentStart += 1
                if state.recentStart > Self.recentLimit {
                    state.recentOrder.removeFirst(state.recentStart)
                    state.recentStart = 0
                }
            }
            Self.bound(&state)
        }
    }

    func append(seen: SeenReport) {
        guard isEnabled else { return }
        state.withLock { state in
            state.seen.append(seen)
            Self.bound(&state)
        }
    }

    func append(attributed: [AttributedEvent]) {
        guard isEnabled, !attributed.isEmpty else { return }
        state.withLock { state in
            state.attributed.append(contentsOf: attributed)
            Self.bound(&state)
        }
    }

    private static func bound(_ state: inout State) {
        for overflow in [state.lists.count - pendingLimit, state.seen.count - pendingLimit, state.attributed.count - pendingLimit] where overflow > 0 {
            state.dropped += overflow
        }
        if state.lists.count > pendingLimit { state.lists.removeFirst(state.lists.count - pendingLimit) }
        if state.seen.count > pendingLimit { state.seen.removeFirst(state.seen.count - pendingLimit) }
        if state.attributed.count > pendingLimit { state.attributed.removeFirst(state.attributed.count - pendingLimit) }
    }

    /// A list served here lately.
    func recentList(id: String) -> ServedList? { state.withLock { $0.recent[id] } }

    /// These shoppers' lists served here lately (stored or not).
    func recentLists(shopperKeys: Set<String>, sinceMillis: Int64) -> [ServedList] {
        state.withLock { state in
            state.recent.values.filter { list in list.servedAtMillis >= sinceMillis && list.shopperKey.map { shopperKeys.contains($0) } == true }
        }
    }

    /// Drops everything waiting or remembered about the shopper (an erasure).
    func forget(shopperKey: String) {
        state.withLock { state in
            let lists = Set(state.recent.values.filter { $0.shopperKey == shopperKey }.map(\.id))
                .union(state.lists.filter { $0.shopperKey == shopperKey }.map(\.id))
            state.lists.removeAll { $0.shopperKey == shopperKey }
            state.attributed.removeAll { $0.shopperKey == shopperKey || lists.contains($0.recommendationID) }
            state.seen.removeAll { lists.contains($0.recommendationID) }
            for id in lists { state.recent[id] = nil }
        }
    }

    var pending: Int { state.withLock { $0.lists.count + $0.seen.count + $0.attributed.count } }
    var dropped: Int { state.withLock { $0.dropped } }

    /// Writes what is pending in one transaction. On failure it is put back in front of what came
    /// meanwhile, to go with the next flush.
    func flush(to store: any OnlineLogStore) async throws {
        let batch = state.withLock { state in
            defer { (state.lists, state.seen, state.attributed) = ([], [], []) }
            return (state.lists, state.seen, state.attributed)
        }
        guard !(batch.0.isEmpty && batch.1.isEmpty && batch.2.isEmpty) else { return }
        do {
            try await store.saveOnlineLog(lists: batch.0, seen: batch.1, attributed: batch.2)
        } catch {
            state.withLock { state in
                state.lists.insert(contentsOf: batch.0, at: 0)
                state.seen.insert(contentsOf: batch.1, at: 0)
                state.attributed.insert(contentsOf: batch.2, at: 0)
                Self.bound(&state)
            }
            throw error
        }
    }
}

/// The experiments running now, as this replica last read them from the store.
final class RunningExperiments: Sendable {
    private let experiments = Mutex<[Experiment]>([])

    func replace(with all: [Experiment]) { experiments.withLock { $0 = all.filter(\.isRunning) } }

    func running(on surface: Surface) -> Experiment? { experiments.withLock { $0.first { $0.surface == surface } } }
}
