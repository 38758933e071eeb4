/// The `k` best (score, id) pairs seen so far: higher score first, equal scores by lower id.
/// A bounded min-heap whose root is the worst kept pair, so most offers cost one comparison.
struct TopK {
    let k: Int
    private(set) var scores: [Float] = []
    private(set) var ids: [Int64] = []

    init(k: Int) {
        self.k = max(0, k)
        scores.reserveCapacity(self.k)
        ids.reserveCapacity(self.k)
    }

    var isFull: Bool { scores.count >= k }

    @inline(__always)
    static func worse(_ a: Float, _ ia: Int64, _ b: Float, _ ib: Int64) -> Bool {
        a < b || (a == b && ia > ib)
    }

    /// True when (score, id) would enter the heap now (call before an expensive filter check).
    @inline(__always)
    func wouldAccept(score: Float, id: Int64) -> Bool {
        if k == 0 || score.isNaN { return false }
        return scores.count < k || Self.worse(scores[0], ids[0], score, id)
    }

    /// A lower bound below which no score can enter (with ties decided by id).
    @inline(__always)
    var threshold: Float { scores.count < k ? -.infinity : scores[0] }

    @inline(__always)
    mutating func offer(score: Float, id: Int64) {
        guard wouldAccept(score: score, id: id) else { return }
        if scores.count < k {
            scores.append(score)
            ids.append(id)
            var i = scores.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if Self.worse(scores[i], ids[i], scores[parent], ids[parent]) {
                    scores.swapAt(i, parent)
                    ids.swapAt(i, parent)
                    i = parent
                } else { break }
            }
        } else {
            scores[0] = score
            ids[0] = id
            var i = 0
            let n = scores.count
            while true {
                var child = 2 * i + 1
                if child >= n { break }
                if child + 1 < n && Self.worse(scores[child + 1], ids[child + 1], scores[child], ids[child]) { child += 1 }
                if Self.worse(scores[child], ids[child], scores[i], ids[i]) {
                    scores.swapAt(i, child)
                    ids.swapAt(i, child)
                    i = child
                } else { break }
            }
        }
    }

    /// Best first.
    func sorted() -> [Neighbor] {
        var out = zip(ids, scores).map { Neighbor(id: $0, score: $1) }
        out.sort { Self.worse($1.score, $1.id, $0.score, $0.id) }
        return out
    }
}

/// Inner product of two rows of `n` floats.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n {
        s += a[i] * b[i]
        i += 1
    }
    return s
}
