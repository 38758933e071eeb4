import CuratorCore

/// The server's blocking work, by kind. Each kind has its own lane so that a long job of one
/// kind (a 10,000-product upsert, a model swap) never delays the short jobs of another (an
/// event batch, a search query).
struct BlockingWork: Sendable {
    /// Language-model encoding: search queries, and product texts in chunks of
    /// `encodingChunk`, so a search waits for at most one chunk of a large upsert.
    let encoder = WorkerLane(name: "curator-encoder")
    /// Product upserts and deletes, each whole (store write, encoding through `encoder`, index),
    /// so two writes to one product reach the store and the live catalogue in the same order.
    let catalogueWrites = SerialGate()
    /// Model swaps, from the poll and from `POST /v1/models/reload`.
    let models = WorkerLane(name: "curator-model-swaps")

    /// Products per encoding job: about half a second of encoding on two cores.
    static let encodingChunk = 256
}
