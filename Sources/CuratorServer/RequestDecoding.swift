import CuratorCore
import Foundation
import Hummingbird

/// Decodes request bodies for `request.decode(as:context:)`, answering every problem in the
/// API's error shape: an empty or oversized body, invalid JSON, and a field of the wrong type
/// named by its path (`events[1].event`), never Foundation's `DecodingError` text.
struct APIRequestDecoder: RequestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        try Self.decode(type, from: try await Self.collect(request, context: context))
    }

    /// The whole body, up to the context's limit (`--max-body-bytes`); past it, 413.
    static func collect(_ request: Request, context: some RequestContext) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: context.maxUploadSize)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // NIO's too-many-bytes error, which Hummingbird would answer with an empty 413.
            throw APIError(status: .contentTooLarge, message: "the request body is larger than \(context.maxUploadSize) bytes (--max-body-bytes)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; send JSON") }
        do {
            return try CuratorJSON.decoder().decode(type, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw Self.apiError(error)
        }
    }

    /// What went wrong, where. Most field problems are thrown as `APIError` by the request types
    /// themselves (`FieldReader`); this covers the structural rest.
    static func apiError(_ error: DecodingError) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .badRequest("the request body is not valid JSON")
        case .dataCorrupted(let context):
            let path = FieldPath(context.codingPath).text
            return .badRequest("field '\(path)' is not valid", field: path)
        case .keyNotFound(let key, let context):
            let path = FieldPath(context.codingPath + [key]).text
            return .badRequest("missing field '\(path)'", field: path)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = FieldPath(context.codingPath).text
            if path.isEmpty { return .badRequest("the request body has the wrong shape (see openapi.yaml)") }
            return .badRequest("field '\(path)' has the wrong type", field: path)
        @unknown default:
            return .badRequest("the request body cannot be read")
        }
    }
}

/// A field's place in the body as the API names it: `events[1].event`, `[0].price`, `title`.
struct FieldPath: Sendable {
    let text: String

    init(_ codingPath: [any CodingKey]) {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        self.text = text
    }

    /// The path of a field inside this object.
    func appending(_ key: String) -> String { text.isEmpty ? key : text + "." + key }
}

/// Reads one JSON object's fields with the API's rules and messages: strings may be sent as
/// numbers (ids and prices often are), booleans must be booleans, and every refusal names the
/// field by its full path.
struct FieldReader<Key: CodingKey> {
    let container: KeyedDecodingContainer<Key>
    let path: FieldPath

    /// `what` names the object in the message when the value is not an object at all.
    init(_ decoder: any Decoder, keyedBy: Key.Type, what: String) throws {
        path = FieldPath(decoder.codingPath)
        do {
            container = try decoder.container(keyedBy: Key.self)
        } catch {
            throw APIError.badRequest(path.text.isEmpty ? "\(what) must be a JSON object" : "\(path.text) must be a JSON object",
                                      field: path.text.isEmpty ? nil : path.text)
        }
    }

