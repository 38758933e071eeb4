/// Hashes every store computes the same way, so a copy of a store keeps its cache keys and its
/// data fingerprint.
public enum StoreDigest {
    /// A short, stable hash of the exact text the model reads: the embedding cache's key.
    public static func text(_ text: String) -> String {
        TextDigest.hex(text, bytes: 16)
    }

    /// The fingerprint of a store's data from its counts: changes whenever events are added or
    /// products change (compared by splits and trained models).
    public static func data(events: Int64, maxEventID: Int64, liveProducts: Int64, maxProductUpdate: Int64) -> String {
        TextDigest.hex("\(events)-\(maxEventID)-\(liveProducts)-\(maxProductUpdate)", bytes: 8)
    }
}
