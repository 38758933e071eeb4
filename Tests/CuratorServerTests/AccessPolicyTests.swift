import CuratorServer
import Hummingbird
import HummingbirdTesting
import XCTest

/// The access policy as one table: every route against every kind of credential, in process.
/// README "Security" states the same table in words.
final class AccessPolicyTests: XCTestCase {
    enum Caller: String, CaseIterable {
        case none, sessionS1 = "session for S1", sessionS2 = "session for S2", eventsKey = "events key", adminKey = "admin key",
            invalid = "invalid credential"
    }

    /// What a route requires, and so what each caller gets: nil is any 2xx.
    enum Rule {
        case open, catalogueRead, eventsOfS1, shopperS1Read, shopperList, admin, sessionForS1, anonymousSession, settingsOfS1, erasureOfS1

        func expected(_ caller: Caller, authReads: Bool, openShopperReads: Bool) -> HTTPResponse.Status? {
            if self == .open { return nil }
            if caller == .invalid { return .unauthorized }
            switch (self, caller) {
            case (.catalogueRead, .none): return authReads ? .unauthorized : nil
            case (.catalogueRead, _): return nil
            case (.eventsOfS1, .none): return .unauthorized
            case (.eventsOfS1, .sessionS2): return .forbidden
            case (.eventsOfS1, _): return nil
            case (.shopperS1Read, .none): return openShopperReads ? nil : .unauthorized
            case (.shopperS1Read, .sessionS2): return openShopperReads ? nil : .forbidden
            case (.shopperS1Read, _): return nil
            case (.shopperList, .adminKey): return nil
            case (.shopperList, .none): return openShopperReads ? nil : .unauthorized
            case (.shopperList, _): return openShopperReads ? nil : .forbidden
            case (.admin, .adminKey): return nil
            case (.admin, .none): return .unauthorized
            case (.admin, .eventsKey): return .forbidden
            case (.admin, _): return .forbidden
            case (.sessionForS1, .none): return .unauthorized
            case (.sessionForS1, .sessionS2): return .forbidden
            case (.sessionForS1, _): return nil
            case (.anonymousSession, _): return nil
            case (.settingsOfS1, .none): return .unauthorized
            case (.settingsOfS1, .sessionS2): return .forbidden
            case (.settingsOfS1, _): return nil
            case (.erasureOfS1, .none): return .unauthorized
            case (.erasureOfS1, .sessionS2), (.erasureOfS1, .eventsKey): return .forbidden
            case (.erasureOfS1, _): return nil
            default: return nil
            }
        }
    }

    struct Route {
        var method: HTTPRequest.Method
        var uri: String
        var body: String?
        var rule: Rule
    }

