import CuratorCore
import Foundation
import Hummingbird

/// `POST /v1/sessions`: short-lived signed tokens that let one browser record events and read
/// recommendations for one shopper, so no API key ever has to reach a browser.
struct SessionController: Sendable {
    let access: AccessPolicy
    let sessions: SessionSigner

    /// `{}` or no body: a new anonymous shopper (or, with a valid token, that session renewed);
    /// `{"shopper": "S1"}` with an events or admin key: a session for that shopper.
    struct SessionRequest: Decodable, Sendable {
        var shopper: String?

        enum CodingKeys: String, CodingKey { case shopper }

        init(shopper: String? = nil) { self.shopper = shopper }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body")
            let sent = try fields.string(.shopper)
            shopper = sent?.trimmingCharacters(in: .whitespaces)
            // The length as sent, in code points (openapi.yaml's maxLength): characters after
            // trimming let a shopper of any size through as a few characters of combining marks.
            if let sent, let shopper, shopper.isEmpty || sent.unicodeScalars.count > 200 {
                throw APIError.badRequest("field 'shopper' must be a shopper id of 1 to 200 characters", field: "shopper")
            }
        }
    }

    struct SessionResponse: ResponseEncodable, Sendable {
        var token: String
        var shopper: String
        var anonymous: Bool
        var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case token, shopper, anonymous, expiresAt = "expires_at"
        }
    }

    func addRoutes(to group: RouterGroup<CuratorRequestContext>) {
        group.post { request, context in
            // The body is optional: a browser starting an anonymous session sends none.
            let buffer = try await APIRequestDecoder.collect(request, context: context)
            let body = buffer.readableBytes == 0 ? SessionRequest() : try APIRequestDecoder.decode(SessionRequest.self, from: buffer)
            try access.requireSessionCreation(context.credential, shopper: body.shopper)
            let claims: SessionClaims
            if case .session(let current) = context.credential, body.shopper == nil || access.sameShopper(current.shopper, body.shopper ?? "") {
                // Renewal: same shopper, same start, a new expiry; refused once the session is too old.
                let now = SessionSigner.now()
                guard now - current.createdAt < SessionSigner.maximumAge else {
                    throw APIError.unauthorized("this session is older than \(SessionSigner.maximumAge / 3600) hours and cannot be renewed; create a new one")
                }
                claims = sessions.claims(shopper: current.shopper, anonymous: current.anonymous, createdAt: current.createdAt, now: now)
            } else if let shopper = body.shopper {
                claims = sessions.claims(shopper: shopper, anonymous: false)
            } else {
                claims = sessions.claims(shopper: SessionSigner.anonymousShopperID(), anonymous: true)
            }
            let response = SessionResponse(token: sessions.issue(claims), shopper: claims.shopper, anonymous: claims.anonymous,
                                           expiresAt: Timestamps.format(millis: claims.expiresAt * 1000))
            var encoded = try response.response(from: request, context: context)
            encoded.status = .created
            // A token is a credential: no cache may keep it.
            encoded.headers[.cacheControl] = "no-store"
            return encoded
        }
    }
}
