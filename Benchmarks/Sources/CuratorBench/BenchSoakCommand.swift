import ArgumentParser
import ChildProcesses
import CuratorCore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Holds `curator serve` — its own process, as in production — under a steady mix of requests for
/// minutes and samples it once a minute: resident memory, open files, threads, latency and errors.
/// A leak shows as memory or open files that keep climbing after the first minute.
struct BenchSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Serve a sample shop under a fixed-rate mix of requests for N minutes; print memory, open files and p99 every minute.",
        discussion: """
            Sets the shop up with the curator commands a user runs (sample, import, embed, split, train), starts \
            `curator serve` with an admin and an events key, then sends recommendations, event batches, searches \
            and product upserts at fixed rates (open loop: a slow answer does not slow the senders down). The \
            first minute is the warm-up; the summary compares every later minute with it. Exits 1 if any request \
            failed.
            """)

    @Option(help: "Minutes of load.") var minutes = 10
    @Option(help: "Products in the sample shop.") var products = 10_000
    @Option(help: "Shoppers in the sample shop.") var shoppers = 3_000
    @Option(help: "Recommendation requests per second (random known shoppers).") var recommendations = 100.0
    @Option(help: "Event requests per second, 10 events each (known and new shoppers).") var events = 20.0
    @Option(help: "Search requests per second.") var searches = 5.0
    @Option(help: "Product upserts per second, each a new product (encoded and indexed before the answer).") var upserts = 0.5
    @Option(name: .customLong("language-model"), help: "Language model: all-MiniLM-L6-v2, multilingual-e5-small or a folder (default: $CURATOR_MODEL, else all-MiniLM-L6-v2).")
    var model: String?

    func validate() throws {
        guard minutes >= 1 else { throw ValidationError("--minutes must be at least 1") }
        guard products >= 100, shoppers >= 10, shoppers <= 99_999 else {
            throw ValidationError("--products must be at least 100 and --shoppers between 10 and 99999")
        }
        for (name, rate) in [("recommendations", recommendations), ("events", events), ("searches", searches), ("upserts", upserts)]
        where !(0...10_000).contains(rate) {
            throw ValidationError("--\(name) must be a rate between 0 and 10000 per second, not \(rate)")
        }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("soak.sqlite").path
        let shop = folder.appendingPathComponent("shop").path

        print("== setting up \(products) products and \(shoppers) shoppers in \(folder.path)")
        let setupStart = Date()
        try runCurator(["sample", "--out", shop, "--products", String(products), "--shoppers", String(shoppers)], store: store)
        try runCurator(["import", "products", shop + "/products.csv"], store: store)
        try runCurator(["import", "events", shop + "/events.csv"], store: store)
        try runCurator(["embed", "--quiet"] + (model.map { ["--language-model", $0] } ?? []), store: store)
        try runCurator(["split"], store: store)
        try runCurator(["train", "--model", "sequential", "--epochs", "2"], store: store)
        print(String(format: "ready in %.0f s", Date().timeIntervalSince(setupStart)))

        let keys = SoakKeys()
        let server = try ServeProcess.start(
            store: store, arguments: ["--model-poll", "0"], folder: folder,
            environment: ["CURATOR_API_KEYS": "\(keys.admin):admin,\(keys.events):events", "CURATOR_SESSION_SECRET": keys.sessionSecret])
        defer { server.stop() }
        print("== curator serve (pid \(server.pid)) at \(server.base)")
        let client = SoakClient(base: server.base, keys: keys, products: products, shoppers: shoppers)
        let log = SoakLog()
        let mix = [(SoakRequest.recommendation, recommendations), (.events, events), (.search, searches), (.upsert, upserts)]
        print("== \(minutes) min at " + mix.filter { $0.1 > 0 }.map { String(format: "%g %@/s", $0.1, $0.0.rawValue) }.joined(separator: ", "))
        print(SoakMinute.header)

        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(60 * minutes)
        var rows: [SoakMinute] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (kind, rate) in mix where rate > 0 {
                group.addTask { await client.drive(kind, rate: rate, until: end, log: log) }
            }
            for minute in 1...minutes {
                try await clock.sleep(until: start + .seconds(60 * minute))
                let window = await log.takeWindow()
                guard server.child.isRunning, let sample = ProcessSample(pid: server.pid) else {
                    throw CuratorError.configuration(server.child.isRunning
                        ? "cannot read /proc/\(server.pid) (the soak bench needs Linux's /proc)"
                        : "curator serve exited during minute \(minute):\n\(server.stderrTail())")
                }
                let row = SoakMinute(minute: minute, window: window, process: sample)
                rows.append(row)
                print(row.line)
            }
            try await group.waitForAll()
        }
        // Answers still in flight when the last minute closed.
        let late = await log.takeWindow()
        let totals = await log.totals
        summarize(rows, late: late, totals: totals)
        if totals.failed > 0 {
            throw fail(CuratorError.configuration("\(totals.failed) of \(totals.sent) requests failed: \(totals.failures.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))"))
        }
    }

    private func summarize(_ rows: [SoakMinute], late: SoakLog.Window, totals: SoakLog.Totals) {
        print("== summary")
        print("requests: \(totals.sent) sent, \(totals.failed) failed; \(late.count) answered after the last sample")
        guard let first = rows.first, let last = rows.last else { return }
        let peak = rows.map(\.process.residentMB).max() ?? 0
        if rows.count > 1 {
            let growth = last.process.residentMB - first.process.residentMB
            print(String(format: "memory: %.1f MB after the warm-up minute, %.1f MB after minute %d (%+.1f MB, %+.2f MB/min); peak %.1f MB",
                         first.process.residentMB, last.process.residentMB, last.minute, growth, growth / Double(last.minute - first.minute), peak))
        } else {
            print(String(format: "memory: %.1f MB after one minute (run 2 minutes or more to see a trend)", first.process.residentMB))
        }
        print("open files: \(first.process.openFiles) → \(last.process.openFiles); threads: \(first.process.threads) → \(last.process.threads)")
        for kind in SoakRequest.allCases {
            let p99s = rows.dropFirst().compactMap { $0.window.latencies[kind].map { percentile($0, 0.99) } }
            guard let worst = p99s.max(), let best = p99s.min() else { continue }
            print(String(format: "%@ p99 per minute after warm-up: %.1f–%.1f ms", kind.rawValue, best, worst))
        }
    }

    /// Runs this same curator binary with the store in the environment; its output goes to ours.
    private func runCurator(_ arguments: [String], store: String) throws {
        do {
            try ChildProcess(try curatorBinary(), arguments, environment: ChildProcess.environment(["CURATOR_STORE": store])).runChecked(output: .inherit)
        } catch {
            throw fail(error)
        }
    }
}