    /// A string, or a number written as text; nil when absent or null.
    func string(_ key: Key) throws -> String? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let text = try? container.decode(String.self, forKey: key) { return text }
        if let whole = try? container.decode(Int64.self, forKey: key) { return String(whole) }
        if let number = try? container.decode(Double.self, forKey: key), number.isFinite { return String(number) }
        throw APIError.badRequest("field '\(field(key))' must be a string", field: field(key))
    }

    /// A decimal as text: a string as sent, or a JSON number in plain digits. Swift writes very
    /// small and very large doubles with an exponent (`1e-05`), which decimal fields refuse, so a
    /// number is spelled out (`0.00001`) before the field's own check; nil when absent or null.
    func decimal(_ key: Key) throws -> String? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let text = try? container.decode(String.self, forKey: key) { return text }
        if let whole = try? container.decode(Int64.self, forKey: key) { return String(whole) }
        if let number = try? container.decode(Double.self, forKey: key), number.isFinite { return Self.plainDigits(number) }
        throw APIError.badRequest("field '\(field(key))' must be a number or a decimal string", field: field(key))
    }

    /// A decimal field (see `decimal`) in canonical form ("02.10" → "2.10"); text that is not a
    /// plain non-negative decimal is a 400 saying the field is not `what`.
    func canonicalDecimal(_ key: Key, mustBe what: String) throws -> String? {
        guard let text = try decimal(key) else { return nil }
        guard let canonical = Decimals.canonical(text) else {
            throw APIError.badRequest("field '\(field(key))': '\(text)' is not \(what)", field: field(key))
        }
        return canonical
    }

    /// A finite double's shortest decimal form without an exponent: `1e-05` → `0.00001`, `1e+21` → `1` and 21 zeros.
    static func plainDigits(_ number: Double) -> String {
        let text = "\(number)"
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }), let exponent = Int(text[text.index(after: e)...]) else { return text }
        var mantissa = text[..<e]
        let sign = mantissa.hasPrefix("-") ? "-" : ""
        if !sign.isEmpty { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
        // Where the decimal point falls in `digits`.
        var point = parts[0].count + exponent
        if point < 1 {
            digits = String(repeating: "0", count: 1 - point) + digits
            point = 1
        }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }

    func requiredString(_ key: Key) throws -> String {
        guard let text = try string(key) else { throw APIError.badRequest("missing field '\(field(key))'", field: field(key)) }
        return text
    }

    func bool(_ key: Key) throws -> Bool? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        guard let value = try? container.decode(Bool.self, forKey: key) else {
            throw APIError.badRequest("field '\(field(key))' must be true or false", field: field(key))
        }
        return value
    }

    /// A whole number; `2.0` counts, `2.5` and `"2"` do not.
    func wholeNumber(_ key: Key) throws -> Int64? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let whole = try? container.decode(Int64.self, forKey: key) { return whole }
        if let number = try? container.decode(Double.self, forKey: key) {
            guard let whole = Int64(exactly: number) else {
                throw APIError.badRequest("field '\(field(key))' must be a whole number", field: field(key))
            }
            return whole
        }
        throw APIError.badRequest("field '\(field(key))' must be a number", field: field(key))
    }

    /// A number (`1`, `0.5`); nil when absent or null.
    func number(_ key: Key) throws -> Double? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        guard let number = try? container.decode(Double.self, forKey: key) else {
            throw APIError.badRequest("field '\(field(key))' must be a number", field: field(key))
        }
        return number
    }

    /// A JSON array of whole numbers; nil when absent or null.
    func wholeNumbers(_ key: Key) throws -> [Int]? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        guard var items = try? container.nestedUnkeyedContainer(forKey: key) else {
            throw APIError.badRequest("field '\(field(key))' must be an array of whole numbers", field: field(key))
        }
        var list: [Int] = []
        while !items.isAtEnd {
            let index = items.currentIndex
            guard let whole = try? items.decode(Int.self) else {
                throw APIError.badRequest("field '\(field(key))[\(index)]' must be a whole number", field: "\(field(key))[\(index)]")
            }
            list.append(whole)
        }
        return list
    }

    /// A list of strings given as a JSON array (items may be numbers) or as one comma-separated string.
    func stringList(_ key: Key) throws -> [String]? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let text = try? container.decode(String.self, forKey: key) {
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard var items = try? container.nestedUnkeyedContainer(forKey: key) else {
            throw APIError.badRequest("field '\(field(key))' must be an array of strings", field: field(key))
        }
        var list: [String] = []
        while !items.isAtEnd {
            let index = items.currentIndex
            if let text = try? items.decode(String.self) {
                list.append(text)
            } else if let whole = try? items.decode(Int64.self) {
                list.append(String(whole))
            } else {
                throw APIError.badRequest("field '\(field(key))[\(index)]' must be a string", field: "\(field(key))[\(index)]")
            }
        }
        return list
    }

    /// The full path of a field of this object, for messages.
    func field(_ key: Key) -> String { path.appending(key.stringValue) }
}

/// The one key of a `{"events": [...]}` wrapper, named at run time.
private struct WrapperKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A body of one item, an array of items, or `{"<name>": [...]}`: what `POST /v1/events` and
/// `POST /v1/products` accept. The count is checked before any item is decoded, so an
/// over-size batch costs no decoding and always gets 413.
struct Batch<Item: Decodable & Sendable>: Sendable {
    var items: [Item]
    /// The wrapping field (`events`), or nil when the body was a bare array or item.
    var wrapper: String?

    static func decode(from decoder: any Decoder, wrapper name: String, allowSingle: Bool, limit: Int, noun: String) throws -> Batch {
        if var list = try? decoder.unkeyedContainer() {
            return Batch(items: try decodeItems(&list, field: nil, limit: limit, noun: noun), wrapper: nil)
        }
        let key = WrapperKey(stringValue: name)
        if let object = try? decoder.container(keyedBy: WrapperKey.self), object.contains(key) {
            guard var list = try? object.nestedUnkeyedContainer(forKey: key) else {
                throw APIError.badRequest("field '\(name)' must be an array", field: name)
            }
            return Batch(items: try decodeItems(&list, field: name, limit: limit, noun: noun), wrapper: name)
        }
        guard allowSingle else {
            throw APIError.badRequest("the body must be an array of \(noun) or {\"\(name)\": [...]}")
        }
        return Batch(items: [try Item(from: decoder)], wrapper: nil)
    }

    private static func decodeItems(_ list: inout any UnkeyedDecodingContainer, field: String?, limit: Int, noun: String) throws -> [Item] {
        let count = list.count ?? 0
        guard count > 0 else { throw APIError.badRequest("no \(noun) in the request", field: field) }
        guard count <= limit else {
            throw APIError(status: .contentTooLarge, message: "at most \(limit.grouped) \(noun) per request (got \(count.grouped))", field: field)
        }
        var items: [Item] = []
        items.reserveCapacity(count)
        while !list.isAtEnd { items.append(try list.decode(Item.self)) }
        return items
    }
}

extension Int {
    /// `10000` as `10,000`, the way the API's messages and documentation write limits.
    var grouped: String {
        let digits = String(magnitude)
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (self < 0 ? "-" : "") + out
    }
}
