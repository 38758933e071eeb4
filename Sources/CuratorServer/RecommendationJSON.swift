import CuratorEngine
import Explanations
import Hummingbird

/// Writes a recommendation list as JSON straight into a byte buffer: the hottest response of
/// the API, where Foundation's `JSONEncoder` took a sixth of the server's CPU (`perf record`
/// under `wrk`, README "Serving"). Same document as `JSONEncoder` with sorted keys would
/// produce; every other response is a Codable type.
package struct RecommendationJSON: ResponseGenerator, Sendable {
    package private(set) var bytes: [UInt8] = []
    /// Answered from memory without the shopper's history (the store could not be read): said
    /// in a `Curator-Degraded` header, so the body keeps its one shape.
    var degraded = false

    package init(_ list: RecommendationList) {
        bytes.reserveCapacity(512 + list.items.count * 640)
        raw("{\"experiment\":")
        optionalString(list.experiment)
        raw(",\"items\":[")
        for (i, item) in list.items.enumerated() {
            if i > 0 { raw(",") }
            write(item)
        }
        raw("],\"model\":")
        string(list.model)
        raw(",\"recommendation_id\":")
        optionalString(list.recommendationID)
        raw(",\"shopper\":")
        string(list.shopper)
        raw(",\"variant\":")
        optionalString(list.variant)
        raw("}")
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if degraded, let name = HTTPFields.Element.Name("Curator-Degraded") { headers[name] = "store-unavailable; without the shopper's history" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private mutating func write(_ item: RecommendedItem) {
        raw("{\"evidence\":{")
        let evidence = item.evidence
        raw("\"history_items\":[")
        for (i, cited) in evidence.historyItems.enumerated() {
            if i > 0 { raw(",") }
            raw("{\"event\":")
            string(cited.event.rawValue)
            raw(",\"product_id\":")
            string(cited.productID)
            raw(",\"similarity\":")
            number(cited.similarity)
            raw(",\"title\":")
            string(cited.title)
            raw("}")
        }
        raw("]")
        if let brand = evidence.sharedBrand {
            raw(",\"shared_brand\":")
            string(brand)
        }
        if let category = evidence.sharedCategory {
            raw(",\"shared_category\":")
            string(category)
        }
        raw(",\"source\":")
        string(evidence.source.rawValue)
        raw("},\"position\":")
        bytes.append(contentsOf: String(item.position).utf8)
        raw(",\"product_id\":")
        string(item.productID)
        raw(",\"reason\":")
        string(item.reason)
        raw(",\"rule\":")
        optionalString(item.rule)
        raw(",\"score\":")
        number(item.score)
        raw(",\"title\":")
        string(item.title)
        raw("}")
    }

    private mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// The shortest text that reads back as `value`, as `JSONEncoder` writes it: whole numbers
    /// without ".0" (`0`, `7`), others as `description` (`0.1`, `1e-07`).
    private mutating func number(_ value: Float) {
        guard value.isFinite else { return raw("null") }
        let text = value.description
        bytes.append(contentsOf: text.hasSuffix(".0") ? text.utf8.dropLast(2) : text.utf8[...])
    }

    private mutating func optionalString(_ text: String?) {
        guard let text else { return raw("null") }
        string(text)
    }

    /// A JSON string: quotes, backslashes and control characters escaped; other UTF-8 as is.
    private mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Titles and reasons almost never need escaping: copy them whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let low = byte & 0x0F
                bytes.append(UInt8(ascii: "0") + (byte >> 4))  // 0 or 1: control characters are below 0x20
                bytes.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + (low - 10))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
