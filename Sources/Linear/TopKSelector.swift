/// The `k` best (score, id) pairs: higher score first, equal scores by lower id, NaN never.
///
/// The one top-k selection of the project, so every ranked list (evaluation, neighbour
/// selection, vector search, serving) orders exactly the same way and ties are deterministic.
/// A bounded min-heap whose root is the worst kept pair: O(n log k) time, and a candidate that
/// cannot enter costs one comparison against `threshold`; no allocation after creation.
///
/// Two ways in: offer pairs one at a time (`offer`, then `finish`), as a search does while it
/// walks candidates, or hand over a whole score vector (`select`), as a ranking does. Not
/// thread-safe: keep one selector per thread (it owns scratch buffers).
public struct TopKSelector: Sendable {
    public let k: Int
    private var heapScores: [Float]
    private var heapIDs: [Int64]
    private var count = 0
    /// `excludedStamp[item] == generation` marks an item excluded for the current `select`,
    /// so exclusion costs nothing to reset between calls. Grows to the largest score vector seen.
    private var excludedStamp: [UInt32]
    private var generation: UInt32 = 0

    /// - Parameter itemCount: the length of the score vectors `select` will see, so the
    ///   exclusion marks are allocated once up front (0: allocated on first use).
    public init(k: Int, itemCount: Int = 0) {
        precondition(k >= 0 && itemCount >= 0, "k and itemCount must not be negative")
        self.k = k
        heapScores = [Float](repeating: 0, count: k)
        heapIDs = [Int64](repeating: 0, count: k)
        excludedStamp = [UInt32](repeating: 0, count: itemCount)
    }

    // MARK: - One pair at a time

    /// No score below this can enter now (a score equal to it may, if its id is lower).
    public var threshold: Float { count < k ? -.infinity : heapScores[0] }

    /// True when (score, id) would be kept now: check before an expensive filter.
    public func wouldAccept(score: Float, id: Int64) -> Bool {
        if k == 0 || score.isNaN { return false }
        return count < k || Self.worse(heapScores[0], heapIDs[0], score, id)
    }

    public mutating func offer(score: Float, id: Int64) {
        withHeap { scores, ids, count in Self.offer(score: score, id: id, scores: scores, ids: ids, count: &count) }
    }

    /// The kept pairs, best first; the selector is empty afterwards and can be reused.
    public mutating func finish() -> [(id: Int64, score: Float)] {
        var ids = [Int64](repeating: 0, count: count)
        var scores = [Float](repeating: 0, count: count)
        ids.withUnsafeMutableBufferPointer { idsOut in
            scores.withUnsafeMutableBufferPointer { scoresOut in
                drain { rank, id, score in
                    idsOut[rank] = id
                    scoresOut[rank] = score
                }
            }
        }
        return zip(ids, scores).map { (id: $0, score: $1) }
    }

    // MARK: - A whole score vector

    /// Writes the indices of up to `k` best scores into `result`, best first, skipping `excluded`.
    public mutating func select<Excluded: Sequence<Int32>>(
        scores: UnsafeBufferPointer<Float>, excluding excluded: Excluded, into result: inout [Int32]
    ) {
        reset()
        if excludedStamp.count < scores.count {
            excludedStamp.append(contentsOf: repeatElement(0, count: scores.count - excludedStamp.count))
        }
        nextGeneration()
        let gen = generation
        excludedStamp.withUnsafeMutableBufferPointer { stamp in
            for item in excluded {
                precondition(item >= 0 && Int(item) < scores.count, "excluded item \(item) is out of range")
                stamp[Int(item)] = gen
            }
        }
        // A second reference to the marks (no copy) so the heap can be changed while they are read.
        let marks = excludedStamp
        marks.withUnsafeBufferPointer { stamp in
            withHeap { heapScores, heapIDs, count in
                for i in 0..<scores.count where stamp[i] != gen {
                    Self.offer(score: scores[i], id: Int64(i), scores: heapScores, ids: heapIDs, count: &count)
                }
            }
        }
        emit(into: &result)
    }

    /// Like `select(scores:excluding:into:)` but looks only at `candidates` (e.g. the items a
    /// sparse accumulation touched), which is much cheaper when they are few.
    public mutating func select(
        scores: UnsafeBufferPointer<Float>, candidates: UnsafeBufferPointer<Int32>, into result: inout [Int32]
    ) {
        reset()
        withHeap { heapScores, heapIDs, count in
            for c in candidates {
                Self.offer(score: scores[Int(c)], id: Int64(c), scores: heapScores, ids: heapIDs, count: &count)
            }
        }
        emit(into: &result)
    }

