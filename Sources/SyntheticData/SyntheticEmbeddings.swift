import CuratorCore
import Foundation
import VectorSearch

/// Clustered unit vectors that resemble text embeddings more than uniform random vectors do:
/// each point is a cluster centre plus a component inside a low-dimensional subspace of its
/// own cluster plus a little isotropic noise, normalised. Text embeddings have a low intrinsic
/// dimension; uniform random vectors (the worst case for graph indexes) do not.
public struct SyntheticEmbeddings: Sendable {
    public var dimension: Int
    public var clusters: Int
    /// Dimension of each cluster's own subspace.
    public var subspaceDimension: Int
    /// Norms of the parts added to the unit centre.
    public var subspaceScale: Float
    public var noiseScale: Float
    public var seed: UInt64

    public init(
        dimension: Int = 384, clusters: Int = 200, subspaceDimension: Int = 16,
        subspaceScale: Float = 0.7, noiseScale: Float = 0.25, seed: UInt64 = 42
    ) {
        self.dimension = dimension
        self.clusters = clusters
        self.subspaceDimension = subspaceDimension
        self.subspaceScale = subspaceScale
        self.noiseScale = noiseScale
        self.seed = seed
    }

    /// `count` unit vectors, row-major, from the stream `stream` (different streams give
    /// different points from the same clusters, e.g. catalogue and queries).
    public func generate(count: Int, stream: UInt64 = 0) -> [Float] {
        let d = dimension, r = subspaceDimension
        var model = SeededGenerator(seed: seed)
        // Centres and subspace bases are shared by every stream.
        var centres = [Float](repeating: 0, count: clusters * d)
        var bases = [Float](repeating: 0, count: clusters * r * d)
        for c in 0..<clusters {
            var centre = (0..<d).map { _ in gaussian(&model) }
            normalize(&centre)
            centres.replaceSubrange(c * d..<(c + 1) * d, with: centre)
            for j in 0..<(r * d) { bases[c * r * d + j] = gaussian(&model) / Float(d).squareRoot() }
        }
        var rng = SeededGenerator(seed: seed &+ 0x5851_F42D_4C95_7F2D &* (stream &+ 1))
        var out = [Float](repeating: 0, count: count * d)
        let subScale = subspaceScale / Float(r).squareRoot()
        let noise = noiseScale / Float(d).squareRoot()
        var z = [Float](repeating: 0, count: r)
        var row = [Float](repeating: 0, count: d)
        for i in 0..<count {
            let c = Int(rng.next() % UInt64(clusters))
            for j in 0..<r { z[j] = gaussian(&rng) * subScale }
            for t in 0..<d { row[t] = centres[c * d + t] + gaussian(&rng) * noise }
            for j in 0..<r {
                let zj = z[j], off = c * r * d + j * d
                for t in 0..<d { row[t] += zj * bases[off + t] }
            }
            normalize(&row)
            out.replaceSubrange(i * d..<(i + 1) * d, with: row)
        }
        return out
    }
}

@inline(__always)
private func gaussian(_ rng: inout SeededGenerator) -> Float {
    // Box–Muller.
    let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
    let u2 = Double(rng.next() >> 11) / Double(1 << 53)
    return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
}
