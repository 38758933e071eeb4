import CuratorCore
import Foundation
import SyntheticData
import VectorSearch
import XCTest

/// Naive reference: every score by a plain loop, best first, ties by lower id.
private func naiveTopK(_ items: [(Int64, [Float])], query: [Float], k: Int, accept: (Int64) -> Bool = { _ in true }) -> [Neighbor] {
    var all: [Neighbor] = []
    for (id, v) in items where accept(id) {
        var s: Float = 0
        for j in v.indices { s += v[j] * query[j] }
        all.append(Neighbor(id: id, score: s))
    }
    all.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    return Array(all.prefix(k))
}

private func rows(_ flat: [Float], _ d: Int) -> [[Float]] {
    stride(from: 0, to: flat.count, by: d).map { Array(flat[$0..<$0 + d]) }
}

/// Same ids in the same order, scores equal within float rounding. Near-ties may swap order
/// between BLAS and a plain loop, so ids are compared as sets where scores are within `eps`.
private func assertMatches(_ got: [Neighbor], _ want: [Neighbor], eps: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "result count", file: file, line: line)
    for (g, w) in zip(got, want) {
        XCTAssertEqual(g.score, w.score, accuracy: eps, file: file, line: line)
    }
    // The k-th score decides membership; ids strictly above it must agree.
    if let last = want.last {
        let strong = Set(want.filter { $0.score > last.score + eps }.map(\.id))
        XCTAssertTrue(strong.isSubset(of: Set(got.map(\.id))), "missing \(strong.subtracting(got.map(\.id)))", file: file, line: line)
    }
}

private func makeIndexes(dimension: Int, hnsw: HNSWIndex.Parameters = HNSWIndex.Parameters()) throws -> [any VectorIndex] {
    [ExactIndex(dimension: dimension, capacity: 16), try HNSWIndex(dimension: dimension, parameters: hnsw)]
}

final class ExactIndexTests: XCTestCase {
    func testMatchesNaiveLoopSingleAndBatch() throws {
        let d = 48
        let data = SyntheticEmbeddings(dimension: d, clusters: 10, subspaceDimension: 8, seed: 1).generate(count: 3000)
        let index = ExactIndex(dimension: d, capacity: 16)  // grows several times
        let ids = (0..<3000).map { Int64($0 * 7 + 3) }
        try index.upsert(ids: ids, vectors: data)
        XCTAssertEqual(index.count, 3000)
        let items = Array(zip(ids, rows(data, d)))
        let queries = SyntheticEmbeddings(dimension: d, clusters: 10, subspaceDimension: 8, seed: 1).generate(count: 20, stream: 9)
        let batch = index.search(queries: queries, k: 10)
        for (i, q) in rows(queries, d).enumerated() {
            let want = naiveTopK(items, query: q, k: 10)
            assertMatches(index.search(query: q, k: 10), want)
            assertMatches(batch[i], want)
        }
    }

    func testBatchCrossesRowBlocksAndPerQueryFilters() throws {
        let d = 16
        let n = ExactIndex.batchRowBlock * 2 + 123
        let data = SyntheticEmbeddings(dimension: d, clusters: 5, subspaceDimension: 4, seed: 2).generate(count: n)
        let index = ExactIndex(dimension: d)
        let ids = (0..<n).map(Int64.init)
        try index.upsert(ids: ids, vectors: data)
        let items = Array(zip(ids, rows(data, d)))
        let queries = SyntheticEmbeddings(dimension: d, clusters: 5, subspaceDimension: 4, seed: 2).generate(count: 3, stream: 1)
        let filters: [SearchFilter?] = [nil, .predicate { $0 % 3 == 0 }, .excludedIDs(Set(naiveTopK(items, query: Array(queries[2 * d..<3 * d]), k: 5).map(\.id)))]
        let got = index.search(queries: queries, k: 7, filters: filters)
        for i in 0..<3 {
            let q = Array(queries[i * d..<(i + 1) * d])
            let want = naiveTopK(items, query: q, k: 7, accept: { filters[i]?.accepts($0) ?? true })
            assertMatches(got[i], want)
        }
    }

