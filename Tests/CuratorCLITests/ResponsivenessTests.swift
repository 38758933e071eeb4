import CuratorCore
import Foundation
import Synchronization
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Blocking work (encoding, store writes, model swaps) runs on the server's own threads: while
/// 10,000 products are encoded and a trained model is swapped in, `/healthz` and recommendations
/// keep answering. The bound is loose on purpose (the machine is shared); `scripts/bench serve`
/// measures the tight figures.
final class ResponsivenessTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try SampleStore.make(named: "responsive")
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    /// Latency of one request in milliseconds, failing the test on anything but 200.
    func timed(_ server: RunningServer, _ path: String) async throws -> Double {
        let start = ContinuousClock.now
        let reply = try await server.request("GET", path)
        let elapsed = ContinuousClock.now - start
        XCTAssertEqual(reply.status, 200, "\(path): \(reply.text)")
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double { Percentile.of(values, p) }

    func testHealthAndRecommendationsAnswerDuringALargeUpsertAndAModelSwap() async throws {
        let server = try RunningServer(folder: folder, store: "s.sqlite", extraArguments: ["--model-poll", "0", "--open-shopper-reads"])
        defer { _ = server.stop() }
        // A model trained while the server runs, so the reload below swaps it in for real.
        XCTAssertEqual(try CLI.run(["split", "--store", "s.sqlite"], in: folder).status, 0)
        let trained = try CLI.run(["train", "--store", "s.sqlite", "--model", "sequential", "--epochs", "2", "--language-model", ModelFolder.path], in: folder)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        for _ in 0..<20 { _ = try await timed(server, "/healthz") }

        let kinds = ["Speaker", "Serum", "Tent", "Knife", "Jacket", "Lamp", "Backpack", "Kettle", "Mug", "Cable"]
        let brands = ["Arc", "Nova", "Velvet", "Summit", "Hearth", "Pixel", "Sonora", "Trail", "Gentle", "Bold"]
        let products = (0..<10_000).map { i -> [String: Any] in
            ["product_id": "BULK-\(i)", "title": "\(brands[i % 10]) \(brands[(i / 10) % 10]) \(kinds[(i / 100) % 10]) model \(i)",
             "brand": brands[i % 10], "category": "Bulk > \(kinds[(i / 100) % 10])",
             "description": "a \(kinds[i % 10].lowercased()) number \(i) for everyday use and travel", "price": "12.50"]
        }
        var upsert = URLRequest(url: URL(string: server.baseURL.absoluteString + "/v1/products")!)
        upsert.httpMethod = "POST"
        upsert.httpBody = try JSONSerialization.data(withJSONObject: ["products": products])
        upsert.setValue("application/json", forHTTPHeaderField: "Content-Type")
        upsert.timeoutInterval = 900
        let request = upsert
        let upsertStart = ContinuousClock.now
        let upsertDone = Flag()
        let upserting = Task { () -> Int in
            defer { upsertDone.set() }
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        try await Task.sleep(for: .milliseconds(300))
        var reload = URLRequest(url: URL(string: server.baseURL.absoluteString + "/v1/models/reload")!)
        reload.httpMethod = "POST"
        reload.timeoutInterval = 900
        let reloadRequest = reload
        let reloading = Task { () -> (status: Int, body: String) in
            let (data, response) = try await URLSession.shared.data(for: reloadRequest)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }

        var health: [Double] = [], recommendations: [Double] = []
        while !upsertDone.isSet {
            health.append(try await timed(server, "/healthz"))
            recommendations.append(try await timed(server, "/v1/shoppers/S00001/recommendations?k=10"))
            try await Task.sleep(for: .milliseconds(10))
        }
        let upsertStatus = try await upserting.value
        let upsertSeconds = Double((ContinuousClock.now - upsertStart).components.seconds)
        let reloaded = try await reloading.value
        XCTAssertEqual(upsertStatus, 200)
        XCTAssertEqual(reloaded.status, 200, reloaded.body)
        XCTAssertTrue(reloaded.body.contains("\"name\":\"sequential\""), reloaded.body)

        let healthP99 = Self.percentile(health, 0.99), recommendationsP99 = Self.percentile(recommendations, 0.99)
        print(String(format: "during a %.0f s upsert of 10,000 products and a model swap: /healthz p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d); recommendations p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d)",
                     upsertSeconds, Self.percentile(health, 0.5), healthP99, health.max() ?? 0, health.count,
                     Self.percentile(recommendations, 0.5), recommendationsP99, recommendations.max() ?? 0, recommendations.count))
        XCTAssertGreaterThan(health.count, 20, "the upsert must have lasted long enough to measure anything")
        XCTAssertLessThanOrEqual(healthP99, 50, "/healthz p99 while encoding")
        XCTAssertLessThanOrEqual(recommendationsP99, 50, "recommendations p99 while encoding")
        let count = try await server.request("GET", "/healthz")
        XCTAssertEqual(count.object["products"] as? Int, 10_090, count.text)
    }
}

/// Set once by one task, read by another.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
