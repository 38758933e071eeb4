import CuratorCore
import Foundation

/// What one import did. Rows are counted once each: inserted + updated + unchanged + rejected = rows.
public struct ImportReport: Sendable, Codable, Equatable {
    public var file: String
    public var kind: String
    public var rows: Int
    public var inserted: Int
    /// Products whose stored fields changed.
    public var updated: Int
    /// Products identical to the stored ones, or events already stored (duplicates count once).
    public var unchanged: Int
    public var rejected: Int
    public var rejectsFile: String?
    public var newShoppers: Int
    public var seconds: Double

    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    enum CodingKeys: String, CodingKey {
        case file, kind, rows, inserted, updated, unchanged, rejected
        case rejectsFile = "rejects_file"
        case newShoppers = "new_shoppers"
        case seconds
    }
}

/// Options shared by both imports.
public struct ImportOptions: Sendable {
    /// Where rejected rows go; default `INPUT.rejects.csv`.
    public var rejectsPath: String?

    public init(rejectsPath: String? = nil) { self.rejectsPath = rejectsPath }
}
