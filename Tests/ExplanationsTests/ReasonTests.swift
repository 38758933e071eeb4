import CuratorCore
import Explanations
import XCTest

final class ReasonTests: XCTestCase {
    let backpack30 = Product(id: "B30", title: "Trail Hiking Backpack 30L", brand: "Summit", category: "Outdoor > Backpacks")
    let boots = Product(id: "BT", title: "Waterproof Hiking Boots", brand: "TrailCo", category: "Outdoor > Boots")
    let backpack40 = Product(id: "B40", title: "Hiking Backpack 40L", brand: "Summit", category: "Outdoor > Backpacks")
    let knife = Product(id: "K", title: "Chef Knife", brand: "Casa", category: "Kitchen > Knives")

    func unit(_ values: [Float]) -> ArraySlice<Float> {
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { $0 / norm }[...]
    }

    func testEvidenceCitesTheMostSimilarHistoryItemsAndWhatTheyShare() {
        let finder = EvidenceFinder(minimumSimilarity: 0.5, maximumItems: 2)
        let evidence = finder.evidence(
            for: (backpack40, unit([1, 0.1, 0])),
            history: [(knife, .purchase, unit([0, 0, 1])), (backpack30, .view, unit([1, 0, 0])), (boots, .view, unit([0.8, 0.6, 0]))],
            source: .similarToHistory)
        XCTAssertEqual(evidence.historyItems.map(\.productID), ["B30", "BT"])
        XCTAssertGreaterThan(evidence.historyItems[0].similarity, evidence.historyItems[1].similarity)
        XCTAssertNil(evidence.sharedBrand, "the boots are another brand")
        XCTAssertNil(evidence.sharedCategory, "Backpacks and Boots differ as full paths")
        let reason = ReasonWriter(language: .en).reason(for: backpack40, evidence: evidence)
        XCTAssertEqual(reason, "Because you recently viewed Trail Hiking Backpack 30L and Waterproof Hiking Boots, we recommend Hiking Backpack 40L.")
        XCTAssertFalse(reason.contains("Chef Knife"), "a reason never names what is not in its evidence")
    }

    func testChineseReasonWithSharedCategory() {
        let evidence = Evidence(source: .similarToHistory,
                                historyItems: [.init(productID: "B30", title: "登山背包 30升", event: .view, similarity: 0.9)],
                                sharedCategory: "户外用品 > 登山背包")
        let reason = ReasonWriter(language: .zh).reason(for: Product(id: "B40", title: "登山背包 40升"), evidence: evidence)
        XCTAssertEqual(reason, "因为您最近浏览了类似的户外用品「登山背包 30升」，为您推荐「登山背包 40升」。")
        let english = ReasonWriter(language: .en).reason(
            for: backpack40,
            evidence: Evidence(source: .similarToHistory, historyItems: [.init(productID: "B30", title: backpack30.title, event: .purchase, similarity: 0.9)],
                               sharedCategory: "Outdoor > Backpacks"))
        XCTAssertEqual(english, "Because you recently bought similar outdoor items such as Trail Hiking Backpack 30L, we recommend Hiking Backpack 40L.")
        // A shop whose categories are English: the Chinese sentence sets the name apart as a kind of goods.
        let mixed = ReasonWriter(language: .zh).reason(
            for: backpack40,
            evidence: Evidence(source: .similarToHistory, historyItems: [.init(productID: "B30", title: backpack30.title, event: .view, similarity: 0.9)],
                               sharedCategory: "Outdoor > Backpacks"))
        XCTAssertEqual(mixed, "因为您最近浏览了类似的 Outdoor 类商品「Trail Hiking Backpack 30L」，为您推荐「Hiking Backpack 40L」。")
    }

    func testPopularAndEmptyTitles() {
        XCTAssertEqual(ReasonWriter(language: .en).reason(for: knife, evidence: Evidence(source: .popular)), "Popular with shoppers right now: Chef Knife.")
        XCTAssertEqual(ReasonWriter(language: .zh).reason(for: knife, evidence: Evidence(source: .popular)), "近期热门商品，为您推荐「Chef Knife」。")
        let untitled = Product(id: "X9")
        XCTAssertEqual(ReasonWriter(language: .en).reason(for: untitled, evidence: Evidence(source: .popular)), "Popular with shoppers right now: product X9.")
    }

    func testLowSimilarityStillCitesTheClosestItemTruthfully() {
        let evidence = EvidenceFinder(minimumSimilarity: 0.9).evidence(
            for: (knife, unit([1, 0])), history: [(boots, .cart, unit([0.2, 1]))], source: .similarToHistory)
        XCTAssertEqual(evidence.historyItems.count, 1)
        XCTAssertLessThan(evidence.historyItems[0].similarity, 0.9)
        XCTAssertEqual(ReasonWriter(language: .en).reason(for: knife, evidence: evidence),
                       "Because you recently added Waterproof Hiking Boots to your cart, we recommend Chef Knife.")
    }
}
