import Foundation
import Hummingbird

/// An error answer: `{"error": {"status": 400, "message": "...", "field": "k", "items": [...]}}`.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var field: String?
    var items: [[String: Any]] = []

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, field: field)
    }

    var headers: HTTPFields { [.contentType: "application/json"] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var error: [String: Any] = ["status": Int(status.code), "message": message]
        if let field { error["field"] = field }
        if !items.isEmpty { error["items"] = items }
        let data = try JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// JSON body helpers that name the field at fault.
enum JSONBody {
    static func parse(_ buffer: ByteBuffer) throws -> Any {
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; send JSON") }
        do {
            return try JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed])
        } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
    }

    static func string(_ object: [String: Any], _ key: String, path: String, required: Bool = false) throws -> String? {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw APIError.badRequest("missing field '\(path)\(key)'", field: path + key) }
            return nil
        }
        if let string = value as? String { return string }
        if let number = value as? NSNumber, !isBool(number) { return number.stringValue }
        throw APIError.badRequest("field '\(path)\(key)' must be a string", field: path + key)
    }

    static func bool(_ object: [String: Any], _ key: String, path: String) throws -> Bool? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        if let number = value as? NSNumber, isBool(number) { return number.boolValue }
        throw APIError.badRequest("field '\(path)\(key)' must be true or false", field: path + key)
    }

    static func number(_ object: [String: Any], _ key: String, path: String) throws -> NSNumber? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        if let number = value as? NSNumber, !isBool(number) { return number }
        throw APIError.badRequest("field '\(path)\(key)' must be a number", field: path + key)
    }

    static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true))
    }

    static func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func encode(object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
