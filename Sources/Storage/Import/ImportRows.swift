import CuratorCore
import Foundation

/// One valid row of a catalogue file. A field that is nil was not in the file: the stored value
/// stays as it was (a new product gets the default).
public struct ProductImportRow: Sendable, Equatable {
    public var id: String
    public var title: String?
    public var description: String?
    public var brand: String?
    public var category: String?
    /// Canonical decimal, or nil for none.
    public var price: String?
    /// Whether the file has a price column for this row (an empty one clears the price).
    public var priceGiven: Bool
    public var inStock: Bool?

    static let columns = ["product_id", "title", "description", "brand", "category", "price", "in_stock"]
    static let required: Set<String> = ["product_id"]

    /// The row, or why it is rejected: the one set of rules both stores import by.
    static func parse(_ v: [String?]) -> Result<ProductImportRow, ImportRejection> {
        let id = TextCleaning.identifier(v[0] ?? "")
        if id.isEmpty { return .failure("field 'product_id' is empty") }
        var price: String?
        if let text = v[5], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = FieldParsing.decimal(text) else {
                return .failure(ImportRejection("field 'price': '\(text)' is not a decimal number like 12.50"))
            }
            price = parsed
        }
        var inStock: Bool?
        if let text = v[6], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = FieldParsing.bool(text) else { return .failure(ImportRejection("field 'in_stock': '\(text)' is not true/false")) }
            inStock = parsed
        }
        let texts = (1...4).map { v[$0].map { TextCleaning.clean($0) } }
        return .success(ProductImportRow(id: id, title: texts[0], description: texts[1], brand: texts[2], category: texts[3],
                                         price: price, priceGiven: v[5] != nil, inStock: inStock))
    }
}

/// One valid row of an events file (its product not yet checked against the store).
public struct EventImportRow: Sendable, Equatable {
    public var shopID: String
    public var productKey: String
    public var type: EventType
    public var timestampMillis: Int64
    public var quantity: Int64?
    /// Canonical decimal, or nil.
    public var price: String?

    static let columns = ["user_id", "product_id", "event", "timestamp", "quantity", "price"]
    static let required: Set<String> = ["user_id", "product_id", "event", "timestamp"]

    static func parse(_ v: [String?]) -> Result<EventImportRow, ImportRejection> {
        let user = TextCleaning.identifier(v[0] ?? "")
        if user.isEmpty { return .failure("field 'user_id' is empty") }
        let productKey = TextCleaning.identifier(v[1] ?? "")
        if productKey.isEmpty { return .failure("field 'product_id' is empty") }
        guard let type = EventType(rawValue: v[2] ?? "")
                ?? EventType(rawValue: (v[2] ?? "").trimmingCharacters(in: .whitespaces).lowercased()) else {
            return .failure(ImportRejection("field 'event': unknown event type '\(v[2] ?? "")' (expected view, click, cart, favorite or purchase)"))
        }
        guard let ts = FieldParsing.timestampMillis(v[3] ?? "") else {
            return .failure(ImportRejection("field 'timestamp': '\(v[3] ?? "")' is not an ISO-8601 time like 2011-01-18T10:01:00Z"))
        }
        var quantity: Int64?
        if let text = v[4], !FieldParsing.isBlank(text) {
            guard let parsed = FieldParsing.quantity(text) else { return .failure(ImportRejection("field 'quantity': '\(text)' is not a whole number")) }
            quantity = parsed
        }
        var price: String?
        if let text = v[5], !FieldParsing.isBlank(text) {
            guard let parsed = FieldParsing.decimal(text) else {
                return .failure(ImportRejection("field 'price': '\(text)' is not a decimal number like 12.50"))
            }
            price = parsed
        }
        return .success(EventImportRow(shopID: user, productKey: productKey, type: type, timestampMillis: ts, quantity: quantity, price: price))
    }

    /// Why a row naming a product the store does not hold is rejected.
    static func unknownProduct(_ key: String) -> String {
        "field 'product_id': unknown product '\(key)' (import it first with: curator import products FILE)"
    }
}

/// Why one row is left out of an import.
struct ImportRejection: Error, ExpressibleByStringLiteral {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    init(stringLiteral value: String) { reason = value }
}

/// A whole import file read and checked before anything is written, for stores that write in
/// batches (PostgreSQL): the valid rows, and the rejected ones waiting in their rejects file,
/// which is kept only if the write commits (`finish`), like the SQLite import's.
public final class StagedImport<Row: Sendable> {
    public let rows: [Row]
    /// The report so far: rows and rejections counted; the writer adds what it stored.
    public var report: ImportReport
    private let rejects: RejectsFile
    private let started: ContinuousClock.Instant

    init(rows: [Row], report: ImportReport, rejects: RejectsFile, started: ContinuousClock.Instant) {
        self.rows = rows
        self.report = report
        self.rejects = rejects
        self.started = started
    }

    /// Reads a catalogue file (CSV or JSON Lines, plain or gzip).
    public static func products(from path: String, options: ImportOptions) throws -> StagedImport<ProductImportRow> where Row == ProductImportRow {
        try read(kind: "products", path: path, options: options, columns: ProductImportRow.columns, required: ProductImportRow.required) {
            ProductImportRow.parse($0)
        }
    }

    /// Reads an events file; `productExists` says whether a product key names a live product.
    public static func events(from path: String, options: ImportOptions,
                              productExists: (String) -> Bool) throws -> StagedImport<EventImportRow> where Row == EventImportRow {
        try read(kind: "events", path: path, options: options, columns: EventImportRow.columns, required: EventImportRow.required) { values in
            EventImportRow.parse(values).flatMap { row in
                productExists(row.productKey) ? .success(row) : .failure(ImportRejection(EventImportRow.unknownProduct(row.productKey)))
            }
        }
    }

    private static func read(kind: String, path: String, options: ImportOptions, columns: [String], required: Set<String>,
                             parse: ([String?]) -> Result<Row, ImportRejection>) throws -> StagedImport<Row> {
        let started = ContinuousClock.now
        let rejects = RejectsFile(input: path, explicit: options.rejectsPath)
        var report = ImportReport(file: path, kind: kind, rows: 0, inserted: 0, updated: 0, unchanged: 0,
                                  rejected: 0, rejectsFile: nil, newShoppers: 0, seconds: 0)
        var rows: [Row] = []
        do {
            try RecordReader(path: path, columns: columns, required: required).read(onRecord: { record in
                switch parse(record.values) {
                case .success(let row):
                    report.rows += 1
                    rows.append(row)
                    return nil
                case .failure(let rejection):
                    return rejection.reason  // counted by onProblem
                }
            }, onProblem: { problem in
                report.rows += 1
                report.rejected += 1
                try rejects.add(line: problem.line, reason: problem.reason, record: problem.raw)
            })
        } catch {
            rejects.discard()
            throw error
        }
        return StagedImport(rows: rows, report: report, rejects: rejects, started: started)
    }

    /// After the write committed: keeps the rejects file and returns the final report.
    public func finish() throws -> ImportReport {
        var done = report
        done.rejectsFile = try rejects.finish()
        done.seconds = CuratorStore.seconds(since: started)
        return done
    }

    /// After the write failed: nothing of this import is kept.
    public func discard() { rejects.discard() }
}
