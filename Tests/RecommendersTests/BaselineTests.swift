import CuratorCore
import Recommenders
import XCTest

final class BaselineTests: XCTestCase {
    private func scores(_ model: some Recommender, _ history: ShopperHistory, productCount: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: productCount)
        out.withUnsafeMutableBufferPointer { model.scores(for: history, into: $0) }
        return out
    }

    func testPopularWeighsEachEventByItsType() throws {
        // Product 0: two views; product 1: one purchase; product 2: a cart and a click.
        let log = InteractionLog(shopperKeys: ["a", "b"], productKeys: ["p0", "p1", "p2", "p3"], interactions: [
            .init(shopper: 0, product: 0, type: .view, timestampMillis: 1, eventID: 1),
            .init(shopper: 1, product: 0, type: .view, timestampMillis: 1, eventID: 2),
            .init(shopper: 1, product: 1, type: .purchase, timestampMillis: 2, eventID: 3),
            .init(shopper: 0, product: 2, type: .cart, timestampMillis: 2, eventID: 4),
            .init(shopper: 1, product: 2, type: .click, timestampMillis: 3, eventID: 5),
        ])
        var popular = PopularRecommender()
        try popular.fit(ShopperHistories(log: log))
        XCTAssertEqual(popular.popularity.scores, [2, 4, 4.5, 0])
        XCTAssertEqual(scores(popular, ShopperHistories(log: log)[0], productCount: 4), [2, 4, 4.5, 0])

        // The served popularity adds events one at a time with the same weights.
        var served = Popularity(productCount: 4)
        for event in log.interactions { served.add(event.type, toProductAt: Int(event.product)) }
        XCTAssertEqual(served, popular.popularity)
    }

    func testItemKNNCosineNeighboursAndScores() throws {
        // Shoppers {0,1}, {0,1}, {0,2}, {3}: n(0) = 3, n(1) = 2, n(2) = 1.
        // sim(0,1) = co 2 / √(3·2) = 0.8164966; sim(0,2) = 1 / √(3·1) = 0.5773503; sim(1,2) = 0.
        let log = makeLog(products: 4, histories: [[0, 1], [0, 1], [0, 2], [3]])
        var knn = ItemKNNRecommender(neighbourCount: 10, shrink: 0, recency: RecencyDecay(halfLife: 1))
        try knn.fit(ShopperHistories(log: log))
        XCTAssertEqual(Array(knn.neighbours(of: 0).products), [1, 2])
        XCTAssertEqual(knn.neighbours(of: 0).similarities[0], 0.8164966, accuracy: 1e-6)
        XCTAssertEqual(knn.neighbours(of: 0).similarities[1], 0.5773503, accuracy: 1e-6)
        XCTAssertEqual(Array(knn.neighbours(of: 1).products), [0])
        XCTAssertEqual(Array(knn.neighbours(of: 3).products), [])

        // History 2 then 1, both purchases (event weight 4); 1 is newest (recency 1), 2 one
        // step older (recency 0.5 with half-life 1):
        // score(0) = 4 · (1 · 0.8164966 + 0.5 · 0.5773503) = 4 · 1.1051717 = 4.4206868; the rest 0.
        let history = makeLog(products: 4, histories: [[2, 1]])
        let s = scores(knn, ShopperHistories(log: history)[0], productCount: 4)
        XCTAssertEqual(s[0], 4.4206868, accuracy: 1e-5)
        XCTAssertEqual(Array(s[1...]), [0, 0, 0])

        // Keeping one neighbour per product keeps only the most similar.
        var sparse = ItemKNNRecommender(neighbourCount: 1)
        try sparse.fit(ShopperHistories(log: log))
        XCTAssertEqual(Array(sparse.neighbours(of: 0).products), [1])
    }

    func testItemKNNRecommendsTheCoBoughtProduct() throws {
        // Everyone who buys 0 also buys 1; 2 and 3 go together too.
        let log = makeLog(products: 4, histories: [[0, 1], [1, 0], [0, 1], [2, 3], [3, 2]])
        var knn = ItemKNNRecommender()
        try knn.fit(ShopperHistories(log: log))
        let newcomer = makeLog(products: 4, histories: [[0]])
        XCTAssertEqual(knn.recommend(for: ShopperHistories(log: newcomer)[0], productCount: 4, k: 1), [1])
    }

    func testSemanticWeightedMeanAndBatchMatchesSingle() throws {
        // Unit vectors p0 (1,0), p1 (0,1), p2 (0.6,0.8), p3 (-1,0).
        let vectors: [Float] = [1, 0, 0, 1, 0.6, 0.8, -1, 0]
        var model = SemanticRecommender(productVectors: vectors, dimension: 2, recency: .none)
        // A purchase of p0 (weight 4) then a view of p1 (weight 1):
        // shopper = (4·(1,0) + 1·(0,1)) / 5 = (0.8, 0.2) → scores 0.8, 0.2, 0.48 + 0.16 = 0.64, -0.8.
        let log = InteractionLog(shopperKeys: ["a", "b"], productKeys: ["p0", "p1", "p2", "p3"], interactions: [
            .init(shopper: 0, product: 0, type: .purchase, timestampMillis: 1, eventID: 1),
            .init(shopper: 0, product: 1, type: .view, timestampMillis: 2, eventID: 2),
            .init(shopper: 1, product: 2, type: .view, timestampMillis: 1, eventID: 3),
        ])
        let histories = ShopperHistories(log: log)
        try model.fit(histories)
        let single = scores(model, histories[0], productCount: 4)
        for (got, want) in zip(single, [Float(0.8), 0.2, 0.64, -0.8]) { XCTAssertEqual(got, want, accuracy: 1e-6) }

        var batch = [Float](repeating: .nan, count: 8)
        batch.withUnsafeMutableBufferPointer { model.scores(for: [histories[0], histories[1]], productCount: 4, into: $0) }
        for (got, want) in zip(batch[0..<4], single) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        for (got, want) in zip(batch[4..<8], [Float(0.6), 0.8, 1, -0.6]) { XCTAssertEqual(got, want, accuracy: 1e-6) }

        XCTAssertThrowsError(try model.fit(ShopperHistories(log: makeLog(products: 3, histories: [[0]]))))
    }

    func testRecommendLeavesOutHistory() throws {
        let log = makeLog(products: 4, histories: [[0, 1], [0, 2], [0]])
        var popular = PopularRecommender()
        try popular.fit(ShopperHistories(log: log))
        // Counts [3, 1, 1, 0] (each a purchase); shopper 1 has 0 and 2, so 1 then 3.
        XCTAssertEqual(popular.recommend(for: ShopperHistories(log: log)[1], productCount: 4, k: 5), [1, 3])
    }
}
