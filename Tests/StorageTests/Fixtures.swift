import Foundation
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// A temporary folder per test, removed afterwards.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("curator-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func store() throws -> CuratorStore { try CuratorStore(path: path("store.sqlite")) }
}

enum SharedData {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")

    static func dataset(_ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("events.csv").path) else {
            throw Prerequisite.missing("shared data not found at \(url.path)")
        }
        return url
    }
}

let catalogue = """
    product_id,title,description,brand,category,price
    P1,Trail Hiking Backpack 30L,Light pack,Summit,Outdoor,59.90
    P2,Waterproof Hiking Boots,,Summit,Outdoor,120
    P3,Chef Knife,Sharp,Casa,Kitchen,35.5

    """