    func testTiesBreakByLowerID() throws {
        let index = ExactIndex(dimension: 2)
        try index.upsert(ids: [5, 3, 9, 1], vectors: [1, 0, 1, 0, 0, 1, 1, 0])
        XCTAssertEqual(index.search(query: [1, 0], k: 3).map(\.id), [1, 3, 5])
    }
}

final class IndexBehaviourTests: XCTestCase {
    func testRemoveAndUpdate() throws {
        for index in try makeIndexes(dimension: 4) {
            try index.upsert(ids: [1, 2, 3], vectors: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])
            XCTAssertEqual(index.search(query: [1, 0, 0, 0], k: 1).first?.id, 1)
            XCTAssertTrue(index.remove(id: 1))
            XCTAssertFalse(index.remove(id: 1), "\(type(of: index))")
            XCTAssertFalse(index.contains(id: 1))
            XCTAssertEqual(index.count, 2)
            XCTAssertFalse(index.search(query: [1, 0, 0, 0], k: 3).map(\.id).contains(1))
            // Update: id 3 now points where 1 was.
            try index.upsert(id: 3, vector: [1, 0, 0, 0])
            XCTAssertEqual(index.count, 2)
            XCTAssertEqual(index.search(query: [1, 0, 0, 0], k: 1).first, Neighbor(id: 3, score: 1))
            XCTAssertEqual(index.vector(id: 3), [1, 0, 0, 0])
            // A removed id can come back.
            try index.upsert(id: 1, vector: [0, 0, 0, 1])
            XCTAssertEqual(index.count, 3)
            XCTAssertEqual(index.search(query: [0, 0, 0, 1], k: 1).first?.id, 1)
            XCTAssertEqual(Set(index.search(query: [0, 0, 0, 1], k: 10).map(\.id)), [1, 2, 3])
        }
    }

    func testRejectsBadInput() throws {
        for index in try makeIndexes(dimension: 3) {
            XCTAssertThrowsError(try index.upsert(id: 1, vector: [1, 0])) {
                XCTAssertEqual($0 as? VectorSearchError, .dimensionMismatch(expected: 3, got: 2))
            }
            XCTAssertThrowsError(try index.upsert(id: 1, vector: [1, .nan, 0]))
            XCTAssertThrowsError(try index.upsert(ids: [4, 4], vectors: [1, 0, 0, 0, 1, 0]))
            XCTAssertEqual(index.count, 0)
            XCTAssertEqual(index.search(query: [1, 0, 0], k: 5), [])
        }
    }

    func testNewItemIsSearchableAtOnce() throws {
        let d = 32
        let data = SyntheticEmbeddings(dimension: d, clusters: 8, subspaceDimension: 6, seed: 3).generate(count: 2001)
        for index in try makeIndexes(dimension: d) {
            try index.upsert(ids: (0..<2000).map(Int64.init), vectors: Array(data[0..<2000 * d]))
            let newVector = Array(data[2000 * d..<2001 * d])
            try index.upsert(id: 99_999, vector: newVector)
            XCTAssertEqual(index.search(query: newVector, k: 1).first?.id, 99_999, "\(type(of: index))")
        }
    }

    /// A filter never makes a result short while enough items match: very selective,
    /// moderately selective and nearly-everything filters, each kind, on both indexes.
    func testFiltersNeverComeBackShort() throws {
        let d = 32, n = 5000
        let data = SyntheticEmbeddings(dimension: d, clusters: 20, subspaceDimension: 6, seed: 4).generate(count: n)
        let ids = (0..<n).map(Int64.init)
        let items = Array(zip(ids, rows(data, d)))
        let queries = rows(SyntheticEmbeddings(dimension: d, clusters: 20, subspaceDimension: 6, seed: 4).generate(count: 10, stream: 5), d)
        var hnswParameters = HNSWIndex.Parameters()
        hnswParameters.efSearch = 16
        hnswParameters.exactScanBelow = 50  // force the graph path for moderate filters
        for index in try makeIndexes(dimension: d, hnsw: hnswParameters) {
            try index.upsert(ids: ids, vectors: data)
            for q in queries {
                // Items in the query's neighbourhood are excluded, so matches lie far away.
                let near = Set(naiveTopK(items, query: q, k: 4000).map(\.id))
                let far = Set(ids).subtracting(near)  // 1000 items
                let filters: [(String, SearchFilter, Int)] = [
                    ("allowed 3", .allowedIDs([17, 4242, 9_999_999, 3001]), 3),
                    ("allowed far", .allowedIDs(far), far.count),
                    ("excluded near", .excludedIDs(near), far.count),
                    ("predicate far", .predicate { far.contains($0) }, far.count),
                    ("predicate 1%", .predicate { $0 % 100 == 7 }, n / 100),
                    ("predicate 30%", .predicate { $0 % 10 < 3 }, n * 3 / 10),
                    ("predicate none", .predicate { _ in false }, 0),
                ]
                for (name, filter, matching) in filters {
                    for k in [1, 10, 100] {
                        let got = index.search(query: q, k: k, filter: filter)
                        XCTAssertEqual(got.count, min(k, matching), "\(type(of: index)) \(name) k \(k)")
                        XCTAssertTrue(got.allSatisfy { filter.accepts($0.id) }, "\(type(of: index)) \(name): a rejected id came back")
                        if index is ExactIndex {
                            assertMatches(got, naiveTopK(items, query: q, k: k, accept: filter.accepts))
                        }
                    }
                }
            }
            // Most items removed: the few left must still all come back.
            for id in ids where id >= 5 { index.remove(id: id) }
            XCTAssertEqual(index.count, 5)
            XCTAssertEqual(Set(index.search(query: queries[0], k: 10).map(\.id)), [0, 1, 2, 3, 4], "\(type(of: index))")
            XCTAssertEqual(index.search(query: queries[0], k: 10, filter: .excludedIDs([0])).count, 4)
        }
    }
}

