import Foundation
import Hummingbird

/// The storefront page at `/` and its files, plus what the page needs to know about the server.
/// The page holds no key: it asks `POST /v1/sessions` for a token for its own shopper.
struct StorefrontController: Sendable {
    let configuration: ServerConfiguration

    struct StorefrontConfiguration: ResponseEncodable, Sendable {
        /// Keys are configured, so writes other than a session's own need one.
        var keysRequired: Bool
        /// Existing shoppers may be listed and acted as without a key (`--open-shopper-reads` and
        /// no keys: a local demo); otherwise the page offers only new, anonymous shoppers.
        var existingShoppers: Bool

        enum CodingKeys: String, CodingKey {
            case keysRequired = "keys_required", existingShoppers = "existing_shoppers"
        }
    }

    func addRoutes(to router: Router<CuratorRequestContext>) {
        let files = StorefrontFiles()
        router.get("/") { _, _ in try files.response(for: "index.html") }
        router.get("storefront/config.json") { _, _ in
            StorefrontConfiguration(keysRequired: !configuration.apiKeys.isEmpty,
                                    existingShoppers: configuration.openShopperReads && configuration.apiKeys.isEmpty)
        }
        router.get("storefront/:file") { _, context in try files.response(for: try context.parameters.require("file")) }
    }
}
