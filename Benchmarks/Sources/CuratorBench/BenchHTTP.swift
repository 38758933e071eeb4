import CuratorCore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The benches' one HTTP client for the requests they time or check by hand (wrk drives the
/// load): a request to a running `curator serve`, its status and how long it took.
struct BenchHTTP: Sendable {
    let base: String
    let session: URLSession

    init(base: String, connections: Int = 64, timeout: TimeInterval = 900) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    /// What a request got back.
    struct Reply: Sendable {
        /// Nil when no answer came (a refused or dropped connection).
        var status: Int?
        var milliseconds: Double
    }

    /// The request for `path`, with a bearer credential and a JSON body when given.
    func request(_ method: String, _ path: String, bearer: String? = nil, json: String? = nil) -> URLRequest {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        return request
    }

    /// Sends `request` and times it; a failed connection is a reply without a status.
    func send(_ request: URLRequest) async -> Reply {
        let clock = ContinuousClock()
        let started = clock.now
        let status = try? await (session.data(for: request).1 as? HTTPURLResponse)?.statusCode
        let elapsed = started.duration(to: clock.now)
        return Reply(status: status ?? nil, milliseconds: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }

    func send(_ method: String, _ path: String, bearer: String? = nil, json: String? = nil) async -> Reply {
        await send(request(method, path, bearer: bearer, json: json))
    }

    /// Sends and returns the status and the body (nil status: no answer).
    func exchange(_ method: String, _ path: String, bearer: String? = nil, json: String? = nil) async -> (status: Int?, body: Data) {
        guard let (data, response) = try? await session.data(for: request(method, path, bearer: bearer, json: json)) else { return (nil, Data()) }
        return ((response as? HTTPURLResponse)?.statusCode, data)
    }

    /// A JSON object from `path`, which must answer `expected`.
    func object(_ expected: Int, _ method: String, _ path: String, bearer: String? = nil, json: String? = nil, what: String) async throws -> [String: Any] {
        let (status, body) = await exchange(method, path, bearer: bearer, json: json)
        guard status == expected, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CuratorError.configuration("\(what): \(method) \(path) answered \(status.map(String.init) ?? "nothing"), expected \(expected): \(String(decoding: body.prefix(500), as: UTF8.self))")
        }
        return object
    }

    /// Sends and requires `expected`, else throws `what` failed.
    @discardableResult
    func expect(_ expected: Int, _ method: String, _ path: String, bearer: String? = nil, json: String? = nil, what: String) async throws -> Reply {
        let reply = await send(method, path, bearer: bearer, json: json)
        guard reply.status == expected else {
            throw CuratorError.configuration("\(what): \(method) \(path) answered \(reply.status.map(String.init) ?? "nothing"), expected \(expected)")
        }
        return reply
    }
}
