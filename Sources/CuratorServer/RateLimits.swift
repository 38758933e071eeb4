import CuratorCore
import Foundation
import Hummingbird
import Synchronization

/// How many requests of each kind one caller may make per minute (0: no limit). A bucket holds a
/// minute's worth and refills continuously, so a burst up to the limit passes and a steady stream
/// above it is refused with 429 and `Retry-After`.
public struct RateLimits: Sendable, Equatable {
    /// `POST /v1/sessions` without a key, per client address.
    public var sessionsPerMinute: Int
    /// `POST /v1/events` per session token (per shopper), or per address without a credential.
    public var eventsPerMinute: Int
    /// `POST /v1/events` per key scope (every admin key together, every events key together).
    public var keyEventsPerMinute: Int
    /// Recommendations for a sent history and searches without a key, per client address.
    public var anonymousPerMinute: Int

    public init(sessionsPerMinute: Int = 60, eventsPerMinute: Int = 600, keyEventsPerMinute: Int = 0, anonymousPerMinute: Int = 1_200) {
        self.sessionsPerMinute = sessionsPerMinute
        self.eventsPerMinute = eventsPerMinute
        self.keyEventsPerMinute = keyEventsPerMinute
        self.anonymousPerMinute = anonymousPerMinute
    }

    /// No limits at all (benchmarks that drive the server from one address).
    public static let none = RateLimits(sessionsPerMinute: 0, eventsPerMinute: 0, keyEventsPerMinute: 0, anonymousPerMinute: 0)
}

/// Token buckets by caller, in memory (each replica counts its own callers; behind a load balancer
/// that spreads one caller over N replicas, the limit is N times as high).
package final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
        var perMinute: Double

        func isFull(at now: Double) -> Bool { tokens + (now - updated) * perMinute / 60 >= perMinute }
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        /// Sweep when there are more buckets than this: buckets that have refilled completely are
        /// dropped (they would start full anyway); if most are still in use, the next sweep waits
        /// until there are twice as many.
        var sweepAt = TokenBuckets.sweepAbove
    }

    private let state = Mutex(State())
    static let sweepAbove = 100_000

    /// Takes one token from `key`'s bucket of `perMinute`; nil when allowed, else the seconds until one is there.
    package init() {}

    package func take(_ key: String, perMinute: Int, now: Double = Date().timeIntervalSince1970) -> Int? {
        guard perMinute > 0 else { return nil }
        let capacity = Double(perMinute), rate = capacity / 60
        return state.withLock { state in
            var bucket = state.buckets[key] ?? Bucket(tokens: capacity, updated: now, perMinute: capacity)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            defer {
                state.buckets[key] = bucket
                if state.buckets.count > state.sweepAt {
                    state.buckets = state.buckets.filter { !$0.value.isFull(at: now) }
                    state.sweepAt = max(Self.sweepAbove, state.buckets.count * 2)
                }
            }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// The address a request came from: the connection's, or, when the connection is from a proxy the
/// server was told to trust (`--trusted-proxy`), the last address in `X-Forwarded-For` that is not
/// itself a trusted proxy. Never the header alone, which any client can write.
package enum ClientAddress {
    package static func resolve(remote: String?, forwardedFor: String?, trustedProxies: Set<String>) -> String {
        guard let remote else { return "unknown" }
        guard trustedProxies.contains(remote), let forwardedFor else { return remote }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !trustedProxies.contains(hop) { return hop }
        return hops.first ?? remote
    }
}

/// Refuses requests over their caller's limit with 429 and `Retry-After`, before any work.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = CuratorRequestContext
    let limits: RateLimits
    let trustedProxies: Set<String>
    let buckets = TokenBuckets()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let (key, perMinute, what) = bucket(for: request, context: context), let wait = buckets.take(key, perMinute: perMinute) {
            var error = APIError(status: .tooManyRequests, message: "too many \(what); try again in \(wait) s")
            error.retryAfterSeconds = wait
            throw error
        }
        return try await next(request, context)
    }

    /// Which bucket a request draws from, if any.
    private func bucket(for request: Request, context: Context) -> (key: String, perMinute: Int, what: String)? {
        // As the router reads it: empty segments ("/v1//events/") do not make another path.
        let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
        let address = {
            ClientAddress.resolve(remote: context.remoteAddress, forwardedFor: HTTPFields.Element.Name("X-Forwarded-For").flatMap { request.headers[$0] }, trustedProxies: trustedProxies)
        }
        let keyed = context.credential.isKey
        switch (request.method, path) {
        case (.post, "/v1/sessions"):
            return keyed ? nil : ("session " + address(), limits.sessionsPerMinute, "sessions from this address")
        case (.post, "/v1/events"):
            switch context.credential {
            case .key(let scope): return ("key " + scope.rawValue, limits.keyEventsPerMinute, "event batches for this key")
            case .session(let claims): return ("events " + claims.shopper, limits.eventsPerMinute, "event batches for this session")
            default: return ("events " + address(), limits.eventsPerMinute, "event batches from this address")
            }
        case (.post, "/v1/recommendations"):
            return keyed ? nil : ("anonymous " + address(), limits.anonymousPerMinute, "requests from this address")
        case (.get, "/v1/products"):
            guard !keyed, let q = FormQuery(request.uri.query).get("q"), !q.isEmpty else { return nil }
            return ("anonymous " + address(), limits.anonymousPerMinute, "requests from this address")
        default:
            return nil
        }
    }
}
