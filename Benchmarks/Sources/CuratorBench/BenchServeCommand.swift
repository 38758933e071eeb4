import ArgumentParser
import CuratorCore
import CuratorEngine
import CuratorServer
import Foundation
import Linear
import Recommenders
import SQLiteStorage
import Storage
import Synchronization
import TextModels
import VectorSearch

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Load-tests the HTTP server on a synthetic shop: recommendations (wrk), event ingestion (wrk,
/// batched POSTs) and product upserts (encode + index, one at a time).
struct BenchServe: AsyncParsableCommand {
    /// Product upserts timed one at a time.
    static let timedUpserts = 300
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a synthetic catalogue and measure recommendation latency/throughput, event ingestion and product upserts.",
        discussion: """
            Products get vectors near their kind's language-model vector (the model encodes one text per \
            department and kind, then each product adds noise), so 100,000 products are ready in seconds. \
            Needs wrk (apt-get install wrk).
            """)

    @Option(help: "Products in the synthetic catalogue.") var products = 100_000
    @Option(help: "Shoppers with history.") var shoppers = 10_000
    @Option(help: "Seconds per wrk run.") var seconds = 10
    @Option(help: "Open connections for wrk.") var connections = 16
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: the one the store was embedded with, else $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Catalogues of at least this many products use the HNSW graph.") var hnswThreshold = 50_000
    @Option(help: "Then train this model (sequential or two-tower; one epoch, sampled softmax) on the synthetic events, hot-swap it in and measure recommendations scored by it.")
    var trained: String?
    @Option(help: "A PostgreSQL server (postgres://…): measure replicas on it instead, beside SQLite in the same run (`scripts/bench replicas`).")
    var store: String?
    @Option(help: "With --store: the replicas of the scaled-out run.") var replicas = 2
    @Flag(help: "Keep the catalogue's full-precision vectors in memory, not in a mapped file.") var vectorsInMemory = false
    @Flag(help: "Build the catalogue's graph over full-precision vectors, not compact ones.") var fullPrecisionGraph = false
    @Option(help: "The graph's efConstruction (default: the server's).") var efConstruction: Int?
    @Option(help: "The graph's search beam (default: the server's).") var efSearch: Int?

    func run() async throws {
        if let store {
            var bench = try BenchReplicas.parse(["--store", store, "--replicas", String(replicas), "--seconds", String(seconds),
                                                 "--connections", String(connections)] + (model.map { ["--language-model", $0] } ?? []))
            try await bench.run()
            return
        }
        let wrk: Wrk
        do { wrk = try Wrk.find() } catch { throw fail(error) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-bench-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        print("setting up \(products) products and \(shoppers) shoppers …")
        let setupStart = Date()
        let sample = try SampleShop(products: products, shoppers: shoppers, seed: 7).write(to: folder.appendingPathComponent("shop").path)
        let storePath = folder.appendingPathComponent("bench.sqlite").path
        let store: any CuratorStoring = try SQLiteStore(path: storePath)
        _ = try await store.importProducts(from: sample.productsPath)
        let events = try await store.importEvents(from: sample.eventsPath)
        let embedding = try await CatalogueEmbedding.open(store: store, model: model)
        let encoder = embedding.encoder
        // Vectors near their kind's, cached as a restart of `curator serve` would find them; then that restart path is timed.
        let d = encoder.dimension
        let catalogueCount = try await SyntheticCatalogue.embed(store, with: embedding).count / d
        print(String(format: "ready in %.1f s: %d products, %d events, OpenBLAS core %@", Date().timeIntervalSince(setupStart),
                     catalogueCount, events.inserted, BLAS.coreName))
        var parameters = LiveCatalogue.IndexOptions.graphParameters
        if let efConstruction { parameters.efConstruction = efConstruction }
        if let efSearch { parameters.efSearch = efSearch }
        var indexOptions = LiveCatalogue.IndexOptions(threshold: hnswThreshold, path: storePath + ".hnsw", parameters: parameters,
                                                      mapsVectors: !vectorsInMemory, compactGraph: !fullPrecisionGraph)
        if let efSearch { indexOptions.parameters.efSearch = efSearch }
        do {
            // What `curator serve` does on its first start, and on a clean stop.
            let first = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: indexOptions)
            print("vector search: \(first.indexOrigin)")
            try await first.saveIndex(to: storePath + ".hnsw")
        }
        let restartStart = Date()
        // And on the next start.
        // In a scope of its own: the engine lets go of its files when it ends, as a stopped server does.
        let servedProducts = try await { () async throws -> Int in
            let engine = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: indexOptions)
            print(String(format: "restart: the catalogue of %d products ready in %.2f s (vector search: %@)", engine.productCount,
                         Date().timeIntervalSince(restartStart), engine.indexOrigin))

            // The graph (compact: int8 vectors, candidates re-ranked from the full-precision ones)
            // against the exact ranking of every product's full-precision vector. Products with one
            // text share one vector, so the exact top 10 is one choice among ties: a served product
            // whose exact score reaches the exact 10th's is a hit (and counted apart, as ties).
            // The same for the compact scan a first start answers with while its graph builds.
            let compactScan = RecommendationEngine.SimilarSearch.compactScan(engine.compactRows())
            for (name, search) in [("the \(fullPrecisionGraph ? "full-precision" : "compact") graph", RecommendationEngine.SimilarSearch.served),
                                   ("a compact scan (while a graph builds)", compactScan)] {
                var hits = 0, strict = 0, total = 0
                for i in stride(from: 1, through: catalogueCount, by: max(1, catalogueCount / 500)) {
                    let id = String(format: "P%05d", i)
                    guard let found = engine.similarRanking(to: id, k: 10, search: search),
                          let exact = engine.similarRanking(to: id, k: 10, search: .exhaustive), let tenth = exact.last?.score else { continue }
                    hits += found.filter { $0.score >= tenth - 1e-5 }.count
                    strict += Set(found.map(\.productID)).intersection(exact.map(\.productID)).count
                    total += exact.count
                }
                print(String(format: "similar products recall@10 through %@ against the exact full-precision ranking: %.4f, ties counted as hits (%.4f by id; %d products)",
                             name, Double(hits) / Double(max(total, 1)), Double(strict) / Double(max(total, 1)), total / 10))
            }

            // Requests run side by side on the event loops; a multi-threaded BLAS call inside each would
            // make the threads fight over the same two cores.
            BLAS.threads = 1
            let server = CuratorHTTPServer(engine: engine,
                                           // wrk asks for many shoppers' recommendations without credentials.
                                           configuration: ServerConfiguration(host: "127.0.0.1", port: 0, openShopperReads: true, modelPollSeconds: 0,
                                                                                              rateLimits: .none))
            let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let serverTask = Task { try await server.run { _, port in portContinuation.yield(port) } }
            var iterator = portStream.makeAsyncIterator()
            guard let port = await iterator.next() else { throw fail(CuratorError.configuration("the server did not start")) }
            let base = "http://127.0.0.1:\(port)"

            // Recommendations for random shoppers.
            let recommendScript = try Wrk.writeRecommendationScript(shoppers: shoppers, in: folder)
            _ = try wrk.run(["-t1", "-c\(connections)", "-d2s", "-s", recommendScript, base])  // warm-up
            let searchesBefore = engine.vectorSearchStatistics
            let recommend = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", recommendScript, base])
            print("recommendations: \(recommend.summary)")
            if let before = searchesBefore, let after = engine.vectorSearchStatistics {
                print("  graph searches: \(after.searches - before.searches), of which exact scans: \(after.exactScans - before.exactScans)")
            }
            // What logging every served list costs: the same load with the online log off, then on again.
            engine.logsOnline = false
            let unlogged = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", recommendScript, base])
            engine.logsOnline = true
            let loggedAgain = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", recommendScript, base])
            print("recommendations with the online log off: \(unlogged.summary)")
            print("recommendations with the online log on again: \(loggedAgain.summary)")
            let lists = try await engine.servedListFootprint()
            print(String(format: "online log: %.1f%% of requests/s with it off (on, on again: %.0f, %.0f; off: %.0f); %d lists stored, %d bytes each",
                         100 * (recommend.requestsPerSecond + loggedAgain.requestsPerSecond) / 2 / unlogged.requestsPerSecond, recommend.requestsPerSecond,
                         loggedAgain.requestsPerSecond, unlogged.requestsPerSecond, lists.lists, lists.bytes / max(1, lists.lists)))

            // What merchandising rules cost: a pin, a brand boost, a category bury, a blocked product and
            // a boost of new products (every product here is new: the most it can match).
            let http = BenchHTTP(base: base)
            let boosted = engine.product(id: "P00001"), buried = engine.product(id: "P00002")
            let rules = [
                ("bench-pin", #"{"kind": "pin", "product_id": "P00004", "position": 1}"#),
                ("bench-boost", #"{"kind": "boost", "brand": "\#(boosted?.brand ?? "none")", "weight": 0.3}"#),
                ("bench-bury", #"{"kind": "bury", "category": "\#(buried?.category ?? "none")", "weight": 0.3}"#),
                ("bench-block", #"{"kind": "block", "product_id": "P00003"}"#),
                ("bench-new", #"{"kind": "boost", "new_for_days": 7, "weight": 0.2}"#),
            ]
            do {
                // First the four that match few products, then the boost of new products with every product new.
                for (count, label) in [(4, "a pin, a brand boost, a category bury, a block"), (5, "and a boost of new products (all 100% new)")] {
                    for (name, rule) in rules.prefix(count) where count == 4 || name == "bench-new" {
                        _ = try await http.expect(201, "PUT", "/v1/rules/\(name)", json: rule, what: "a rule")
                    }
                    _ = try wrk.run(["-t1", "-c\(connections)", "-d2s", "-s", recommendScript, base])
                    let ruled = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", recommendScript, base])
                    // Beside the run just before it (the log on again), measured the same way.
                    print(String(format: "recommendations with %d merchandising rules (%@): %@; %.1f%% of requests/s without rules", count, label,
                                 ruled.summary, 100 * ruled.requestsPerSecond / loggedAgain.requestsPerSecond))
                }
                for (name, _) in rules { _ = try await http.expect(200, "DELETE", "/v1/rules/\(name)", what: "a rule") }
            } catch {
                throw fail(error)
            }

            if let trained {
                guard let kind = NeuralModelKind(rawValue: trained) else { throw fail(CuratorError.configuration("--trained must be sequential or two-tower")) }
                // Trained in this process with both cores, saved as `curator train` would, then swapped
                // in while the server runs, exactly as a newly trained version is picked up.
                let log = try await store.interactionLog()
                let reloaded = try await embedding.catalogueVectors()
                var config = NeuralConfiguration(kind: kind)
                config.loss = .sampledSoftmax
                config.epochs = 1
                BLAS.threads = 2
                var model = try NeuralRecommender(configuration: config, productCount: log.productKeys.count,
                                                  productVectors: reloaded.vectors, lmDimension: reloaded.dimension)
                let summary = try model.train(ShopperHistories(log: log), validation: nil, progress: nil)
                BLAS.threads = 1
                _ = try await store.saveModel(StoredModel(name: kind.rawValue, dataFingerprint: try await store.dataFingerprint(), parameters: "{}",
                                                    metrics: "{}", payload: try model.serialized(productKeys: log.productKeys)))
                let swapStart = Date()
                guard let serving = try await engine.loadLatestModel() else { throw fail(CuratorError.model("the trained model was not picked up")) }
                print(String(format: "%@ trained for 1 epoch in %.1f s; hot swap (load + representations of %d products) %.2f s", serving.name,
                             summary.seconds, engine.productCount, Date().timeIntervalSince(swapStart)))
                var sample: [[String]] = []
                for shopper in 1...min(200, shoppers) { sample.append(try await store.events(forShopID: String(format: "S%05d", shopper)).map(\.productID)) }
                if let recall = Self.graphRecall(engine, histories: sample, k: 10) {
                    print(String(format: "%@ graph recall@10 against its exact ranking: %.4f (%d shoppers)", serving.name, recall, sample.count))
                }
                _ = try wrk.run(["-t1", "-c\(connections)", "-d2s", "-s", recommendScript, base])
                let personal = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", recommendScript, base])
                print("recommendations scored by \(serving.name): \(personal.summary)")
            }

            // Events: batches of 100 random views, stored durably before each response.
            let eventsScript = folder.appendingPathComponent("events.lua").path
            try """
                math.randomseed(9)
                counter = 0
                request = function()
                  counter = counter + 1
                  local parts = {}
                  for i = 1, 100 do
                    parts[i] = string.format('{"user_id":"bench-%d","product_id":"P%05d","event":"view","timestamp":"2026-06-01T00:00:%02d.%03dZ"}',
                      math.random(1, 50000), math.random(1, \(products)), counter % 60, i)
                  end
                  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
                end
                """.write(toFile: eventsScript, atomically: true, encoding: .utf8)
            let ingest = try wrk.run(["-t1", "-c4", "-d\(seconds)s", "--latency", "-s", eventsScript, base])
            print("events (100 per request): \(ingest.summary) = \(Int(ingest.requestsPerSecond * 100)) events/s")

            // Product upserts, one at a time: store + encode + index before the response. 300 of
            // them, so the p99 is not one slow request's time.
            var latencies: [Double] = []
            for i in 0..<Self.timedUpserts {
                let body = "{\"title\":\"Summit Trail Hiking Backpack \(20 + i)L\",\"brand\":\"Summit\",\"category\":\"Outdoor > Hiking Backpack\",\"description\":\"Carries your gear on long day hikes, model \(i).\",\"price\":\"59.90\"}"
                do {
                    latencies.append(try await http.expect(200, "PUT", "/v1/products/BENCH-\(i)", json: body, what: "product upsert").milliseconds)
                } catch {
                    throw fail(error)
                }
            }
            print(String(format: "product upserts (encode + index + store): p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d", percentile(latencies, 0.5),
                         percentile(latencies, 0.99), latencies.max() ?? 0, latencies.count))

            // /healthz while one large batch of products is encoded: encoding runs on the server's own
            // threads, so the request threads must stay free to answer.
            let bulk = (0..<3_000).map { i in
                "{\"product_id\":\"BULK-\(i)\",\"title\":\"Summit Trail Hiking Backpack \(i)L\",\"brand\":\"Summit\",\"category\":\"Outdoor > Hiking Backpack\",\"description\":\"Carries your gear on long day hikes, batch model \(i).\",\"price\":\"59.90\"}"
            }
            // Stopped by a flag, not by cancelling the task: cancelling a task while its URLSession
            // request is in flight can deadlock FoundationNetworking (seen at a million products).
            let bulkDone = Atomic<Bool>(false)
            let poller = Task { () -> [Double] in
                var health: [Double] = []
                while !bulkDone.load(ordering: .acquiring) {
                    let reply = await http.send("GET", "/healthz")
                    guard reply.status == 200 else { continue }
                    health.append(reply.milliseconds)
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return health
            }
            let bulkReply = await http.send("POST", "/v1/products", json: "{\"products\":[" + bulk.joined(separator: ",") + "]}")
            let bulkSeconds = bulkReply.milliseconds / 1000
            bulkDone.store(true, ordering: .releasing)
            let health = await poller.value.sorted()
            guard bulkReply.status == 200, !health.isEmpty else {
                throw fail(CuratorError.configuration("the 3,000-product upsert failed"))
            }
            print(String(format: "/healthz during one upsert of 3,000 products (%.1f s): p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d", bulkSeconds,
                         percentile(health, 0.5), percentile(health, 0.99), health.max() ?? 0, health.count))
            serverTask.cancel()
            _ = try? await serverTask.value
            // A clean stop: the graph and the catalogue's description are saved for the next start.
            try await engine.saveIndex(to: storePath + ".hnsw")
            return engine.productCount
        }()

        // A real restart: `curator serve` as a new process on this store, timed to its first answer.
        let (restart, origin) = try await timeServeStart(store: storePath)
        print(String(format: "curator serve restart (new process, %d products, saved graph) to its first /healthz answer: %.2f s (%@)", servedProducts, restart, origin))
    }

    /// Starts `curator serve` on the store and returns the seconds until `/healthz` answers 200.
    /// Seconds to the first /healthz answer, and how the server says its vector search came to be.
    func timeServeStart(store: String) async throws -> (seconds: Double, origin: String) {
        let folder = URL(fileURLWithPath: store).deletingLastPathComponent()
        let start = Date()
        let server = try ServeProcess.start(
            store: store, arguments: ["--model-poll", "0", "--hnsw-threshold", String(hnswThreshold)] + (model.map { ["--language-model", $0] } ?? []),
            folder: folder, timeout: 120)
        defer { server.stop() }
        guard await BenchHTTP(base: server.base).send("GET", "/healthz").status == 200 else {
            throw fail(CuratorError.configuration("curator serve did not answer /healthz on the bench store:\n\(server.stderrTail())"))
        }
        let seconds = Date().timeIntervalSince(start)
        let origin = server.stderrTail().split(separator: "\n").first { $0.contains("vector search:") }
            .map { String($0.split(separator: "vector search: ", maxSplits: 1).last ?? "") } ?? "?"
        return (seconds, origin)
    }

    /// Share of the trained model's exact top-k that its graph finds, over a sample of histories;
    /// nil without a model graph.
    static func graphRecall(_ engine: RecommendationEngine, histories: [[String]], k: Int) -> Double? {
        var hits = 0, total = 0
        for history in histories where !history.isEmpty {
            guard let approximate = engine.trainedModelRanking(history: history, k: k, exhaustive: false),
                  let exact = engine.trainedModelRanking(history: history, k: k, exhaustive: true) else { return nil }
            hits += Set(approximate).intersection(exact).count
            total += exact.count
        }
        return total == 0 ? nil : Double(hits) / Double(total)
    }
}
