import ChildProcesses
import CuratorCore
import Foundation

/// wrk (apt-get install wrk), the HTTP load generator the serving benchmarks drive the server with.
struct Wrk {
    let path: String

    /// wrk where Debian installs it, or a clear error.
    static func find() throws -> Wrk {
        guard let path = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CuratorError.configuration("wrk is not installed: apt-get install wrk")
        }
        return Wrk(path: path)
    }

    struct Result {
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        /// wrk's line about non-2xx answers or socket errors, if any.
        var errors: String?
        var summary: String {
            "\(Int(requestsPerSecond)) requests/s, latency p50 \(p50), p99 \(p99)" + (errors.map { " (\($0))" } ?? "")
        }
    }

    /// One run, to the end.
    func run(_ arguments: [String]) throws -> Result {
        try runAtOnce([arguments])[0]
    }

    /// Several wrk processes at the same time (one per server of a replicated setup), each to the end.
    func runAtOnce(_ runs: [[String]]) throws -> [Result] {
        let started = try runs.map { try ChildProcess(URL(fileURLWithPath: path), $0).start() }
        return started.map { child in
            let result = child.wait()
            return Self.parse(result.stdout + "\n" + result.stderr)
        }
    }

    /// A wrk script asking for random sample-shop shoppers' recommendations (`S00001`…); returns its path.
    static func writeRecommendationScript(shoppers: Int, in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("recommend.lua").path
        try """
            math.randomseed(7)
            request = function()
              return wrk.format("GET", string.format("/v1/shoppers/S%05d/recommendations?k=10", math.random(1, \(shoppers))))
            end
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func parse(_ output: String) -> Result {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func field(_ prefix: String) -> String? {
            lines.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        }
        return Result(requestsPerSecond: Double(field("Requests/sec:") ?? "") ?? 0, p50: field("50%") ?? "?", p99: field("99%") ?? "?",
                      errors: lines.first { $0.contains("Non-2xx") || $0.contains("Socket errors") })
    }
}
