import Foundation
import Hummingbird

/// The storefront page's files: shipped as package resources, or read from
/// `CURATOR_STOREFRONT_DIR` on every request while the page is being worked on.
struct StorefrontFiles: Sendable {
    let folder: URL?
    let readsFromDisk: Bool

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let dir = environment["CURATOR_STOREFRONT_DIR"], !dir.isEmpty {
            folder = URL(fileURLWithPath: dir, isDirectory: true)
            readsFromDisk = true
        } else {
            folder = Bundle.module.url(forResource: "Storefront", withExtension: nil)
            readsFromDisk = false
        }
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "json": "application/json", "ico": "image/x-icon",
    ]

    /// One file of the flat folder; names with anything but letters, digits, `.`, `-`, `_` are refused.
    func response(for name: String) throws -> Response {
        let allowed = name.utf8.allSatisfy { c in
            (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2E || c == 0x2D || c == 0x5F
        }
        guard allowed, !name.hasPrefix("."), let folder,
              let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else {
            throw APIError(status: .notFound, message: "no storefront file '\(name)'")
        }
        let type = Self.contentTypes[(name as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
        return Response(status: .ok,
                        headers: [.contentType: type, .cacheControl: readsFromDisk ? "no-store" : "no-cache",
                                  .init("X-Content-Type-Options")!: "nosniff"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
