import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// Bulk imports into a PostgreSQL store: the file is read a chunk at a time and checked by the
/// rules the SQLite import uses (`ImportPipeline`), and the valid rows are written set-based,
/// thousands per statement, in one transaction: the whole file commits or none of it does.
extension PostgresStore {
    /// Rows per statement: large enough that round trips do not dominate, small enough to keep
    /// each statement's arrays a few megabytes.
    static let importBatch = 5_000

    public func importProducts(from path: String, options: ImportOptions) async throws -> ImportReport {
        let pipeline = try ImportPipeline.products(from: path, options: options)
        return try await pipeline.run {
            try await inTransaction("importing \(path)", deadline: nil) { [self] connection in
                var changed = false
                while let rows = try pipeline.next(upTo: Self.importBatch) {
                    for batch in Self.batchesOfDistinctIDs(rows) {
                        let counts = try await upsert(batch, on: connection)
                        pipeline.stored(inserted: counts.inserted, updated: counts.updated, unchanged: batch.count - counts.inserted - counts.updated)
                        changed = changed || counts.inserted + counts.updated > 0
                    }
                }
                if changed { try await PostgresChanges.log(.bulk, origin: origin, on: connection, logger: logger) }
            }
        }
    }

    /// Consecutive runs of rows with no product id twice, at most `importBatch` long: a later row
    /// for the same product applies on top of the earlier one, as the row-by-row SQLite import does.
    static func batchesOfDistinctIDs(_ rows: [ProductImportRow]) -> [ArraySlice<ProductImportRow>] {
        var batches: [ArraySlice<ProductImportRow>] = []
        var start = 0
        var seen: Set<String> = []
        for (i, row) in rows.enumerated() {
            if i - start == importBatch || seen.contains(row.id) {
                batches.append(rows[start..<i])
                start = i
                seen.removeAll(keepingCapacity: true)
            }
            seen.insert(row.id)
        }
        if start < rows.count { batches.append(rows[start...]) }
        return batches
    }

    /// One batch: existing products updated where a field changed (a column absent from the file
    /// keeps its stored value; a deleted product comes back), then new ones inserted.
    private func upsert(_ rows: ArraySlice<ProductImportRow>, on connection: PostgresConnection) async throws -> (inserted: Int, updated: Int) {
        // postgres-nio sends no NULL inside an array: each optional column goes with a flag column.
        let keys = rows.map(\.id)
        let titles = rows.map { $0.title ?? "" }, hasTitle = rows.map { $0.title != nil }
        let descriptions = rows.map { $0.description ?? "" }, hasDescription = rows.map { $0.description != nil }
        let brands = rows.map { $0.brand ?? "" }, hasBrand = rows.map { $0.brand != nil }
        let categories = rows.map { $0.category ?? "" }, hasCategory = rows.map { $0.category != nil }
        let prices = rows.map { $0.price ?? "" }, hasPrice = rows.map { $0.price != nil }, priceGiven = rows.map(\.priceGiven)
        let stock = rows.map { $0.inStock ?? true }, hasStock = rows.map { $0.inStock != nil }
        let now = Timestamps.nowMillis()
        let batch = """
            SELECT k, CASE WHEN ht THEN t END AS t, CASE WHEN hd THEN d END AS d, CASE WHEN hb THEN b END AS b,
                   CASE WHEN hc THEN c END AS c, CASE WHEN hp THEN p END AS p, pg, CASE WHEN hs THEN s END AS s
            FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::boolean[], $6::text[], $7::boolean[],
                        $8::text[], $9::boolean[], $10::text[], $11::boolean[], $12::boolean[], $13::boolean[], $14::boolean[])
                 AS u(k, t, ht, d, hd, b, hb, c, hc, p, hp, pg, s, hs)
            """
        var binds = PostgresBindings()
        binds.append(keys)
        binds.append(titles); binds.append(hasTitle)
        binds.append(descriptions); binds.append(hasDescription)
        binds.append(brands); binds.append(hasBrand)
        binds.append(categories); binds.append(hasCategory)
        binds.append(prices); binds.append(hasPrice); binds.append(priceGiven)
        binds.append(stock); binds.append(hasStock)
        binds.append(now)

        var update = PostgresQuery(unsafeSQL: """
            WITH batch AS (\(batch))
            UPDATE products cur SET
                title = coalesce(b.t, cur.title), description = coalesce(b.d, cur.description),
                brand = coalesce(b.b, cur.brand), category = coalesce(b.c, cur.category),
                price = CASE WHEN b.pg THEN b.p ELSE cur.price END, in_stock = coalesce(b.s, cur.in_stock),
                deleted = FALSE, updated_at = GREATEST($15, cur.updated_at + 1)
            FROM batch b
            WHERE cur.product_key = b.k
              AND (cur.title, cur.description, cur.brand, cur.category, cur.price, cur.in_stock, cur.deleted) IS DISTINCT FROM
                  (coalesce(b.t, cur.title), coalesce(b.d, cur.description), coalesce(b.b, cur.brand), coalesce(b.c, cur.category),
                   CASE WHEN b.pg THEN b.p ELSE cur.price END, coalesce(b.s, cur.in_stock), FALSE)
            RETURNING 1
            """, binds: binds)
        var updated = 0
        for try await _ in try await connection.query(update, logger: logger) { updated += 1 }

        update = PostgresQuery(unsafeSQL: """
            WITH batch AS (\(batch))
            INSERT INTO products(product_key, title, description, brand, category, price, in_stock, deleted, updated_at)
            SELECT b.k, coalesce(b.t, ''), coalesce(b.d, ''), coalesce(b.b, ''), coalesce(b.c, ''), b.p, coalesce(b.s, TRUE), FALSE, $15
            FROM batch b WHERE NOT EXISTS (SELECT 1 FROM products cur WHERE cur.product_key = b.k)
            ON CONFLICT (product_key) DO NOTHING
            RETURNING 1
            """, binds: binds)
        var inserted = 0
        for try await _ in try await connection.query(update, logger: logger) { inserted += 1 }
        return (inserted, updated)
    }

    public func importEvents(from path: String, options: ImportOptions) async throws -> ImportReport {
        let live = try await withConnection("reading products") { [self] connection in
            Set(try await all("SELECT product_key FROM products WHERE NOT deleted", as: String.self, on: connection))
        }
        let pipeline = try ImportPipeline.events(from: path, options: options) { live.contains($0) }
        return try await pipeline.run {
            try await inTransaction("importing \(path)", deadline: nil) { [self] connection in
                var inserted = 0
                while let rows = try pipeline.next(upTo: Self.importBatch) {
                    let events = rows.map {
                        Event(shopperID: $0.shopID, productID: $0.productKey, type: $0.type, timestampMillis: $0.timestampMillis,
                              quantity: $0.quantity, price: $0.price)
                    }
                    let (appended, created, _) = try await PostgresEvents.appendInTransaction(events, pseudonymizer: pseudonymizer,
                                                                                          connection: connection, logger: logger)
                    if let problem = appended.problems.first {
                        // Checked when the file was read; only a product deleted meanwhile gets here.
                        throw CuratorError.invalidInput(file: path, reason: "\(problem.reason), deleted while the file was imported; import it again")
                    }
                    inserted += appended.inserted
                    pipeline.stored(inserted: appended.inserted, unchanged: rows.count - appended.inserted, newShoppers: created)
                }
                if inserted > 0 { try await PostgresChanges.log(.bulk, origin: origin, on: connection, logger: logger) }
            }
        }
    }
}
