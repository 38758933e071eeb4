import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    /// Rows a SQLite import pulls from the file at a time (it writes them one by one).
    static let importBatch = 1_024

    /// Imports a catalogue file. Products upsert by id; a column missing from the file leaves
    /// that field of existing products as it was. The whole file commits at once or not at all.
    public func importProducts(from path: String, options: ImportOptions = .init()) throws -> ImportReport {
        let pipeline = try ImportPipeline.products(from: path, options: options)
        return try pipeline.runBlocking {
            try write { db in
                var known = Set(try String.fetchAll(db, sql: "SELECT product_key FROM products"))
                let now = Timestamps.nowMillis()
                let upsert = try db.makeStatement(sql: """
                    INSERT INTO products(product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at)
                    VALUES (?1, coalesce(?2, ''), coalesce(?3, ''), coalesce(?4, ''), coalesce(?5, ''), ?6, coalesce(?7, 1), 0, ?9, ?9)
                    ON CONFLICT(product_key) DO UPDATE SET
                        title = coalesce(?2, title), description = coalesce(?3, description),
                        brand = coalesce(?4, brand), category = coalesce(?5, category),
                        price = CASE WHEN ?8 THEN ?6 ELSE price END,
                        in_stock = coalesce(?7, in_stock), deleted = 0, updated_at = max(?9, products.updated_at + 1)
                    WHERE (title, description, brand, category, price, in_stock, deleted) IS NOT
                          (coalesce(?2, title), coalesce(?3, description), coalesce(?4, brand), coalesce(?5, category),
                           CASE WHEN ?8 THEN ?6 ELSE price END, coalesce(?7, in_stock), 0)
                    """)
                while let batch = try pipeline.next(upTo: Self.importBatch) {
                    for row in batch {
                        try upsert.execute(arguments: [
                            row.id, row.title, row.description, row.brand, row.category, row.price, row.inStock, row.priceGiven, now,
                        ])
                        if known.insert(row.id).inserted {
                            pipeline.stored(inserted: 1)
                        } else if db.changesCount > 0 {
                            pipeline.stored(updated: 1)
                        } else {
                            pipeline.stored(unchanged: 1)
                        }
                    }
                }
            }
        }
    }

    /// Imports behaviour events. Each row must name a stored product; shoppers are created on
    /// first sight under their pseudonym. An event identical to a stored one counts once.
    /// The whole file commits at once or not at all.
    public func importEvents(from path: String, options: ImportOptions = .init()) throws -> ImportReport {
        let pseudonymizer = self.pseudonymizer
        // Filled inside the write transaction, before any row is read.
        var products: [String: Int64] = [:]
        let pipeline = try ImportPipeline.events(from: path, options: options) { products[$0] != nil }
        return try pipeline.runBlocking {
            try write { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT product_key, id FROM products WHERE deleted = 0")
                while let row = try rows.next() {
                    products[row[0]] = row[1]
                }
                var writer = try EventWriter(db: db, pseudonymizer: pseudonymizer)
                while let batch = try pipeline.next(upTo: Self.importBatch) {
                    for row in batch {
                        guard let product = products[row.productKey] else { continue }  // checked by the pipeline
                        let isNew = try writer.write(shopID: row.shopID, productRowID: product, type: row.type, timestampMillis: row.timestampMillis,
                                                     quantity: row.quantity, price: row.price)
                        pipeline.stored(inserted: isNew ? 1 : 0, unchanged: isNew ? 0 : 1)
                    }
                }
                try writer.finish()
                pipeline.stored(newShoppers: writer.newShoppers)
            }
        }
    }
}
