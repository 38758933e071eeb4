import CuratorCore

/// The order a large batch goes into an HNSW graph.
///
/// Building a graph is bound by memory, not arithmetic: every insert walks a few thousand
/// random elements. Inserted in random order, consecutive inserts walk unrelated parts of a
/// graph far larger than the cache. Grouped by neighbourhood, consecutive inserts walk the same
/// part, which stays in cache. A random share goes first so that every neighbourhood is in the
/// graph, linked to the rest, before any is filled in: inserting in sorted order alone leaves
/// the early groups without links to the later ones.
package enum InsertionOrder {
    /// The share of the batch inserted first, in random order.
    package static let skeletonShare = 20

    /// Row indices of `count` vectors: a random twentieth, then the rest grouped by the nearest of
    /// about √count vectors sampled from the batch (ties in row order). Deterministic for a seed.
    package static func grouped(_ vectors: UnsafeBufferPointer<Float>, count: Int, dimension: Int, seed: UInt64) throws -> [Int] {
        try grouped(count: count, dimension: dimension, seed: seed) { Array(vectors[($0.lowerBound * dimension)..<($0.upperBound * dimension)]) }
    }

    /// The same order for rows read a block at a time (`rows(range)`: their vectors, row-major).
    package static func grouped(count: Int, dimension: Int, seed: UInt64, rows: (Range<Int>) -> [Float]) throws -> [Int] {
        var rng = SeededGenerator(seed: seed)
        var shuffled = Array(0..<count)
        shuffled.shuffle(using: &rng)
        let groups = min(count, max(16, Int(Double(count).squareRoot())))
        let centres = ExactIndex(dimension: dimension, capacity: groups)
        var sample: [Float] = []
        sample.reserveCapacity(groups * dimension)
        for row in shuffled.prefix(groups) { sample.append(contentsOf: rows(row..<(row + 1))) }
        try centres.upsert(ids: (0..<groups).map(Int64.init), vectors: sample)

        var group = [Int32](repeating: 0, count: count)
        let block = 4096
        var start = 0
        while start < count {
            let blockRows = min(block, count - start)
            let nearest = centres.search(queries: rows(start..<(start + blockRows)), k: 1)
            for (offset, found) in nearest.enumerated() { group[start + offset] = Int32(found.first?.id ?? 0) }
            start += blockRows
        }
        let head = count / skeletonShare
        let rest = shuffled[head...].sorted { (group[$0], $0) < (group[$1], $1) }
        return Array(shuffled[..<head]) + rest
    }
}
