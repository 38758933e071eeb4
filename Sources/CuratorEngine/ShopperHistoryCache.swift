import CuratorCore
import Synchronization

/// A replica's copy of shoppers' newest events, so that a recommendation on a shared store does
/// not read them from the database each time (measured before: a PostgreSQL replica served about
/// half the recommendations per second of a SQLite one, because of that round trip).
///
/// Correctness comes from invalidation, not from patching entries: this replica's own writes drop
/// the shoppers they touched, the change log drops those of other replicas' writes (with the lag
/// the follower already has) and a bulk import drops everything; the next read goes to the store.
/// A read that began before an invalidation does not put what it read into the cache, so a slow
/// read can never bring back a history older than a write it did not see.
///
/// Bounded: least recently used shoppers leave first once the entries' estimated size passes the
/// budget.
final class ShopperHistoryCache: Sendable {
    private struct Node {
        var key: String
        var events: [StoredEvent]
        var bytes: Int
        var newer: Int?
        var older: Int?
    }

    private struct State {
        var index: [String: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var newest: Int?
        var oldest: Int?
        var bytes = 0
        /// Bumped by every invalidation; a read records it when it starts.
        var generation: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    let budgetBytes: Int
    private let state = Mutex(State())

    init(budgetBytes: Int) {
        self.budgetBytes = budgetBytes
    }

    /// What a read must remember to put its result in the cache afterwards.
    struct Ticket: Sendable {
        let generation: UInt64
    }

    /// The cached events of `key`, marking it recently used; nil on a miss (then take a `ticket`
    /// before reading the store).
    func lookup(_ key: String) -> [StoredEvent]? {
        state.withLock { state in
            guard let slot = state.index[key] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            Self.moveToFront(slot, in: &state)
            return state.nodes[slot].events
        }
    }

    func ticket() -> Ticket { state.withLock { Ticket(generation: $0.generation) } }

    /// Keeps `events` for `key`, unless anything was invalidated since `ticket` was taken.
    func store(_ events: [StoredEvent], for key: String, ticket: Ticket) {
        let bytes = Self.estimatedBytes(key: key, events: events)
        guard bytes <= budgetBytes else { return }
        state.withLock { state in
            guard state.generation == ticket.generation else { return }
            if let slot = state.index[key] { Self.remove(slot, from: &state) }
            let node = Node(key: key, events: events, bytes: bytes, newer: nil, older: state.newest)
            let slot: Int
            if let reused = state.free.popLast() {
                slot = reused
                state.nodes[slot] = node
            } else {
                slot = state.nodes.count
                state.nodes.append(node)
            }
            if let newest = state.newest { state.nodes[newest].newer = slot }
            state.newest = slot
            if state.oldest == nil { state.oldest = slot }
            state.index[key] = slot
            state.bytes += bytes
            while state.bytes > budgetBytes, let oldest = state.oldest { Self.remove(oldest, from: &state) }
        }
    }

    /// Drops these shoppers' entries (they have new events).
    func invalidate(_ keys: some Sequence<String>) {
        state.withLock { state in
            state.generation &+= 1
            for key in keys { if let slot = state.index[key] { Self.remove(slot, from: &state) } }
        }
    }

    /// Drops every entry (after a bulk import, anything may have changed).
    func removeAll() {
        state.withLock { state in
            let generation = state.generation &+ 1
            state = State()
            state.generation = generation
        }
    }

    /// Shoppers held, their estimated bytes, and reads answered and missed so far.
    var statistics: (shoppers: Int, bytes: Int, hits: Int, misses: Int) {
        state.withLock { ($0.index.count, $0.bytes, $0.hits, $0.misses) }
    }

    private static func moveToFront(_ slot: Int, in state: inout State) {
        guard state.newest != slot else { return }
        unlink(slot, in: &state)
        state.nodes[slot].older = state.newest
        state.nodes[slot].newer = nil
        if let newest = state.newest { state.nodes[newest].newer = slot }
        state.newest = slot
        if state.oldest == nil { state.oldest = slot }
    }

    private static func unlink(_ slot: Int, in state: inout State) {
        let node = state.nodes[slot]
        if let newer = node.newer { state.nodes[newer].older = node.older } else { state.newest = node.older }
        if let older = node.older { state.nodes[older].newer = node.newer } else { state.oldest = node.newer }
    }

    private static func remove(_ slot: Int, from state: inout State) {
        unlink(slot, in: &state)
        state.bytes -= state.nodes[slot].bytes
        state.index[state.nodes[slot].key] = nil
        state.nodes[slot].events = []
        state.free.append(slot)
    }

    /// An event's fields and the strings it holds, roughly as Swift lays them out.
    static func estimatedBytes(key: String, events: [StoredEvent]) -> Int {
        96 + key.utf8.count + events.reduce(0) { $0 + 96 + $1.productID.utf8.count + ($1.price?.utf8.count ?? 0) }
    }
}
