import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import OnlineMeasurement

/// `POST /v1/events`: behaviour in, committed to the store and applied to the shopper's state
/// before the response.
struct EventController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy
    let metrics: ServerMetrics

    /// One event in the interchange format (`../shared/data/README.md`).
    struct EventInput: Decodable, Sendable {
        var userID: String
        var productID: String
        var type: EventType
        /// Nil: the time the server received it.
        var timestampMillis: Int64?
        var quantity: Int64?
        var price: String?
        /// The served list the event started from (a card's click, cart, favourite or purchase).
        var recommendationID: String?

        enum CodingKeys: String, CodingKey {
            case userID = "user_id", productID = "product_id", event, timestamp, quantity, price, recommendationID = "recommendation_id"
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the event")
            userID = try fields.requiredString(.userID)
            // Blank counts as empty: the store trims ids (as `curator import` does), so "  " would be the shopper "".
            guard !TextCleaning.identifier(userID).isEmpty else {
                throw APIError.badRequest("field '\(fields.field(.userID))' is empty", field: fields.field(.userID))
            }
            productID = try fields.requiredString(.productID)
            let typeText = try fields.requiredString(.event)
            guard let type = EventType(rawValue: typeText.lowercased()) else {
                throw APIError.badRequest("field '\(fields.field(.event))': unknown event type '\(typeText)' (expected view, click, cart, favorite or purchase)",
                                          field: fields.field(.event))
            }
            self.type = type
            if let text = try fields.string(.timestamp) {
                guard let parsed = Timestamps.parse(text) else {
                    throw APIError.badRequest("field '\(fields.field(.timestamp))': '\(text)' is not an ISO-8601 time like 2024-01-18T10:01:00Z",
                                              field: fields.field(.timestamp))
                }
                timestampMillis = parsed
            }
            quantity = try fields.wholeNumber(.quantity)
            price = try fields.canonicalDecimal(.price, mustBe: "a decimal number")
            if let id = try fields.string(.recommendationID), !id.isEmpty {
                guard RecommendationID.isWellFormed(id) else {
                    throw APIError.badRequest("field '\(fields.field(.recommendationID))': '\(id.prefix(40))' is not a recommendation id (the recommendation_id of a served list)",
                                              field: fields.field(.recommendationID))
                }
                recommendationID = id
            }
        }
    }

    /// One event, an array of events, or `{"events": [...]}`; at most `ServerConfiguration.maxBatch`.
    struct EventBatch: Decodable, Sendable {
        var events: [EventInput]

        init(from decoder: any Decoder) throws {
            events = try Batch<EventInput>.decode(from: decoder, wrapper: "events", allowSingle: true,
                                                  limit: ServerConfiguration.maxBatch, noun: "events").items
        }
    }

    struct EventsStored: ResponseEncodable, Sendable {
        var stored: Int
        var duplicates: Int
    }

    func addRoutes(to events: RouterGroup<CuratorRequestContext>) {
        events.post { request, context in
            // Whether the caller may record events at all is checked before the body is read, so a
            // refused caller costs no decoding; which shoppers, once the events are known.
            try access.requireEventWrite(context.credential, shoppers: [])
            let batch = try await request.decode(as: EventBatch.self, context: context)
            try access.requireEventWrite(context.credential, shoppers: batch.events.map(\.userID))
            let now = Timestamps.nowMillis()
            // Only a key (the shop's own back end, replaying history) may date events: a browser's
            // events happen now, so a script cannot spread fake purchases over many days. Without
            // keys configured everything is open, dating included.
            let dates = access.keys.isEmpty || context.credential.isKey
            let events = batch.events.map {
                Event(shopperID: $0.userID, productID: $0.productID, type: $0.type, timestampMillis: dates ? $0.timestampMillis ?? now : now,
                      quantity: $0.quantity, price: $0.price)
            }
            // Stored, and only the new events (not re-sent duplicates) counted toward popularity.
            let result = try await engine.record(events, recommendationIDs: batch.events.map(\.recommendationID))
            if !result.problems.isEmpty {
                throw APIError(status: .unprocessableContent,
                               message: "\(result.problems.count) event\(result.problems.count == 1 ? " names an unknown product" : "s name unknown products"); none of this batch was stored",
                               items: result.problems.map { Item(index: $0.index, field: $0.field, reason: $0.reason, productID: events[$0.index].productID) })
            }
            metrics.recordEvents(result.inserted)
            for type in EventType.allCases where type != .view {
                metrics.recordAttributed(type: type.rawValue, count: zip(batch.events, result.isNew).count { $0.type == type && $1 && $0.recommendationID != nil })
            }
            return EventsStored(stored: result.inserted, duplicates: result.duplicates)
        }
    }
}

private typealias Item = APIError.Item