/// The kinds of request in the mix.
enum SoakRequest: String, CaseIterable, Sendable {
    case recommendation = "recommendations", events, search = "searches", upsert = "upserts"
}

/// An admin key and an events key, made up for this run.
struct SoakKeys: Sendable {
    let admin = SoakKeys.random()
    let events = SoakKeys.random()
    let sessionSecret = SoakKeys.random() + SoakKeys.random()

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Sends the requests of the mix, each kind at its own fixed rate.
struct SoakClient: Sendable {
    let base: String
    let keys: SoakKeys
    let products: Int
    let shoppers: Int
    let http: BenchHTTP

    init(base: String, keys: SoakKeys, products: Int, shoppers: Int) {
        self.base = base
        self.keys = keys
        self.products = products
        self.shoppers = shoppers
        http = BenchHTTP(base: base, timeout: 60)
    }

    static let queries = ["waterproof hiking boots", "quiet electric coffee grinder", "non-slip yoga mat", "wireless earbuds with long battery",
                          "cast iron pan for the oven", "warm wool blanket", "matte red lipstick", "tent for two people", "gift for a runner"]

    /// Open loop: request n starts at start + n / rate whether or not earlier ones have answered.
    func drive(_ kind: SoakRequest, rate: Double, until end: ContinuousClock.Instant, log: SoakLog) async {
        let clock = ContinuousClock()
        let interval = Duration.seconds(1 / rate)
        var next = clock.now
        var sequence = 0
        await withDiscardingTaskGroup { group in
            while next < end {
                try? await clock.sleep(until: next)
                sequence += 1
                let request = makeRequest(kind, sequence: sequence)
                group.addTask {
                    let reply = await http.send(request)
                    await log.record(kind, milliseconds: reply.milliseconds, status: reply.status)
                }
                next += interval
            }
        }
    }

