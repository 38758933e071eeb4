import CuratorCore
import Foundation
import Hummingbird

/// Per-request state: who is asking (resolved once by `CredentialMiddleware`) and the body limit,
/// plus the API's JSON decoder and encoder for `request.decode(as:)` and `ResponseEncodable`.
struct CuratorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var credential: Credential = .none
    var maxBodyBytes = 8 << 20
    /// The connection's peer (nil in process, where there is no socket).
    let remoteAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    var maxUploadSize: Int { maxBodyBytes }
    var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    /// Curator's one JSON configuration (`CuratorJSON`): sorted keys, so equal documents are equal bytes.
    var responseEncoder: JSONEncoder { CuratorJSON.encoder() }
}

/// Reads the credential and sets the body limit before any route runs.
struct CredentialMiddleware: RouterMiddleware {
    typealias Context = CuratorRequestContext
    let access: AccessPolicy
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.credential = access.credential(for: request)
        context.maxBodyBytes = maxBodyBytes
        return try await next(request, context)
    }
}
