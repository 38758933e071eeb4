/// Picks the `k` best-scoring items out of a score per item, leaving out a given set,
/// with a bounded min-heap: O(n log k) time and no allocation after creation.
///
/// Shared by the evaluator, neighbour selection and serving, so every place ranks the
/// same way: higher score first, and equal scores by lower item index, which makes
/// rankings deterministic. NaN scores are never selected. Not thread-safe: keep one
/// selector per thread (it owns scratch buffers).
public struct TopKSelector: Sendable {
    public let k: Int
    public let itemCount: Int
    private var heapScores: [Float]
    private var heapItems: [Int32]
    /// `excludedStamp[item] == generation` marks an item excluded for the current call,
    /// so exclusion costs nothing to reset between calls.
    private var excludedStamp: [UInt32]
    private var generation: UInt32 = 0

    public init(k: Int, itemCount: Int) {
        precondition(k >= 0 && itemCount >= 0)
        self.k = k
        self.itemCount = itemCount
        heapScores = [Float](repeating: 0, count: k)
        heapItems = [Int32](repeating: 0, count: k)
        excludedStamp = [UInt32](repeating: 0, count: itemCount)
    }

    /// Writes up to `k` item indices into `result`, best first, skipping `excluded`.
    /// `scores` must hold one score per item (`itemCount`).
    public mutating func select<Excluded: Sequence<Int32>>(
        scores: UnsafeBufferPointer<Float>, excluding excluded: Excluded, into result: inout [Int32]
    ) {
        precondition(scores.count == itemCount, "one score per item")
        nextGeneration()
        let gen = generation
        excludedStamp.withUnsafeMutableBufferPointer { stamp in
            for item in excluded {
                precondition(item >= 0 && Int(item) < stamp.count, "excluded item \(item) is out of range")
                stamp[Int(item)] = gen
            }
        }
        let n = excludedStamp.withUnsafeBufferPointer { stamp in
            fill { heap, items in
                var count = 0
                for i in 0..<scores.count where stamp[i] != gen {
                    Self.offer(score: scores[i], item: Int32(i), heap: heap, items: items, count: &count)
                }
                return count
            }
        }
        emit(count: n, into: &result)
    }

    /// Like `select(scores:excluding:into:)` but only looks at `candidates` (e.g. the
    /// items a sparse accumulation touched), which is much cheaper when they are few.
    public mutating func select(
        scores: UnsafeBufferPointer<Float>, candidates: UnsafeBufferPointer<Int32>, into result: inout [Int32]
    ) {
        let n = fill { heap, items in
            var count = 0
            for c in candidates {
                Self.offer(score: scores[Int(c)], item: c, heap: heap, items: items, count: &count)
            }
            return count
        }
        emit(count: n, into: &result)
    }

    /// Convenience for small inputs and tests.
    public mutating func select(scores: [Float], excluding excluded: [Int32] = []) -> [Int32] {
        var result: [Int32] = []
        scores.withUnsafeBufferPointer { select(scores: $0, excluding: excluded, into: &result) }
        return result
    }

    private mutating func nextGeneration() {
        if generation == .max {
            for i in excludedStamp.indices { excludedStamp[i] = 0 }
            generation = 0
        }
        generation += 1
    }

    private mutating func fill(
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Int32>) -> Int
    ) -> Int {
        heapScores.withUnsafeMutableBufferPointer { heap in
            heapItems.withUnsafeMutableBufferPointer { items in body(heap, items) }
        }
    }

    /// Sorts the heap's contents best first into `result`.
    private mutating func emit(count: Int, into result: inout [Int32]) {
        // Pop the worst repeatedly and write from the back: a heapsort without extra space.
        result.removeAll(keepingCapacity: true)
        result.append(contentsOf: repeatElement(0, count: count))
        heapScores.withUnsafeMutableBufferPointer { heap in
            heapItems.withUnsafeMutableBufferPointer { items in
                result.withUnsafeMutableBufferPointer { out in
                    var n = count
                    while n > 0 {
                        out[n - 1] = items[0]
                        n -= 1
                        heap[0] = heap[n]
                        items[0] = items[n]
                        Self.siftDown(heap: heap, items: items, count: n)
                    }
                }
            }
        }
    }

    /// True when (a, ia) ranks below (b, ib): lower score, or same score and higher index.
    @inline(__always)
    private static func worse(_ a: Float, _ ia: Int32, _ b: Float, _ ib: Int32) -> Bool {
        a < b || (a == b && ia > ib)
    }

    @inline(__always)
    private static func offer(
        score: Float, item: Int32, heap: UnsafeMutableBufferPointer<Float>,
        items: UnsafeMutableBufferPointer<Int32>, count: inout Int
    ) {
        if score.isNaN || heap.count == 0 { return }
        if count < heap.count {
            // Sift up the new element; the root stays the worst kept.
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) / 2
                if worse(score, item, heap[parent], items[parent]) {
                    heap[i] = heap[parent]
                    items[i] = items[parent]
                    i = parent
                } else { break }
            }
            heap[i] = score
            items[i] = item
        } else if worse(heap[0], items[0], score, item) {
            heap[0] = score
            items[0] = item
            siftDown(heap: heap, items: items, count: count)
        }
    }

    @inline(__always)
    private static func siftDown(heap: UnsafeMutableBufferPointer<Float>, items: UnsafeMutableBufferPointer<Int32>, count: Int) {
        guard count > 1 else { return }
        let score = heap[0], item = items[0]
        var i = 0
        while true {
            var child = 2 * i + 1
            if child >= count { break }
            if child + 1 < count && worse(heap[child + 1], items[child + 1], heap[child], items[child]) { child += 1 }
            if worse(heap[child], items[child], score, item) {
                heap[i] = heap[child]
                items[i] = items[child]
                i = child
            } else { break }
        }
        heap[i] = score
        items[i] = item
    }
}
