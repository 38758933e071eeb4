import CuratorCore
import CuratorEngine
import CuratorServer
import Foundation
import Hummingbird
import HummingbirdTesting
import SQLiteStorage
import Storage
import TestSupport
import TextModels
import XCTest

/// A small shop served in process: a SQLite store with a few products and one shopper's events,
/// the engine over `WordHashEncoder` vectors, and the server's application for HummingbirdTesting.
struct TestShop {
    static let adminKey = "admin-key-0123456789"
    static let eventsKey = "events-key-0123456789"

    let folder: URL
    let engine: RecommendationEngine
    let server: CuratorHTTPServer

    static let products = [
        Product(id: "P1", title: "Trail Hiking Boots", description: "Waterproof leather boots", brand: "Peak", category: "Outdoor > Boots", price: "89.00"),
        Product(id: "P2", title: "Trail Running Shoes", description: "Light shoes for trails", brand: "Peak", category: "Outdoor > Shoes", price: "65.00"),
        Product(id: "P3", title: "Camping Stove", description: "Compact gas stove", brand: "Ember", category: "Outdoor > Camping", price: "40.00"),
        Product(id: "P4", title: "Espresso Machine", description: "Fifteen bar pump", brand: "Crema", category: "Kitchen > Coffee", price: "199.00"),
        Product(id: "P5", title: "Coffee Grinder", description: "Burr grinder for espresso", brand: "Crema", category: "Kitchen > Coffee", price: "59.00"),
        Product(id: "P6", title: "Chef Knife", description: "Steel kitchen knife", brand: "Edge", category: "Kitchen > Knives", price: "35.00"),
    ]

    init(configuration: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: folder.appendingPathComponent("shop.sqlite").path, secret: .store)
        _ = try await store.upsertProducts(Self.products)
        let events = [("S1", "P1", EventType.view), ("S1", "P2", .purchase), ("S2", "P4", .view), ("S2", "P5", .cart)]
        _ = try await store.appendEvents(events.enumerated().map { i, event in
            Event(shopperID: event.0, productID: event.1, type: event.2, timestampMillis: 1_700_000_000_000 + Int64(i) * 1_000)
        })
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        engine = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
        var settings = ServerConfiguration(port: 0, apiKeys: [Self.adminKey: .admin, Self.eventsKey: .events], modelPollSeconds: 0)
        configuration(&settings)
        server = CuratorHTTPServer(engine: engine, configuration: settings)
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `body` against the server's routes in process (no socket).
    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await server.application().test(.router, body)
    }
}

extension TestClientProtocol {
    /// A request with an optional bearer credential and JSON body; returns status and body text.
    func send(_ method: HTTPRequest.Method, _ uri: String, bearer: String? = nil, json: String? = nil) async throws -> (status: HTTPResponse.Status, body: String) {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            (response.status, String(buffer: response.body))
        }
    }

    /// A session token for `shopper`, issued with the events key.
    func sessionToken(for shopper: String) async throws -> String {
        let (status, body) = try await send(.post, "/v1/sessions", bearer: TestShop.eventsKey, json: #"{"shopper": "\#(shopper)"}"#)
        XCTAssertEqual(status, .created, body)
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["token"] as? String, body)
    }
}
