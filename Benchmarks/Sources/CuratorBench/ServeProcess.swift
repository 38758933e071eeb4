import CuratorCore
import Foundation

/// `curator serve` — this same binary — as a child process on a store, for benchmarks that must
/// see the server as production runs it (its own memory, files and start time). Its standard
/// output and error go to files in `folder`.
struct ServeProcess: Sendable {
    let process: Process
    let pid: Int32
    /// `http://127.0.0.1:PORT`, as the server printed it.
    let base: String
    let stderrPath: String

    /// Starts the server on a free port and returns once it printed its address.
    static func start(store: String, arguments: [String] = [], folder: URL, environment extra: [String: String] = [:],
                      timeout: TimeInterval = 180) throws -> ServeProcess {
        let outPath = folder.appendingPathComponent("serve-\(UUID().uuidString).out").path
        let errPath = folder.appendingPathComponent("serve-\(UUID().uuidString).err").path
        guard FileManager.default.createFile(atPath: outPath, contents: nil), FileManager.default.createFile(atPath: errPath, contents: nil) else {
            throw CuratorError.configuration("cannot write the server's output files in \(folder.path)")
        }
        let process = Process()
        process.executableURL = try curatorBinary()
        process.arguments = ["serve", "--store", store, "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            if let range = output.range(of: " on http://"), let lineEnd = output[range.upperBound...].firstIndex(of: "\n") {
                return ServeProcess(process: process, pid: process.processIdentifier,
                                    base: "http://" + output[range.upperBound..<lineEnd], stderrPath: errPath)
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        if process.isRunning { process.terminate() }
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        throw CuratorError.configuration("curator serve did not start:\n\(errors.suffix(2_000))")
    }

    func stderrTail() -> String {
        String(((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "").suffix(2_000))
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