    static let routes: [Route] = [
        Route(method: .get, uri: "/healthz", rule: .open),
        Route(method: .get, uri: "/metrics", rule: .open),
        Route(method: .get, uri: "/openapi.yaml", rule: .open),
        Route(method: .get, uri: "/storefront/config.json", rule: .open),
        Route(method: .get, uri: "/v1/products", rule: .catalogueRead),
        Route(method: .get, uri: "/v1/products?q=hiking%20boots&k=3", rule: .catalogueRead),
        Route(method: .get, uri: "/v1/products/P1", rule: .catalogueRead),
        Route(method: .get, uri: "/v1/products/P1/similar?k=3", rule: .catalogueRead),
        Route(method: .get, uri: "/v1/categories", rule: .catalogueRead),
        Route(method: .get, uri: "/v1/models", rule: .catalogueRead),
        Route(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1"], "k": 3}"#, rule: .catalogueRead),
        Route(method: .post, uri: "/v1/events", body: #"{"user_id": "S1", "product_id": "P3", "event": "view"}"#, rule: .eventsOfS1),
        Route(method: .get, uri: "/v1/shoppers/S1", rule: .shopperS1Read),
        Route(method: .get, uri: "/v1/shoppers/S1/recommendations?k=3", rule: .shopperS1Read),
        Route(method: .get, uri: "/v1/shoppers?limit=5", rule: .shopperList),
        Route(method: .put, uri: "/v1/products/P7", body: #"{"title": "Tent", "category": "Outdoor > Camping"}"#, rule: .admin),
        Route(method: .post, uri: "/v1/products", body: #"[{"product_id": "P8", "title": "Kettle"}]"#, rule: .admin),
        Route(method: .delete, uri: "/v1/products/P6", rule: .admin),
        Route(method: .post, uri: "/v1/models/reload", rule: .admin),
        Route(method: .get, uri: "/v1/metrics/online?group_by=surface", rule: .admin),
        Route(method: .get, uri: "/v1/experiments", rule: .admin),
        Route(method: .post, uri: "/v1/experiments",
              body: #"{"name": "e1", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "semantic"}]}"#, rule: .admin),
        Route(method: .put, uri: "/v1/rules/r1", body: #"{"kind": "block", "brand": "Edge"}"#, rule: .admin),
        Route(method: .get, uri: "/v1/rules", rule: .admin),
        Route(method: .get, uri: "/v1/rules/r1", rule: .admin),
        Route(method: .delete, uri: "/v1/rules/r1", rule: .admin),
        Route(method: .post, uri: "/v1/sessions", body: #"{"shopper": "S1"}"#, rule: .sessionForS1),
        Route(method: .post, uri: "/v1/sessions", rule: .anonymousSession),
        Route(method: .get, uri: "/v1/shoppers/S1/preferences", rule: .settingsOfS1),
        Route(method: .put, uri: "/v1/shoppers/S1/preferences", body: #"{"personalised": false}"#, rule: .settingsOfS1),
        // Last: it erases S1.
        Route(method: .delete, uri: "/v1/shoppers/S1", rule: .erasureOfS1),
    ]

    /// Every route × every caller, each caller on a shop of its own (writes succeed once).
    private func checkTable(authReads: Bool = false, openShopperReads: Bool = false) async throws {
        for caller in Caller.allCases {
            let shop = try await TestShop { configuration in
                configuration.authenticateReads = authReads
                configuration.openShopperReads = openShopperReads
            }
            defer { shop.remove() }
            try await shop.test { client in
                let credential: String?
                switch caller {
                case .none: credential = nil
                case .sessionS1: credential = try await client.sessionToken(for: "S1")
                case .sessionS2: credential = try await client.sessionToken(for: "S2")
                case .eventsKey: credential = TestShop.eventsKey
                case .adminKey: credential = TestShop.adminKey
                case .invalid: credential = "not-a-key-nor-a-token"
                }
                for route in Self.routes {
                    let (status, body) = try await client.send(route.method, route.uri, bearer: credential, json: route.body)
                    let label = "\(route.method) \(route.uri) with \(caller.rawValue) (auth reads \(authReads), open shopper reads \(openShopperReads))"
                    if let expected = route.rule.expected(caller, authReads: authReads, openShopperReads: openShopperReads) {
                        XCTAssertEqual(status, expected, "\(label): \(body)")
                        XCTAssertTrue(body.contains(#""error""#), "\(label): a refusal in the API's error shape: \(body)")
                    } else {
                        XCTAssertTrue((200..<300).contains(status.code), "\(label): expected 2xx, got \(status.code): \(body)")
                    }
                }
            }
        }
    }

    func testEveryRouteAgainstEveryCredential() async throws {
        try await checkTable()
    }

    func testAuthenticatedReads() async throws {
        try await checkTable(authReads: true)
    }

    func testOpenShopperReads() async throws {
        try await checkTable(openShopperReads: true)
    }

    func testWithoutKeysWritesAreOpen() async throws {
        let shop = try await TestShop { $0.apiKeys = [:] }
        defer { shop.remove() }
        try await shop.test { client in
            for route in Self.routes where [.eventsOfS1, .admin, .catalogueRead, .anonymousSession].contains(route.rule) {
                let (status, body) = try await client.send(route.method, route.uri, json: route.body)
                XCTAssertTrue((200..<300).contains(status.code), "\(route.method) \(route.uri) without keys: \(status.code) \(body)")
            }
            // Shopper data stays closed without --open-shopper-reads, keys or not.
            let (status, _) = try await client.send(.get, "/v1/shoppers/S1")
            XCTAssertEqual(status, .unauthorized)
        }
    }
}