    /// The best `k` indices whose row `accepts`, with their scores, best first. `accepts` is
    /// asked only about scores that would enter, so an expensive filter runs rarely.
    public mutating func select(
        scores: UnsafeBufferPointer<Float>, where accepts: (Int) -> Bool
    ) -> [(index: Int, score: Float)] {
        reset()
        withHeap { heapScores, heapIDs, count in
            var threshold: Float = count < heapScores.count ? -.infinity : heapScores[0]
            for i in 0..<scores.count {
                let score = scores[i]
                guard score >= threshold else { continue }  // also skips NaN
                if count == heapScores.count && !Self.worse(heapScores[0], heapIDs[0], score, Int64(i)) { continue }
                guard accepts(i) else { continue }
                Self.offer(score: score, id: Int64(i), scores: heapScores, ids: heapIDs, count: &count)
                if count == heapScores.count { threshold = heapScores[0] }
            }
        }
        return finish().map { (index: Int($0.id), score: $0.score) }
    }

    /// For small inputs and tests.
    public mutating func select(scores: [Float], excluding excluded: [Int32] = []) -> [Int32] {
        var result: [Int32] = []
        scores.withUnsafeBufferPointer { select(scores: $0, excluding: excluded, into: &result) }
        return result
    }

    // MARK: - The heap

    /// Empties the selector.
    public mutating func reset() { count = 0 }

    private mutating func nextGeneration() {
        if generation == .max {
            for i in excludedStamp.indices { excludedStamp[i] = 0 }
            generation = 0
        }
        generation += 1
    }

    private mutating func withHeap<T>(
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Int64>, inout Int) -> T
    ) -> T {
        var n = count
        defer { count = n }
        return heapScores.withUnsafeMutableBufferPointer { scores in
            heapIDs.withUnsafeMutableBufferPointer { ids in body(scores, ids, &n) }
        }
    }

    /// Hands the kept pairs out best first (`rank` 0 is the best) and empties the heap: pops the
    /// worst repeatedly, a heapsort without extra space.
    private mutating func drain(_ body: (_ rank: Int, _ id: Int64, _ score: Float) -> Void) {
        withHeap { scores, ids, count in
            while count > 0 {
                body(count - 1, ids[0], scores[0])
                count -= 1
                scores[0] = scores[count]
                ids[0] = ids[count]
                Self.siftDown(scores: scores, ids: ids, count: count)
            }
        }
    }

    /// The kept indices best first into `result`, without allocating once it has capacity.
    private mutating func emit(into result: inout [Int32]) {
        result.removeAll(keepingCapacity: true)
        result.append(contentsOf: repeatElement(0, count: count))
        result.withUnsafeMutableBufferPointer { out in
            drain { rank, id, _ in out[rank] = Int32(truncatingIfNeeded: id) }
        }
    }

    /// True when (a, ia) ranks below (b, ib): lower score, or the same score and a higher id.
    @inline(__always)
    private static func worse(_ a: Float, _ ia: Int64, _ b: Float, _ ib: Int64) -> Bool {
        a < b || (a == b && ia > ib)
    }

    @inline(__always)
    private static func offer(
        score: Float, id: Int64, scores: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int64>,
        count: inout Int
    ) {
        if score.isNaN || scores.count == 0 { return }
        if count < scores.count {
            // Sift the newcomer up; the root stays the worst kept.
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) / 2
                if worse(score, id, scores[parent], ids[parent]) {
                    scores[i] = scores[parent]
                    ids[i] = ids[parent]
                    i = parent
                } else { break }
            }
            scores[i] = score
            ids[i] = id
        } else if worse(scores[0], ids[0], score, id) {
            scores[0] = score
            ids[0] = id
            siftDown(scores: scores, ids: ids, count: count)
        }
    }

    @inline(__always)
    private static func siftDown(scores: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int64>, count: Int) {
        guard count > 1 else { return }
        let score = scores[0], id = ids[0]
        var i = 0
        while true {
            var child = 2 * i + 1
            if child >= count { break }
            if child + 1 < count && worse(scores[child + 1], ids[child + 1], scores[child], ids[child]) { child += 1 }
            if worse(scores[child], ids[child], score, id) {
                scores[i] = scores[child]
                ids[i] = ids[child]
                i = child
            } else { break }
        }
        scores[i] = score
        ids[i] = id
    }
}
