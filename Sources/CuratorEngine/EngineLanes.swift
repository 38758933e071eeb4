import CuratorCore

/// The engine's blocking work, by kind. Each kind has its own lane so that a long job of one
/// kind (a 10,000-product upsert, a model swap) never delays the short jobs of another (an
/// event batch, a search query), and none of it holds an event loop or a thread of Swift's
/// cooperative pool.
struct EngineLanes: Sendable {
    /// Language-model encoding: search queries, and product texts in chunks of
    /// `encodingChunk`, so a search waits for at most one chunk of a large upsert.
    let encoder = WorkerLane(name: "curator-encoder")
    /// Product upserts and deletes, each whole (store write, encoding through `encoder`, index),
    /// and the changes a replica mirrors from the store, so writes to one product reach the store
    /// and the live catalogue in the same order.
    let catalogueWrites = SerialGate()
    /// Model swaps, from the poll, from `POST /v1/models/reload` and from other replicas' saves.
    let models = WorkerLane(name: "curator-model-swaps")

    /// Products per encoding job: about half a second of encoding on two cores.
    static let encodingChunk = 256
}
