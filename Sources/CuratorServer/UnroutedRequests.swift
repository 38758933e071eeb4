import CuratorCore
import Hummingbird

/// Answers a request no route took in the API's error shape: 405 with an `Allow` header when the
/// path is served with other methods, else 404. (Hummingbird answers both with an empty 404.)
struct UnroutedRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            let segments = path == "/" ? [] : path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            // An empty segment names nothing: `DELETE /v1/products/` is a product with no id (404),
            // not the product list. A path can match more than one route (`storefront/:file`).
            let routed = segments.contains(where: \.isEmpty) ? [] : routes.filter { route in
                route.path.count == segments.count && zip(route.path, segments).allSatisfy { $0 ~= $1 }
            }
            let allowed = Set(routed.map(\.method)).sorted { $0.rawValue < $1.rawValue }
            guard !allowed.isEmpty else { throw APIError.notFound("no such path: \(request.uri.path)") }
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(status: .methodNotAllowed, message: "\(request.uri.path) takes \(names), not \(request.method.rawValue)",
                           allowedMethods: allowed)
        }
    }
}

/// A store that cannot be reached is a 503 with `Retry-After`, in the API's error shape, never a
/// 500 or a hang: the request may simply be sent again (writes are idempotent).
struct StoreUnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreUnavailable {
            throw APIError(status: .serviceUnavailable, message: "\(error); send the request again shortly", retryAfterSeconds: 1)
        }
    }
}
