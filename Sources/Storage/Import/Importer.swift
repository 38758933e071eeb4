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
        let columns = ["product_id", "title", "description", "brand", "category", "price", "in_stock"]
        let reader = RecordReader(path: path, columns: columns, required: ["product_id"])
        return try runImport(kind: "products", path: path, options: options) { report, rejects in
            try write { db in
                var known = Set(try String.fetchAll(db, sql: "SELECT product_key FROM products"))
                let now = Self.nowMillis()
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
                    report.rows += 1
                    let v = record.values
                    let id = TextCleaning.identifier(v[0] ?? "")
                    if id.isEmpty { return "field 'product_id' is empty" }
                    var price: String?
                    if let text = v[5], !text.trimmingCharacters(in: .whitespaces).isEmpty {
                        guard let parsed = FieldParsing.decimal(text) else {
                            return "field 'price': '\(text)' is not a decimal number like 12.50"
                        }
                        price = parsed
                    }
                    var inStock: Bool?
                    if let text = v[6], !text.trimmingCharacters(in: .whitespaces).isEmpty {
                        guard let parsed = FieldParsing.bool(text) else {
                            return "field 'in_stock': '\(text)' is not true/false"
                        }
                        inStock = parsed
                    }
                    let texts = (1...4).map { v[$0].map { TextCleaning.clean($0) } }
                    try upsert.execute(arguments: [
                        id, texts[0], texts[1], texts[2], texts[3], price, inStock, v[5] != nil, now,
                    ])
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
        let columns = ["user_id", "product_id", "event", "timestamp", "quantity", "price"]
        let reader = RecordReader(path: path, columns: columns, required: ["user_id", "product_id", "event", "timestamp"])
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
                    report.rows += 1
                    let v = record.values
                    let user = TextCleaning.identifier(v[0] ?? "")
                    if user.isEmpty { return "field 'user_id' is empty" }
                    let productKey = TextCleaning.identifier(v[1] ?? "")
                    if productKey.isEmpty { return "field 'product_id' is empty" }
                    guard let product = products[productKey] else {
                        return "field 'product_id': unknown product '\(productKey)' (import it first with: curator import products FILE)"
                    }
                    guard let type = EventType(rawValue: v[2] ?? "")
                            ?? EventType(rawValue: (v[2] ?? "").trimmingCharacters(in: .whitespaces).lowercased()) else {
                        return "field 'event': unknown event type '\(v[2] ?? "")' (expected view, click, cart, favorite or purchase)"
                    }
                    guard let ts = FieldParsing.timestampMillis(v[3] ?? "") else {
                        return "field 'timestamp': '\(v[3] ?? "")' is not an ISO-8601 time like 2011-01-18T10:01:00Z"
                    }
                    var quantity: Int64?
                    if let text = v[4], !FieldParsing.isBlank(text) {
                        guard let parsed = FieldParsing.quantity(text) else {
                            return "field 'quantity': '\(text)' is not a whole number"
                        }
                        quantity = parsed
                    }
                    var price: String?
                    if let text = v[5], !FieldParsing.isBlank(text) {
                        guard let parsed = FieldParsing.decimal(text) else {
                            return "field 'price': '\(text)' is not a decimal number like 12.50"
                        }
                        price = parsed
                    }
                    if try writer.write(shopID: user, productRowID: product, type: type, timestampMillis: ts, quantity: quantity, price: price) {
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