    func makeRequest(_ kind: SoakRequest, sequence: Int) -> URLRequest {
        var generator = SystemRandomNumberGenerator()
        let shopper = { String(format: "S%05d", Int.random(in: 1...shoppers, using: &generator)) }
        switch kind {
        case .recommendation:
            return request("GET", "/v1/shoppers/\(shopper())/recommendations?k=10", key: keys.admin)
        case .search:
            let query = Self.queries[sequence % Self.queries.count]
            let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? query
            return request("GET", "/v1/products?q=\(encoded)&k=10", key: keys.admin)
        case .events:
            let now = Date().timeIntervalSince1970
            let types = ["view", "view", "view", "view", "click", "click", "cart", "favorite", "purchase"]
            let batch = (0..<10).map { i in
                // Half from known shoppers, half from new ones: both histories and the shopper table grow.
                let user = Bool.random(using: &generator) ? shopper() : "soak-\(Int.random(in: 1...100_000, using: &generator))"
                let product = String(format: "P%05d", Int.random(in: 1...products, using: &generator))
                let stamp = ISO8601DateFormatter.string(from: Date(timeIntervalSince1970: now + Double(i) / 1000), timeZone: .gmt,
                                                        formatOptions: [.withInternetDateTime, .withFractionalSeconds])
                return "{\"user_id\":\"\(user)\",\"product_id\":\"\(product)\",\"event\":\"\(types[Int.random(in: 0..<types.count, using: &generator)])\",\"timestamp\":\"\(stamp)\"}"
            }
            return request("POST", "/v1/events", key: keys.events, body: "[" + batch.joined(separator: ",") + "]")
        case .upsert:
            let body = "{\"title\":\"Summit Trail Hiking Backpack \(20 + sequence % 40)L, soak edition \(sequence)\",\"brand\":\"Summit\",\"category\":\"Outdoor > Hiking Backpack\",\"description\":\"Carries your gear on long day hikes; soak product \(sequence).\",\"price\":\"59.90\"}"
            return request("PUT", "/v1/products/SOAK-\(sequence)", key: keys.admin, body: body)
        }
    }

    private func request(_ method: String, _ path: String, key: String, body: String? = nil) -> URLRequest {
        http.request(method, path, bearer: key, json: body)
    }
}

/// Latencies and failures of the current minute, and totals of the run.
actor SoakLog {
    struct Window: Sendable {
        var latencies: [SoakRequest: [Double]] = [:]
        var failures: [String: Int] = [:]
        var count: Int { latencies.values.reduce(0) { $0 + $1.count } }
        var failed: Int { failures.values.reduce(0, +) }
    }

    struct Totals: Sendable {
        var sent = 0
        var failures: [String: Int] = [:]
        var failed: Int { failures.values.reduce(0, +) }
    }

    private var window = Window()
    private(set) var totals = Totals()

    func record(_ kind: SoakRequest, milliseconds: Double, status: Int?) {
        window.latencies[kind, default: []].append(milliseconds)
        totals.sent += 1
        guard let status, (200..<300).contains(status) else {
            let key = "\(kind.rawValue) \(status.map(String.init) ?? "no answer")"
            window.failures[key, default: 0] += 1
            totals.failures[key, default: 0] += 1
            return
        }
    }

    func takeWindow() -> Window {
        defer { window = Window() }
        return window
    }
}

/// The server process as /proc shows it.
struct ProcessSample: Sendable {
    var residentMB: Double
    var threads: Int
    var openFiles: Int

    init?(pid: Int32) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let files = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        func field(_ name: String) -> Double? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { line in line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap { Double($0) } }
        }
        guard let resident = field("VmRSS"), let threads = field("Threads") else { return nil }
        residentMB = resident / 1024
        self.threads = Int(threads)
        openFiles = files.count
    }
}

/// One printed row: what the minute sent and how the server looked at its end.
struct SoakMinute: Sendable {
    var minute: Int
    var window: SoakLog.Window
    var process: ProcessSample

    static let header = "minute  answers  failed  " + SoakRequest.allCases.map { "\($0.rawValue) p50/p99 ms".padding(toLength: 28, withPad: " ", startingAt: 0) }.joined()
        + "RSS MB  files  threads"

    var line: String {
        let latency = SoakRequest.allCases.map { kind -> String in
            let values = window.latencies[kind] ?? []
            let text = values.isEmpty ? "—" : String(format: "%.1f/%.1f", percentile(values, 0.5), percentile(values, 0.99))
            return text.padding(toLength: 28, withPad: " ", startingAt: 0)
        }.joined()
        return String(format: "%6d  %7d  %6d  ", minute, window.count, window.failed) + latency
            + String(format: "%6.1f  %5d  %7d", process.residentMB, process.openFiles, process.threads)
    }
}
