import CuratorCore
import Foundation

/// One import, whichever store keeps it: the file read a chunk at a time and checked row by row
/// by the rules both stores share (`ProductImportRow`, `EventImportRow`), rejected rows written
/// to the rejects file with their line and reason, every row counted once. The store pulls the
/// valid rows a batch at a time inside its one transaction and says what it did with each batch;
/// the rejects file is kept only when that transaction commits (`finish`).
///
/// Owned by one import and used by one task at a time (moved into the store's transaction),
/// hence `@unchecked Sendable`.
public final class ImportPipeline<Row: Sendable>: @unchecked Sendable {
    /// Rows and rejections counted so far, plus what the store reported.
    public private(set) var report: ImportReport
    private let reader: RecordReader
    private let parse: ([String?]) -> Result<Row, ImportRejection>
    private let rejects: RejectsFile
    private let started = ContinuousClock.now
    private var ready: [Row] = []
    private var atEnd = false

    init(kind: String, path: String, options: ImportOptions, columns: [String], required: Set<String>,
         parse: @escaping ([String?]) -> Result<Row, ImportRejection>) throws {
        reader = try RecordReader(path: path, columns: columns, required: required)
        rejects = RejectsFile(input: path, explicit: options.rejectsPath)
        report = ImportReport(file: path, kind: kind, rows: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, rejectsFile: nil,
                              newShoppers: 0, seconds: 0)
        self.parse = parse
    }

    /// A catalogue file (CSV or JSON Lines, plain or gzip).
    public static func products(from path: String, options: ImportOptions) throws -> ImportPipeline<ProductImportRow> where Row == ProductImportRow {
        try ImportPipeline(kind: "products", path: path, options: options, columns: ProductImportRow.columns,
                           required: ProductImportRow.required, parse: ProductImportRow.parse)
    }

    /// An events file; `productExists` says whether a product key names a live product (a row
    /// naming any other is rejected).
    public static func events(from path: String, options: ImportOptions,
                              productExists: @escaping (String) -> Bool) throws -> ImportPipeline<EventImportRow> where Row == EventImportRow {
        try ImportPipeline(kind: "events", path: path, options: options, columns: EventImportRow.columns, required: EventImportRow.required) { values in
            EventImportRow.parse(values).flatMap { row in
                productExists(row.productKey) ? .success(row) : .failure(ImportRejection(EventImportRow.unknownProduct(row.productKey)))
            }
        }
    }

    /// The next valid rows in file order, at most `limit`; nil at the end of the file. Rejected
    /// rows read on the way are counted and written to the rejects file.
    public func next(upTo limit: Int) throws -> [Row]? {
        while ready.count < limit && !atEnd {
            atEnd = try !reader.readChunk(onRecord: { record in
                switch parse(record.values) {
                case .success(let row):
                    report.rows += 1
                    ready.append(row)
                    return nil
                case .failure(let rejection):
                    return rejection.reason  // counted by onProblem, with the record's line and text
                }
            }, onProblem: { problem in
                report.rows += 1
                report.rejected += 1
                try rejects.add(line: problem.line, reason: problem.reason, record: problem.raw)
            })
        }
        guard !ready.isEmpty else { return nil }
        let batch = Array(ready.prefix(limit))
        ready.removeFirst(batch.count)
        return batch
    }

    /// What the store did with rows it was given: every valid row is one of the three.
    public func stored(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0, newShoppers: Int = 0) {
        report.inserted += inserted
        report.updated += updated
        report.unchanged += unchanged
        report.newShoppers += newShoppers
    }

    /// After the write committed: keeps the rejects file and returns the final report.
    public func finish() throws -> ImportReport {
        precondition(report.inserted + report.updated + report.unchanged + report.rejected == report.rows,
                     "an import counts every row once: stored, unchanged or rejected")
        var done = report
        done.rejectsFile = try rejects.finish()
        let elapsed = ContinuousClock.now - started
        done.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return done
    }

    /// After the write failed: nothing of this import is kept.
    public func discard() { rejects.discard() }

    /// Runs `write` (the store's transaction, pulling rows with `next(upTo:)`), then keeps the
    /// rejects file; on any error nothing is kept and the error goes on.
    public func run(_ write: () async throws -> Void) async throws -> ImportReport {
        do {
            try await write()
            return try finish()
        } catch {
            discard()
            throw error
        }
    }

    /// `run` for a store whose transaction is synchronous (SQLite's, on its writer thread).
    public func runBlocking(_ write: () throws -> Void) throws -> ImportReport {
        do {
            try write()
            return try finish()
        } catch {
            discard()
            throw error
        }
    }
}
