import CuratorCore
import CuratorServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Rate limits: token buckets per caller, 429 with Retry-After past a limit, keys exempt from the
/// per-address limits, and X-Forwarded-For believed only from a trusted proxy.
final class RateLimitTests: XCTestCase {
    func testABucketLetsABurstThroughThenRefillsAtItsRate() {
        let buckets = TokenBuckets()
        for _ in 0..<60 { XCTAssertNil(buckets.take("a", perMinute: 60, now: 1_000)) }
        XCTAssertEqual(buckets.take("a", perMinute: 60, now: 1_000), 1, "empty: one token a second")
        XCTAssertNil(buckets.take("b", perMinute: 60, now: 1_000), "another caller has its own bucket")
        XCTAssertNil(buckets.take("a", perMinute: 60, now: 1_001.5))
        XCTAssertNotNil(buckets.take("a", perMinute: 60, now: 1_001.5))
        XCTAssertNil(buckets.take("a", perMinute: 0, now: 1_001.5), "0 is no limit")
        XCTAssertEqual(buckets.take("c", perMinute: 1, now: 0), nil)
        XCTAssertEqual(buckets.take("c", perMinute: 1, now: 0), 60)
    }

    func testForwardedForIsBelievedOnlyFromATrustedProxy() {
        XCTAssertEqual(ClientAddress.resolve(remote: "10.0.0.9", forwardedFor: "1.2.3.4", trustedProxies: []), "10.0.0.9")
        XCTAssertEqual(ClientAddress.resolve(remote: "10.0.0.9", forwardedFor: "1.2.3.4", trustedProxies: ["127.0.0.1"]), "10.0.0.9")
        XCTAssertEqual(ClientAddress.resolve(remote: "127.0.0.1", forwardedFor: "1.2.3.4", trustedProxies: ["127.0.0.1"]), "1.2.3.4")
        // A client's own X-Forwarded-For comes first; the trusted proxy appends the address it saw.
        XCTAssertEqual(ClientAddress.resolve(remote: "127.0.0.1", forwardedFor: "6.6.6.6, 1.2.3.4", trustedProxies: ["127.0.0.1"]), "1.2.3.4")
        XCTAssertEqual(ClientAddress.resolve(remote: "127.0.0.1", forwardedFor: nil, trustedProxies: ["127.0.0.1"]), "127.0.0.1")
        XCTAssertEqual(ClientAddress.resolve(remote: nil, forwardedFor: "1.2.3.4", trustedProxies: []), "unknown")
    }

    func testPastTheLimitA429WithRetryAfterAndKeysAreNotLimitedPerAddress() async throws {
        let shop = try await TestShop { configuration in
            configuration.rateLimits = RateLimits(sessionsPerMinute: 3, eventsPerMinute: 2, keyEventsPerMinute: 0, anonymousPerMinute: 4)
        }
        defer { shop.remove() }
        try await shop.test { client in
            func send(_ method: HTTPRequest.Method, _ uri: String, bearer: String? = nil, json: String? = nil,
                      forwardedFor: String? = nil) async throws -> (HTTPResponse.Status, String?) {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let bearer { headers[.authorization] = "Bearer \(bearer)" }
                if let forwardedFor, let name = HTTPFields.Element.Name("X-Forwarded-For") { headers[name] = forwardedFor }
                return try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
                    (response.status, response.headers[.retryAfter])
                }
            }
            // Sessions per address: a spoofed X-Forwarded-For does not make a new caller (no trusted proxy).
            for i in 0..<3 {
                let (status, _) = try await send(.post, "/v1/sessions", forwardedFor: "9.9.9.\(i)")
                XCTAssertEqual(status, .created)
            }
            let (refused, retryAfter) = try await send(.post, "/v1/sessions", forwardedFor: "8.8.8.8")
            XCTAssertEqual(refused, .tooManyRequests)
            XCTAssertEqual(retryAfter.flatMap(Int.init), 20, "a minute holds 3: one every 20 s")
            let (withKey, _) = try await send(.post, "/v1/sessions", bearer: TestShop.eventsKey, json: #"{"shopper": "S1"}"#)
            XCTAssertEqual(withKey, .created, "a key is the shop's own back end")

            // Events per session.
            let token = try await client.sessionToken(for: "S1")
            let event = #"{"user_id": "S1", "product_id": "P3", "event": "view"}"#
            for _ in 0..<2 {
                let (status, _) = try await send(.post, "/v1/events", bearer: token, json: event)
                XCTAssertEqual(status, .ok)
            }
            let (tooMany, wait) = try await send(.post, "/v1/events", bearer: token, json: event)
            XCTAssertEqual(tooMany, .tooManyRequests)
            XCTAssertNotNil(wait)
            let (keyed, _) = try await send(.post, "/v1/events", bearer: TestShop.eventsKey, json: event)
            XCTAssertEqual(keyed, .ok, "keys have their own limit, off by default")

            // Anonymous recommendations and searches share one per-address budget.
            var statuses: [HTTPResponse.Status] = []
            for i in 0..<5 {
                let (status, _) = i % 2 == 0
                    ? try await send(.post, "/v1/recommendations", json: #"{"viewed": ["P1"]}"#)
                    : try await send(.get, "/v1/products?q=boots")
                statuses.append(status)
            }
            XCTAssertEqual(statuses, [.ok, .ok, .ok, .ok, .tooManyRequests])
            let (browse, _) = try await send(.get, "/v1/products")
            XCTAssertEqual(browse, .ok, "browsing the catalogue is not limited")
        }
    }

    func testASessionCannotDateItsEventsToSpreadThemOverDays() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        let before = shop.engine.popularity(of: "P3") ?? 0
        try await shop.test { client in
            let token = try await client.sessionToken(for: "S9")
            let events = (1...10).map { #"{"user_id": "S9", "product_id": "P3", "event": "purchase", "timestamp": "2026-01-\#(String(format: "%02d", $0))T12:00:00Z"}"# }
            let (status, body) = try await client.send(.post, "/v1/events", bearer: token, json: "[" + events.joined(separator: ",") + "]")
            XCTAssertEqual(status, .ok, body)
            let (_, history) = try await client.send(.get, "/v1/shoppers/S9", bearer: token)
            XCTAssertFalse(history.contains("2026-01-0"), "a session's events are stamped with the server's time: \(history)")
            // A key replays history with its own times.
            let (keyed, answer) = try await client.send(.post, "/v1/events", bearer: TestShop.eventsKey,
                                                        json: #"{"user_id": "S8", "product_id": "P3", "event": "purchase", "timestamp": "2026-01-02T12:00:00Z"}"#)
            XCTAssertEqual(keyed, .ok, answer)
            let (_, replayed) = try await client.send(.get, "/v1/shoppers/S8", bearer: TestShop.adminKey)
            XCTAssertTrue(replayed.contains("2026-01-02T12:00:00"), replayed)
        }
        XCTAssertEqual((shop.engine.popularity(of: "P3") ?? 0) - before, 2 * EventType.purchase.weight, "S9 once, S8 once")
    }
}
