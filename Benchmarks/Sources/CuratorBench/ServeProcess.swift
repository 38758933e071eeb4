import ChildProcesses
import CuratorCore
import Foundation

/// `curator serve` — this same binary — as a child process on a store, for benchmarks that must
/// see the server as production runs it (its own memory, files and start time). Its standard
/// output and error go to files in `folder`.
struct ServeProcess: Sendable {
    let child: ChildProcess.Running
    var pid: Int32 { child.pid }
    /// `http://127.0.0.1:PORT`, as the server printed it.
    let base: String
    let stderrPath: String

    /// Starts the server on a free port and returns once it printed its address. Benchmarks drive
    /// it from one address, so without `rateLimited` it runs with `--no-rate-limits`.
    static func start(store: String, arguments: [String] = [], folder: URL, environment extra: [String: String] = [:],
                      timeout: TimeInterval = 180, rateLimited: Bool = false) throws -> ServeProcess {
        let arguments = rateLimited ? arguments : arguments + ["--no-rate-limits"]
        let outPath = folder.appendingPathComponent("serve-\(UUID().uuidString).out").path
        let errPath = folder.appendingPathComponent("serve-\(UUID().uuidString).err").path
        let child = try ChildProcess(try curatorBinary(), ["serve", "--store", store, "--port", "0"] + arguments,
                                     environment: ChildProcess.environment(extra)).start(output: .files(stdout: outPath, stderr: errPath))
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            if let range = output.range(of: " on http://"), let lineEnd = output[range.upperBound...].firstIndex(of: "\n") {
                return ServeProcess(child: child, base: "http://" + output[range.upperBound..<lineEnd], stderrPath: errPath)
            }
            guard child.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        child.terminate()
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        throw CuratorError.configuration("curator serve did not start:\n\(errors.suffix(2_000))")
    }

    func stderrTail() -> String {
        String(((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "").suffix(2_000))
    }

    func stop() { child.terminate() }
}