final class HNSWIndexTests: XCTestCase {
    /// Recall@10 against exact search on clustered data of a few thousand vectors.
    func testRecallAt10AgainstExact() throws {
        let d = 384, n = 5000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 50, seed: 6)
        let data = generator.generate(count: n)
        let queries = generator.generate(count: 200, stream: 1)
        let ids = (0..<n).map { Int64($0) * 11 }
        let exact = ExactIndex(dimension: d)
        try exact.upsert(ids: ids, vectors: data)
        let hnsw = try HNSWIndex(dimension: d)  // M 16, ef_construction 200, ef 64
        try hnsw.upsert(ids: ids, vectors: data)
        XCTAssertEqual(hnsw.count, n)
        let truth = exact.search(queries: queries, k: 10)
        let approx = hnsw.search(queries: queries, k: 10)
        let recall = recallAt10(approx, truth)
        print("HNSW recall@10 on \(n) clustered vectors: \(recall)")
        XCTAssertGreaterThanOrEqual(recall, 0.98)
        // Scores are the same inner products.
        for (a, t) in zip(approx, truth) where a.first?.id == t.first?.id {
            XCTAssertEqual(a.first!.score, t.first!.score, accuracy: 1e-4)
        }
    }

    /// The compact graph (int8 vectors, a scale each): its own scores are close to the exact ones,
    /// and re-scoring twice k of its candidates exactly recovers the exact top 10.
    func testCompactGraphFindsTheExactTopTenAfterReRanking() throws {
        let d = 384, n = 5000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 50, seed: 6)
        let data = generator.generate(count: n)
        let queries = rows(generator.generate(count: 200, stream: 1), d)
        let ids = (0..<n).map { Int64($0) * 11 }
        let exact = ExactIndex(dimension: d)
        try exact.upsert(ids: ids, vectors: data)
        var parameters = HNSWIndex.Parameters()
        parameters.compact = true
        let compact = try HNSWIndex(dimension: d, parameters: parameters)
        try compact.upsert(ids: ids, vectors: data)
        var truth: [[Neighbor]] = [], reranked: [[Neighbor]] = []
        var largestError: Float = 0
        for query in queries {
            let want = exact.search(query: query, k: 10, filter: nil)
            let found = compact.search(query: query, k: 20, filter: nil)
            let rescored = found.map { neighbour in
                let row = Int(neighbour.id / 11)
                let score = zip(query, data[(row * d)..<((row + 1) * d)]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                largestError = max(largestError, abs(score - neighbour.score))
                return Neighbor(id: neighbour.id, score: score)
            }
            truth.append(want)
            reranked.append(Array(rescored.sorted { $0.score > $1.score }.prefix(10)))
        }
        let recall = recallAt10(reranked, truth)
        print("compact HNSW recall@10 after re-ranking 20 candidates, \(n) clustered vectors: \(recall); largest score error \(largestError)")
        XCTAssertGreaterThanOrEqual(recall, 0.98)
        XCTAssertLessThan(largestError, 0.02, "int8 with a scale per vector")
        XCTAssertTrue(compact.storesSame(id: 11, vector: Array(data[d..<(2 * d)])))
        XCTAssertFalse(compact.storesSame(id: 11, vector: Array(data[(2 * d)..<(3 * d)])))

        // Saved and loaded as compact; a full-precision reader refuses it (and the other way round).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("compact.hnsw").path
        try compact.save(to: path)
        let loaded = try HNSWIndex(contentsOf: path, dimension: d, parameters: parameters)
        XCTAssertEqual(loaded.search(query: queries[0], k: 10, filter: nil), compact.search(query: queries[0], k: 10, filter: nil))
        XCTAssertThrowsError(try HNSWIndex(contentsOf: path, dimension: d))
        let full = try HNSWIndex(dimension: d)
        try full.upsert(ids: ids, vectors: data)
        try full.save(to: dir.appendingPathComponent("full.hnsw").path)
        XCTAssertThrowsError(try HNSWIndex(contentsOf: dir.appendingPathComponent("full.hnsw").path, dimension: d, parameters: parameters))
        let size = { (name: String) in (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int) ?? 0 }
        print("graph file of \(n) × \(d): full precision \(size("full.hnsw")) bytes, compact \(size("compact.hnsw")) bytes")
        XCTAssertLessThan(size("compact.hnsw"), size("full.hnsw") / 2)
    }

    /// The int8 kernel this CPU runs (VNNI, AVX2 or scalar) adds every product, whatever the
    /// dimension's remainder after its 64-, 32- or 16-wide steps: a query that is itself a stored
    /// (dequantised) vector scores exactly the float inner product with every stored vector.
    func testCompactScoresAreExactInnerProductsOfTheStoredVectorsForAnyDimension() throws {
        print("int8 kernel: \(HNSWIndex.int8KernelName)")
        for d in [1, 15, 31, 33, 64, 95, 100, 384] {
            var parameters = HNSWIndex.Parameters()
            parameters.compact = true
            let index = try HNSWIndex(dimension: d, parameters: parameters)
            var rng = SeededGenerator(seed: UInt64(d))
            let n = 40
            let data = (0..<(n * d)).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) }
            try index.upsert(ids: (0..<n).map(Int64.init), vectors: data)
            let stored = try (0..<n).map { id in try XCTUnwrap(index.vector(id: Int64(id))) }
            let query = stored[3]
            let found = index.search(query: query, k: n, filter: nil, ef: 4 * n)
            XCTAssertEqual(found.count, n, "dimension \(d)")
            for neighbour in found {
                let want = zip(query, stored[Int(neighbour.id)]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(neighbour.score, want, accuracy: 1e-4 * max(1, abs(want)), "dimension \(d), id \(neighbour.id)")
            }
        }
    }

    /// A scan of the rows' compact form scores every row as a compact graph scores it, the query
    /// quantised the same way; rows replaced and appended are scored in their new form.
    func testCompactRowsScoreAsTheCompactGraphDoes() throws {
        for d in [1, 33, 100, 384] {
            var parameters = HNSWIndex.Parameters()
            parameters.compact = true
            let index = try HNSWIndex(dimension: d, parameters: parameters)
            var rng = SeededGenerator(seed: UInt64(d) + 50)
            let n = 60
            var data = (0..<(n * d)).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) }
            var rows = CompactRows(Array(data[0..<((n - 1) * d)]), dimension: d)
            XCTAssertEqual(rows.memoryBytes, (n - 1) * (d + 4))
            // One row replaced and one appended after the fact, in both.
            let replacement = (0..<d).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) }
            data.replaceSubrange((7 * d)..<(8 * d), with: replacement)
            rows.replace(row: 7, with: replacement)
            rows.append(Array(data[((n - 1) * d)...]))
            XCTAssertEqual(rows.count, n)
            try index.upsert(ids: (0..<n).map(Int64.init), vectors: data)
            let query = (0..<d).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) }
            var scores = [Float](repeating: .nan, count: n)
            scores.withUnsafeMutableBufferPointer { rows.scores(for: query, into: $0) }
            let graphScores = index.search(query: query, k: n, filter: .allowedIDs(Set((0..<n).map(Int64.init))))
            XCTAssertEqual(graphScores.count, n, "dimension \(d)")
            for neighbour in graphScores {
                XCTAssertEqual(scores[Int(neighbour.id)], neighbour.score, accuracy: 1e-5 * max(1, abs(neighbour.score)),
                               "dimension \(d), row \(neighbour.id)")
            }
        }
    }

    /// A large batch goes in grouped by neighbourhood after a random skeleton: every row once, the
    /// same order for the same seed, and a graph as good as one built in the order given.
    func testGroupedInsertionIsAPermutationAndBuildsAnEquallyGoodGraph() throws {
        let d = 64, n = 20_000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 40, subspaceDimension: 8, seed: 9)
        let data = generator.generate(count: n)
        let order = try data.withUnsafeBufferPointer { try InsertionOrder.grouped($0, count: n, dimension: d, seed: 5) }
        XCTAssertEqual(order.sorted(), Array(0..<n))
        XCTAssertEqual(order, try data.withUnsafeBufferPointer { try InsertionOrder.grouped($0, count: n, dimension: d, seed: 5) })
        XCTAssertNotEqual(order, try data.withUnsafeBufferPointer { try InsertionOrder.grouped($0, count: n, dimension: d, seed: 6) })
        let skeletonCount: Int = n / InsertionOrder.skeletonShare
        // After the skeleton, neighbours in the order are near each other far more often than
        // rows drawn at random are (the data's 40 clusters: 1 in 40 by chance).
        func sameClusterShare(_ rows: ArraySlice<Int>) -> Double {
            let pairs = zip(rows, rows.dropFirst())
            let near = pairs.filter { a, b in
                zip(data[(a * d)..<((a + 1) * d)], data[(b * d)..<((b + 1) * d)]).reduce(Float(0)) { $0 + $1.0 * $1.1 } > 0.5
            }.count
            return Double(near) / Double(rows.count - 1)
        }
        let groupedAlike = sameClusterShare(order[skeletonCount...])
        let skeletonAlike = sameClusterShare(order[..<skeletonCount])
        print("consecutive rows alike: grouped \(groupedAlike), skeleton \(skeletonAlike)")
        XCTAssertGreaterThan(groupedAlike, 0.5)
        XCTAssertLessThan(skeletonAlike, 0.2)

        let queries = generator.generate(count: 200, stream: 1)
        let exact = ExactIndex(dimension: d)
        try exact.upsert(ids: (0..<n).map(Int64.init), vectors: data)
        let truth = exact.search(queries: queries, k: 10)
        var recalls: [Double] = []
        for from in [0, 10_000] {
            var parameters = HNSWIndex.Parameters()
            parameters.groupedInsertionFrom = from
            let index = try HNSWIndex(dimension: d, parameters: parameters)
            try index.upsert(ids: (0..<n).map(Int64.init), vectors: data)
            XCTAssertEqual(index.count, n)
            recalls.append(recallAt10(index.search(queries: queries, k: 10), truth))
        }
        print("recall@10 built in the order given \(recalls[0]), grouped \(recalls[1])")
        XCTAssertGreaterThanOrEqual(recalls[1], 0.98)
        XCTAssertGreaterThanOrEqual(recalls[1], recalls[0] - 0.01)
    }

    /// A compact graph built from `CompactRows` (as a catalogue's background build does, without a
    /// full-precision copy) holds what one built from the vectors holds: every element's stored
    /// bytes are the same, and it finds as much.
    func testCompactGraphFromCompactRowsHoldsWhatOneFromTheVectorsHolds() throws {
        let d = 40, n = 3000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 10, subspaceDimension: 6, seed: 31)
        let data = generator.generate(count: n)
        let ids = (0..<n).map { Int64($0) * 7 }
        var parameters = HNSWIndex.Parameters()
        parameters.compact = true
        parameters.groupedInsertionFrom = 1000  // the grouped order, from dequantised rows
        let fromRows = try HNSWIndex(dimension: d, parameters: parameters)
        try fromRows.upsert(ids: ids, compactRows: CompactRows(data, dimension: d))
        let fromVectors = try HNSWIndex(dimension: d, parameters: parameters)
        try fromVectors.upsert(ids: ids, vectors: data)
        XCTAssertEqual(fromRows.count, n)
        for (row, id) in ids.enumerated() {
            XCTAssertTrue(fromRows.storesSame(id: id, vector: Array(data[(row * d)..<((row + 1) * d)])), "row \(row)")
        }
        let queries = generator.generate(count: 200, stream: 1)
        let exact = ExactIndex(dimension: d)
        try exact.upsert(ids: ids, vectors: data)
        let truth = exact.search(queries: queries, k: 10)
        let recallFromRows = recallAt10(fromRows.search(queries: queries, k: 10), truth)
        let recallFromVectors = recallAt10(fromVectors.search(queries: queries, k: 10), truth)
        print("compact graph recall@10 built from compact rows \(recallFromRows), from the vectors \(recallFromVectors)")
        XCTAssertGreaterThanOrEqual(recallFromRows, recallFromVectors - 0.01)

        let rows = CompactRows(Array(data[0..<(2 * d)]), dimension: d)
        XCTAssertThrowsError(try HNSWIndex(dimension: d).upsert(ids: [1, 2], compactRows: rows), "not a compact graph")
        XCTAssertThrowsError(try fromRows.upsert(ids: [1], compactRows: rows), "one id for two rows")
        XCTAssertThrowsError(try fromRows.upsert(ids: [5, 5], compactRows: rows)) {
            XCTAssertEqual($0 as? VectorSearchError, .duplicateID(5))
        }
        XCTAssertEqual(fromRows.count, n)
    }

    /// Inserts walk through deleted elements (they keep the graph connected) but never link to
    /// them, except a deleted entry point: after most of the graph, its entry point among it, is
    /// removed, new elements are still found, by themselves and among their neighbours.
    func testInsertsAfterMostOfTheGraphIsRemovedAreFound() throws {
        let d = 48, n = 3000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 12, subspaceDimension: 6, seed: 21)
        let old = generator.generate(count: n), new = generator.generate(count: n, stream: 1)
        for compact in [false, true] {
            var parameters = HNSWIndex.Parameters()
            parameters.compact = compact
            let index = try HNSWIndex(dimension: d, parameters: parameters)
            try index.upsert(ids: (0..<n).map(Int64.init), vectors: old)
            for id in 0..<(n * 9 / 10) { XCTAssertTrue(index.remove(id: Int64(id))) }
            try index.upsert(ids: (n..<(2 * n)).map(Int64.init), vectors: new)
            XCTAssertEqual(index.count, 2 * n - n * 9 / 10)

            let live = ExactIndex(dimension: d)
            try live.upsert(ids: ((n * 9 / 10)..<n).map(Int64.init), vectors: Array(old[(n * 9 / 10 * d)...]))
            try live.upsert(ids: (n..<(2 * n)).map(Int64.init), vectors: new)
            var foundItself = 0
            for i in stride(from: 0, to: n, by: 10) {
                let query = Array(new[(i * d)..<((i + 1) * d)])
                if index.search(query: query, k: 1).first?.id == Int64(n + i) { foundItself += 1 }
            }
            let queries = generator.generate(count: 200, stream: 2)
            let found = index.search(queries: queries, k: 10)
            XCTAssertFalse(found.joined().contains { $0.id < Int64(n * 9 / 10) }, "a removed element was returned")
            let recall = recallAt10(found, live.search(queries: queries, k: 10))
            print("after removing 90%: compact \(compact), recall@10 \(recall), \(foundItself) of \(n / 10) new elements their own nearest")
            XCTAssertEqual(foundItself, n / 10, "compact \(compact)")
            XCTAssertGreaterThanOrEqual(recall, compact ? 0.9 : 0.95, "compact \(compact)")
        }
    }

    func testSaveLoadRoundTrip() throws {
        let d = 64, n = 3000
        let generator = SyntheticEmbeddings(dimension: d, clusters: 20, subspaceDimension: 8, seed: 7)
        let data = generator.generate(count: n)
        let queries = generator.generate(count: 50, stream: 2)
        var parameters = HNSWIndex.Parameters()
        parameters.initialCapacity = 100  // grows by resizing while adding
        let index = try HNSWIndex(dimension: d, parameters: parameters)
        try index.upsert(ids: (0..<n).map(Int64.init), vectors: data)
        XCTAssertGreaterThanOrEqual(index.capacity, n)
        for id in stride(from: 0, to: n, by: 10) { index.remove(id: Int64(id)) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("index.hnsw").path
        try index.save(to: path)
        let loaded = try HNSWIndex(contentsOf: path, dimension: d)
        XCTAssertEqual(loaded.count, index.count)
        XCTAssertEqual(loaded.deletedCount, n / 10)
        XCTAssertFalse(loaded.contains(id: 0))
        XCTAssertTrue(loaded.contains(id: 1))
        XCTAssertEqual(loaded.vector(id: 1), index.vector(id: 1))
        XCTAssertEqual(loaded.search(queries: queries, k: 10), index.search(queries: queries, k: 10))
        // The loaded index keeps working: add (beyond its saved capacity), remove, search.
        try loaded.upsert(ids: (0..<n).map { Int64(n + $0) }, vectors: data)
        XCTAssertEqual(loaded.count, index.count + n)
        XCTAssertThrowsError(try HNSWIndex(contentsOf: dir.appendingPathComponent("missing").path, dimension: d))
    }

    func testConcurrentSearchesWithWrites() throws {
        let d = 32, n = 4000
        let data = SyntheticEmbeddings(dimension: d, clusters: 10, subspaceDimension: 6, seed: 8).generate(count: n)
        for index in try makeIndexes(dimension: d) {
            try index.upsert(ids: (0..<2000).map(Int64.init), vectors: Array(data[0..<2000 * d]))
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                if worker == 0 {
                    for i in 2000..<n {
                        try! index.upsert(id: Int64(i), vector: Array(data[i * d..<(i + 1) * d]))
                        if i % 3 == 0 { index.remove(id: Int64(i - 1000)) }
                    }
                } else {
                    for i in 0..<300 {
                        let q = Array(data[(i * 13 % n) * d..<((i * 13 % n) + 1) * d])
                        XCTAssertEqual(index.search(query: q, k: 5, filter: .excludedIDs([1, 2, 3])).count, 5)
                    }
                }
            }
            XCTAssertEqual(index.count, n - (2000..<n).filter { $0 % 3 == 0 }.count)
        }
    }
}

func recallAt10(_ approx: [[Neighbor]], _ truth: [[Neighbor]]) -> Double {
    var hit = 0, total = 0
    for (a, t) in zip(approx, truth) {
        hit += Set(a.map(\.id)).intersection(t.map(\.id)).count
        total += t.count
    }
    return Double(hit) / Double(max(total, 1))
}
