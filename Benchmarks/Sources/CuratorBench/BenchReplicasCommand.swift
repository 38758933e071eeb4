import ArgumentParser
import ChildProcesses
import CuratorCore
import CuratorEngine
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import Stores

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Scale-out measured: one SQLite server, one PostgreSQL replica and N PostgreSQL replicas, each
/// `curator serve` as production runs it, on the same shop in the same run, under wrk; then how
/// long a write on one replica takes to be served by another.
struct BenchReplicas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicas",
        abstract: "Recommendations/s and events/s on SQLite, on one PostgreSQL replica and on N replicas; replication lag p50/p99.",
        discussion: """
            The shop (a sample shop, embedded once) is copied into a schema of its own on the PostgreSQL \
            server given by --store, dropped at the end. Every replica is a child `curator serve`; wrk \
            drives each replica with its share of the connections at once (a load balancer's round \
            robin). On one machine the replicas share its cores with wrk and PostgreSQL, so this shows \
            the cost of the shared store, not the capacity of more machines. Needs wrk (apt-get install wrk).
            """)

    @Option(help: "A PostgreSQL server: postgres://USER:PASSWORD@HOST:PORT/DATABASE.") var store: String
    @Option(help: "Replicas in the scaled-out run.") var replicas = 2
    @Option(help: "Products in the sample shop.") var products = 2_000
    @Option(help: "Shoppers in the sample shop.") var shoppers = 1_000
    @Option(help: "Seconds per wrk run.") var seconds = 10
    @Option(help: "Open connections for wrk, shared among the replicas.") var connections = 16
    @Option(help: "Writes timed from one replica to another.") var lagSamples = 100
    @Option(name: .customLong("language-model"), help: "Language model (default: $CURATOR_MODEL, else all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Then time a server's start, and read its memory, on a synthetic catalogue of this many products in each store (0: skip).")
    var startProducts = 100_000
    @Flag(inversion: .prefixedNo, help: "Check the capacity model with replicas pinned to cores (taskset).") var pinned = true
    @Flag(help: "Only the start on the large catalogue (--start-products): no load runs.") var startOnly = false
    @Option(help: "Keep the large catalogue's SQLite store in this folder and use it again on later runs with the same --start-products (it takes minutes to make).")
    var keepLarge: String?

    func validate() throws {
        guard PostgresLocation.isPostgresURL(store) else { throw ValidationError("--store must be a postgres:// URL") }
        guard replicas >= 2 else { throw ValidationError("--replicas must be at least 2") }
    }

    func run() async throws {
        let wrk: Wrk
        do { wrk = try Wrk.find() } catch { throw fail(error) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-bench-replicas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var location = try PostgresLocation(url: store)
        location.schema = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let postgres = location.connectionURL
        var large = location
        large.schema = (location.schema ?? "bench") + "_start"
        do {
            if !startOnly { try await measure(wrk: wrk, folder: folder, sqlite: folder.appendingPathComponent("bench.sqlite").path, postgres: postgres) }
            if startProducts > 0 {
                let kept = keepLarge.map { URL(fileURLWithPath: $0).appendingPathComponent("large-\(startProducts).sqlite").path }
                try await measureStart(folder: folder, sqlite: kept ?? folder.appendingPathComponent("large.sqlite").path, postgres: large.connectionURL)
            }
        } catch {
            try? await PostgresStore.dropSchema(of: location)
            try? await PostgresStore.dropSchema(of: large)
            throw fail(error)
        }
        try? await PostgresStore.dropSchema(of: location)
        try? await PostgresStore.dropSchema(of: large)
    }

    /// A server's start on a large catalogue in each store: to its first `/healthz` answer, and its
    /// resident memory then (the catalogue, its vectors and the vector graph, built at start).
    private func measureStart(folder: URL, sqlite: String, postgres: String) async throws {
        let reused = FileManager.default.fileExists(atPath: sqlite)
        if reused {
            print("using the large catalogue kept in \(sqlite)")
            // The first start builds the graph: the one a previous run saved goes.
            try? FileManager.default.removeItem(atPath: sqlite + ".hnsw")
        } else {
            print("setting up \(startProducts) products for the start …")
            try FileManager.default.createDirectory(atPath: (sqlite as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let local: any CuratorStoring = try SQLiteStore(path: sqlite)
        if !reused {
            let shop = try SampleShop(products: startProducts, shoppers: 2_000, seed: 13).write(to: folder.appendingPathComponent("large").path)
            _ = try await local.importProducts(from: shop.productsPath)
            _ = try await local.importEvents(from: shop.eventsPath)
            _ = try await SyntheticCatalogue.embed(local, with: try await CatalogueEmbedding.open(store: local, model: model))
        }
        let copyStart = Date()
        try await Stores.open(postgres).restore(try await local.snapshot())
        print(String(format: "copied into PostgreSQL in %.1f s", Date().timeIntervalSince(copyStart)))
        let environment = model.map { ["CURATOR_MODEL": $0] } ?? [:]
        let graph = folder.appendingPathComponent("replica.hnsw").path
        for (name, store, extra) in [("SQLite, first start (builds the vector graph)", sqlite, []),
                                     ("SQLite, restart (graph saved beside the file)", sqlite, []),
                                     ("PostgreSQL replica, first start (builds the vector graph)", postgres, ["--index-file", graph]),
                                     ("PostgreSQL replica, restart (graph in its --index-file)", postgres, ["--index-file", graph])] {
            let start = Date()
            // A first start answers by compact scans while the graph builds (minutes at a million products on two cores).
            let server = try ServeProcess.start(store: store, arguments: ["--open-shopper-reads", "--model-poll", "0"] + extra, folder: folder, environment: environment,
                                                timeout: max(180, Double(startProducts) / 500))
            defer { server.stop() }  // a clean stop saves the graph of a SQLite store
            let http = BenchHTTP(base: server.base)
            let health = await http.send("GET", "/healthz")
            let seconds = Date().timeIntervalSince(start)
            let rss = ProcessSample(pid: server.pid)?.residentMB ?? 0
            guard health.status == 200 else { throw CuratorError.configuration("\(name): no answer from /healthz") }
            print(String(format: "start with %d products, %@: %.2f s to the first /healthz answer, resident memory %.0f MB", startProducts, name,
                         seconds, rss))
            if try await Self.search(http) != "graph" {
                // Served meanwhile: recommendations one after another, each a scan of every compact vector.
                var latencies: [Double] = []
                let served = Date()
                while Date().timeIntervalSince(served) < 10 {
                    let reply = await http.send("GET", String(format: "/v1/shoppers/S%05d/recommendations?k=10", latencies.count % 2_000 + 1))
                    guard reply.status == 200 else { throw CuratorError.configuration("\(name): a recommendation during the build answered \(reply.status.map(String.init) ?? "nothing")") }
                    latencies.append(reply.milliseconds)
                }
                try await Self.waitForGraph(http)
                let graphSeconds = Date().timeIntervalSince(start), graphRSS = ProcessSample(pid: server.pid)?.residentMB ?? 0
                latencies.sort()
                print(String(format: "  while the graph built: %d recommendations one at a time in 10 s, p50 %.0f ms, p99 %.0f ms; graph in service %.1f s after the start, resident memory then %.0f MB",
                             latencies.count, Percentile.of(latencies, 0.5), Percentile.of(latencies, 0.99), graphSeconds, graphRSS))
            }
        }
    }

    /// How `/healthz` says the server finds similar products ("graph", "compact scan while the graph builds", …).
    static func search(_ http: BenchHTTP) async throws -> String {
        try await http.object(200, "GET", "/healthz", what: "health")["search"] as? String ?? ""
    }

    /// Returns once `/healthz` says the graph is in service.
    static func waitForGraph(_ http: BenchHTTP) async throws {
        while try await search(http) != "graph" { try await Task.sleep(for: .milliseconds(250)) }
    }

    private func measure(wrk: Wrk, folder: URL, sqlite: String, postgres: String) async throws {
        print("setting up \(products) products and \(shoppers) shoppers …")
        let shop = try SampleShop(products: products, shoppers: shoppers, seed: 11).write(to: folder.appendingPathComponent("shop").path)
        let local: any CuratorStoring = try SQLiteStore(path: sqlite)
        _ = try await local.importProducts(from: shop.productsPath)
        let events = try await local.importEvents(from: shop.eventsPath)
        if usesGraph {
            // Encoding a large shop would take the language model hours on two cores: its products
            // get vectors near their kind's (as in `scripts/bench serve`).
            _ = try await SyntheticCatalogue.embed(local, with: try await CatalogueEmbedding.open(store: local, model: model))
        } else {
            _ = try await CatalogueEmbedding.open(store: local, model: model, switching: true).runAndRecord()
        }
        let copyStart = Date()
        let shared = try await Stores.open(postgres)
        try await shared.restore(try await local.snapshot())
        print(String(format: "ready: %d products, %d events; copied into PostgreSQL in %.1f s", products, events.inserted,
                     Date().timeIntervalSince(copyStart)))

        let recommendScript = try Wrk.writeRecommendationScript(shoppers: shoppers, in: folder)
        // Events: batches of 10 new views (distinct times per wrk thread and request), stored durably before each answer.
        let eventsScript = folder.appendingPathComponent("events.lua").path
        try """
            counter = 0
            prefix = "0"
            init = function(args) prefix = args[1] .. "-" .. tostring(os.time()) end
            request = function()
              counter = counter + 1
              local parts = {}
              for i = 1, 10 do
                parts[i] = string.format('{"user_id":"bench-%s-%d","product_id":"P%05d","event":"view","timestamp":"2026-06-01T00:00:00.%03dZ"}',
                  prefix, counter, math.random(1, \(products)), i)
              end
              return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
            end
            """.write(toFile: eventsScript, atomically: true, encoding: .utf8)

        let environment = model.map { ["CURATOR_MODEL": $0] } ?? [:]
        let runs: [(name: String, store: String, count: Int, extra: [String])] = [
            ("SQLite, 1 server", sqlite, 1, []),
            ("PostgreSQL, 1 replica, no history cache", postgres, 1, ["--history-cache-mb", "0"]),
            ("PostgreSQL, 1 replica", postgres, 1, []),
            ("PostgreSQL, \(replicas) replicas", postgres, replicas, []),
        ]
        for run in runs {
            var servers: [ServeProcess] = []
            defer { for server in servers { server.stop() } }
            for slot in 0..<run.count {
                servers.append(try await startServer(store: run.store, slot: slot, extra: run.extra, folder: folder, environment: environment, name: run.name))
            }
            let perServer = max(1, connections / run.count)
            _ = try runWrk(wrk, servers: servers, ["-t1", "-c\(perServer)", "-d2s", "-s", recommendScript])  // warm-up
            let postgresBefore = PostgresCPU.seconds()
            let recommend = try runWrk(wrk, servers: servers, ["-t1", "-c\(perServer)", "-d\(seconds)s", "-s", recommendScript])
            let postgresPerRequest = (PostgresCPU.seconds() - postgresBefore) / max(1, recommend.rate * Double(seconds))
            let ingest = try runWrk(wrk, servers: servers, ["-t1", "-c\(max(1, 4 / run.count))", "-d\(seconds)s", "-s", eventsScript])
            print(String(format: "%@: recommendations %.0f/s (PostgreSQL CPU %.1f µs each), events %.0f/s (batches of 10)%@", run.name,
                         recommend.rate, postgresPerRequest * 1e6, ingest.rate * 10,
                         (recommend.errors + ingest.errors).isEmpty ? "" : " — " + (recommend.errors + ingest.errors).joined(separator: "; ")))
            if run.count > 1 { try await measureLag(from: servers[0], to: servers[1]) }
        }
        let costs = try await measureCosts(wrk: wrk, folder: folder, postgres: postgres, environment: environment, recommendScript: recommendScript,
                                           eventsScript: eventsScript)
        if pinned { try await measurePinned(wrk: wrk, folder: folder, postgres: postgres, environment: environment, costs: costs,
                                            scripts: ["recommendation": recommendScript, "event batch (10)": eventsScript]) }
    }

    /// Catalogues this large are served through the vector graph (`curator serve`'s default
    /// --hnsw-threshold): each replica then keeps its graph in a file of its own, so only its
    /// first start builds it.
    private var usesGraph: Bool { products >= LiveCatalogue.IndexOptions().threshold }

    /// A `curator serve` on `store`; replica `slot` of a PostgreSQL store keeps its graph in a file
    /// of its own when the catalogue uses one. Prints how long a start on a graph-sized catalogue took.
    private func startServer(store: String, slot: Int, extra: [String] = [], folder: URL, environment: [String: String],
                             name: String) async throws -> ServeProcess {
        var arguments = ["--open-shopper-reads", "--model-poll", "0"] + extra
        if usesGraph && PostgresLocation.isPostgresURL(store) {
            arguments += ["--index-file", folder.appendingPathComponent("replica-\(slot).hnsw").path]
        }
        let start = Date()
        let server = try ServeProcess.start(store: store, arguments: arguments, folder: folder, environment: environment,
                                            timeout: max(180, Double(products) / 500))
        if usesGraph {
            let answered = Date().timeIntervalSince(start)
            // Measured through the graph: a first start answers by compact scans until it is built.
            try await Self.waitForGraph(BenchHTTP(base: server.base))
            print(String(format: "  (%@, server %d: answered in %.1f s, graph in service at %.1f s)", name, slot + 1, answered, Date().timeIntervalSince(start)))
        }
        return server
    }

    /// CPU seconds per request of one kind: in the replica, in PostgreSQL, and in wrk (the load
    /// generator shares the machine, so a prediction of what cores serve must count it).
    struct Cost {
        var replica: Double
        var store: Double
        var load: Double
        var total: Double { replica + store + load }
    }

    /// The capacity model checked on this machine as far as its two cores go: replicas pinned to
    /// cores with `taskset`, throughput measured beside what the measured costs predict.
    private func measurePinned(wrk: Wrk, folder: URL, postgres: String, environment: [String: String], costs: [String: Cost],
                               scripts: [String: String]) async throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else {
            print("pinned check skipped: it needs two cores and taskset")
            return
        }
        let ownPID = getpid()
        defer {
            // Everything back on every core.
            Affinity.pin(ownPID, cores: "0-\(ProcessInfo.processInfo.activeProcessorCount - 1)")
            for pid in PostgresCPU.pids() { Affinity.pin(pid, cores: "0-\(ProcessInfo.processInfo.activeProcessorCount - 1)") }
        }
        print("capacity model checked with taskset (predicted from the costs above, wrk's own CPU counted):")
        print("  setup                                                     kind                measured/s   predicted/s")
        for (setup, replicaCores, othersOn) in [("1 replica on core 0; PostgreSQL and wrk on core 1", ["0"], "1"),
                                                 ("2 replicas on cores 0 and 1; PostgreSQL and wrk on both", ["0", "1"], "0,1")] {
            var servers: [ServeProcess] = []
            defer { for server in servers { server.stop() } }
            for slot in replicaCores.indices {
                servers.append(try await startServer(store: postgres, slot: slot, folder: folder, environment: environment, name: "pinned"))
            }
            for (server, core) in zip(servers, replicaCores) { Affinity.pin(server.pid, cores: core) }
            for pid in PostgresCPU.pids() { Affinity.pin(pid, cores: othersOn) }
            Affinity.pin(ownPID, cores: othersOn)  // wrk, started from here, inherits it
            for kind in ["recommendation", "event batch (10)"] {
                guard let script = scripts[kind], let cost = costs[kind] else { continue }
                let perServer = max(1, (kind == "recommendation" ? connections : 4) / servers.count)
                _ = try runWrk(wrk, servers: servers, ["-t1", "-c\(perServer)", "-d2s", "-s", script])
                let load = try runWrk(wrk, servers: servers, ["-t1", "-c\(perServer)", "-d\(seconds)s", "-s", script])
                let predicted = servers.count == 1 ? min(1 / cost.replica, 1 / (cost.store + cost.load)) : Double(servers.count) / cost.total
                print("  " + setup.padding(toLength: 58, withPad: " ", startingAt: 0) + kind.padding(toLength: 18, withPad: " ", startingAt: 0)
                      + String(format: " %10.0f   %11.0f%@", load.rate, predicted, load.errors.isEmpty ? "" : " — " + load.errors.joined(separator: "; ")))
            }
        }
    }

    /// CPU seconds per request in the replica and in PostgreSQL, by kind of request, on one
    /// replica under load: what a capacity model of N machines is built from (README, Scale out).
    private func measureCosts(wrk: Wrk, folder: URL, postgres: String, environment: [String: String], recommendScript: String,
                              eventsScript: String) async throws -> [String: Cost] {
        var costs: [String: Cost] = [:]
        let server = try await startServer(store: postgres, slot: 0, folder: folder, environment: environment, name: "costs")
        defer { server.stop() }
        let searchScript = folder.appendingPathComponent("search.lua").path
        try """
            queries = {"waterproof%20hiking%20boots", "coffee%20grinder", "yoga%20mat", "wireless%20earbuds", "cast%20iron%20pan"}
            counter = 0
            request = function()
              counter = counter + 1
              return wrk.format("GET", "/v1/products?k=10&q=" .. queries[(counter % #queries) + 1])
            end
            """.write(toFile: searchScript, atomically: true, encoding: .utf8)
        print("cost per request on one PostgreSQL replica (CPU seconds from /proc, over the whole run):")
        print("  kind                 requests/s   replica CPU/request   PostgreSQL CPU/request   wrk CPU/request")
        func report(_ kind: String, requests: Double, seconds elapsed: Double, replica: Double, store: Double, load: Double = 0) {
            let n = max(requests, 1)
            print("  " + kind.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: " %10.0f   %16.3f ms   %19.3f ms   %12.3f ms", requests / max(elapsed, 1e-9), replica / n * 1000, store / n * 1000,
                           load / n * 1000))
            costs[kind] = Cost(replica: replica / n, store: store / n, load: load / n)
        }
        for (kind, script, connections, perRequest) in [("recommendation", recommendScript, 4, 1.0), ("event batch (10)", eventsScript, 4, 1.0),
                                                         ("search", searchScript, 2, 1.0)] {
            // The events script names its shoppers after its argument, so every batch is new.
            _ = try wrk.run(["-t1", "-c\(connections)", "-d2s", "-s", script, server.base, "--", "cost-warm-up"])
            let (replicaBefore, storeBefore, loadBefore) = (ProcessCPU.seconds(pid: server.pid), PostgresCPU.seconds(), ProcessCPU.children())
            let result = try wrk.run(["-t1", "-c\(connections)", "-d\(seconds)s", "-s", script, server.base, "--", "cost"])
            report(kind, requests: result.requestsPerSecond * Double(seconds) * perRequest, seconds: Double(seconds),
                   replica: ProcessCPU.seconds(pid: server.pid) - replicaBefore, store: PostgresCPU.seconds() - storeBefore,
                   load: ProcessCPU.children() - loadBefore)
        }
        let http = BenchHTTP(base: server.base)
        let (replicaBefore, storeBefore) = (ProcessCPU.seconds(pid: server.pid), PostgresCPU.seconds())
        let started = Date()
        for i in 0..<100 {
            try await http.expect(200, "PUT", "/v1/products/COST-\(i)",
                                  json: "{\"title\":\"Summit Trail Hiking Backpack \(20 + i)L\",\"category\":\"Outdoor > Hiking Backpack\",\"price\":\"59.90\"}",
                                  what: "a product upsert")
        }
        report("product upsert", requests: 100, seconds: Date().timeIntervalSince(started),
               replica: ProcessCPU.seconds(pid: server.pid) - replicaBefore, store: PostgresCPU.seconds() - storeBefore)
        return costs
    }

    /// A product written on `a` until `b` serves it: the time from `a`'s answer to `b`'s first 200.
    private func measureLag(from a: ServeProcess, to b: ServeProcess) async throws {
        let first = BenchHTTP(base: a.base), second = BenchHTTP(base: b.base)
        var lags: [Double] = []
        for i in 0..<lagSamples {
            let id = "LAG-\(UUID().uuidString.prefix(8))-\(i)"
            try await first.expect(200, "PUT", "/v1/products/\(id)", json: "{\"title\":\"Replication probe \(i)\",\"category\":\"Bench > Lag\"}",
                                   what: "the upsert on the first replica")
            let written = Date()
            while true {
                if await second.send("GET", "/v1/products/\(id)").status == 200 { break }
                if Date().timeIntervalSince(written) > 10 { throw CuratorError.configuration("\(id) not on the second replica after 10 s") }
                try await Task.sleep(for: .milliseconds(1))
            }
            lags.append(Date().timeIntervalSince(written) * 1000)
        }
        print(String(format: "replication lag (product upsert on one replica until another serves it, %d writes): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     lags.count, percentile(lags, 0.5), percentile(lags, 0.99), lags.max() ?? 0))
    }

    private struct Load {
        var rate: Double
        var errors: [String]
    }

    /// wrk against every server at once, one process each (the script's `init` gets the server's
    /// number, so each writes events of its own); the rates add up.
    private func runWrk(_ wrk: Wrk, servers: [ServeProcess], _ arguments: [String]) throws -> Load {
        let results = try wrk.runAtOnce(servers.enumerated().map { i, server in arguments + [server.base, "--", String(i)] })
        return Load(rate: results.map(\.requestsPerSecond).reduce(0, +), errors: results.compactMap(\.errors))
    }
}

/// CPU seconds (user + system) the machine's PostgreSQL processes have used, from /proc: what a
/// request costs the shared store, measured around a run.
enum PostgresCPU {
    static func seconds() -> Double { pids().reduce(0) { $0 + ProcessCPU.seconds(pid: $1) } }

    /// The machine's PostgreSQL processes.
    static func pids() -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid in
            guard pid.allSatisfy(\.isNumber), let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres" else { return nil }
            return Int32(pid)
        }
    }
}

/// Which cores a process (all its threads) may run on, set with taskset; processes it starts
/// later inherit it.
enum Affinity {
    static func pin(_ pid: Int32, cores: String) {
        _ = try? ChildProcess(URL(fileURLWithPath: "/usr/bin/taskset"), ["-a", "-p", "-c", cores, String(pid)]).run()
    }
}

/// CPU seconds (user + system) one process has used, from /proc.
enum ProcessCPU {
    /// Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    static func seconds(pid: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticks > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticks
    }

    /// CPU seconds of this process's children that have ended and been waited for (wrk's runs).
    static func children() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
