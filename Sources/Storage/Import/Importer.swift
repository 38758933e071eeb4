import CuratorCore
import Foundation
import GRDB

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

extension CuratorStore {
    /// Imports a catalogue file. Products upsert by id; a column missing from the file leaves
    /// that field of existing products as it was. The whole file commits at once or not at all.
    public func importProducts(from path: String, options: ImportOptions = .init()) throws -> ImportReport {
        let reader = RecordReader(path: path, columns: ProductImportRow.columns, required: ProductImportRow.required)
        return try runImport(kind: "products", path: path, options: options) { report, rejects in
            try write { db in
                var known = Set(try String.fetchAll(db, sql: "SELECT product_key FROM products"))
                let now = Timestamps.nowMillis()
                let upsert = try db.makeStatement(sql: """
                    INSERT INTO products(product_key, title, description, brand, category, price, in_stock, deleted, updated_at)
                    VALUES (?1, coalesce(?2, ''), coalesce(?3, ''), coalesce(?4, ''), coalesce(?5, ''), ?6, coalesce(?7, 1), 0, ?9)
                    ON CONFLICT(product_key) DO UPDATE SET
                        title = coalesce(?2, title), description = coalesce(?3, description),
                        brand = coalesce(?4, brand), category = coalesce(?5, category),
                        price = CASE WHEN ?8 THEN ?6 ELSE price END,
                        in_stock = coalesce(?7, in_stock), deleted = 0, updated_at = ?9
                    WHERE (title, description, brand, category, price, in_stock, deleted) IS NOT
                          (coalesce(?2, title), coalesce(?3, description), coalesce(?4, brand), coalesce(?5, category),
                           CASE WHEN ?8 THEN ?6 ELSE price END, coalesce(?7, in_stock), 0)
                    """)
                try reader.read(onRecord: { record in
                    let row: ProductImportRow
                    switch ProductImportRow.parse(record.values) {
                    case .success(let parsed): row = parsed
                    case .failure(let rejection): return rejection.reason  // counted by onProblem
                    }
                    report.rows += 1
                    try upsert.execute(arguments: [
                        row.id, row.title, row.description, row.brand, row.category, row.price, row.inStock, row.priceGiven, now,
                    ])
                    let id = row.id
                    if known.insert(id).inserted {
                        report.inserted += 1
                    } else if db.changesCount > 0 {
                        report.updated += 1
                    } else {
                        report.unchanged += 1
                    }
                    return nil
                }, onProblem: { problem in
                    report.rows += 1
                    report.rejected += 1
                    try rejects.add(line: problem.line, reason: problem.reason, record: problem.raw)
                })
            }
        }
    }

    /// Imports behaviour events. Each row must name a stored product; shoppers are created on
    /// first sight under their pseudonym. An event identical to a stored one counts once.
    /// The whole file commits at once or not at all.
    public func importEvents(from path: String, options: ImportOptions = .init()) throws -> ImportReport {
        let reader = RecordReader(path: path, columns: EventImportRow.columns, required: EventImportRow.required)
        let pseudonymizer = self.pseudonymizer
        return try runImport(kind: "events", path: path, options: options) { report, rejects in
            try write { db in
                var products: [String: Int64] = [:]
                let rows = try Row.fetchCursor(db, sql: "SELECT product_key, id FROM products WHERE deleted = 0")
                while let row = try rows.next() {
                    products[row[0]] = row[1]
                }
                var writer = try EventWriter(db: db, pseudonymizer: pseudonymizer)
                defer { report.newShoppers = writer.newShoppers }
                try reader.read(onRecord: { record in
                    let row: EventImportRow
                    switch EventImportRow.parse(record.values) {
                    case .success(let parsed): row = parsed
                    case .failure(let rejection): return rejection.reason  // counted by onProblem
                    }
                    guard let product = products[row.productKey] else { return EventImportRow.unknownProduct(row.productKey) }
                    report.rows += 1
                    if try writer.write(shopID: row.shopID, productRowID: product, type: row.type, timestampMillis: row.timestampMillis,
                                        quantity: row.quantity, price: row.price) {
                        report.inserted += 1
                    } else {
                        report.unchanged += 1
                    }
                    return nil
                }, onProblem: { problem in
                    report.rows += 1
                    report.rejected += 1
                    try rejects.add(line: problem.line, reason: problem.reason, record: problem.raw)
                })
                try writer.finish()
            }
        }
    }

    /// Runs one import: its rejects file is kept only when the whole import commits.
    private func runImport(kind: String, path: String, options: ImportOptions,
                           _ body: (inout ImportReport, RejectsFile) throws -> Void) throws -> ImportReport {
        let rejects = RejectsFile(input: path, explicit: options.rejectsPath)
        var report = ImportReport(file: path, kind: kind, rows: 0, inserted: 0, updated: 0, unchanged: 0,
                                  rejected: 0, rejectsFile: nil, newShoppers: 0, seconds: 0)
        let clock = ContinuousClock.now
        do {
            try body(&report, rejects)
        } catch {
            rejects.discard()
            throw error
        }
        report.rejectsFile = try rejects.finish()
        report.seconds = Self.seconds(since: clock)
        return report
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
