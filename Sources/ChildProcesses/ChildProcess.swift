import Foundation
import Synchronization

/// Another program run by Curator's tools: the CLI (pip for `models fetch`), the benchmarks
/// (`curator serve`, `curator` commands, wrk) and the tests (the built binary). One runner, so
/// every caller reads a child's output the same safe way: standard output and error at once
/// (read one after the other, a child that fills the second pipe blocks forever), or straight
/// to files for a long-running server.
public struct ChildProcess: Sendable {
    /// What a finished child printed and how it ended.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Where a child's output goes.
    public enum Output: Sendable {
        /// Read into the result.
        case capture
        /// This process's own standard output and error.
        case inherit
        /// Appended to these files (a server that runs for minutes).
        case files(stdout: String, stderr: String)
    }

    public let executable: URL
    public var arguments: [String]
    public var directory: URL?
    /// The whole environment (nil: this process's).
    public var environment: [String: String]?

    public init(_ executable: URL, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
        self.environment = environment
    }

    /// A program found on PATH (through /usr/bin/env).
    public static func tool(_ name: String, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil) -> ChildProcess {
        ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), [name] + arguments, directory: directory, environment: environment)
    }

    /// This process's environment with `changes` applied (nil removes a variable).
    public static func environment(_ changes: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    /// Starts the child; `wait()` on the handle collects it.
    public func start(output: Output = .capture, input: Data? = nil) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        var pipes: (out: Pipe, err: Pipe)?
        switch output {
        case .capture:
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            pipes = (out, err)
        case .inherit:
            break
        case .files(let stdout, let stderr):
            for path in [stdout, stderr] where !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw ChildProcessError(command: description, reason: "cannot create its output file \(path)")
                }
            }
            process.standardOutput = FileHandle(forWritingAtPath: stdout)
            process.standardError = FileHandle(forWritingAtPath: stderr)
        }
        let stdin = input.map { _ in Pipe() }
        if let stdin { process.standardInput = stdin }
        do {
            try process.run()
        } catch {
            throw ChildProcessError(command: description, reason: "cannot start it: \(error.localizedDescription)")
        }
        if let stdin, let input {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        return Running(process: process, pipes: pipes)
    }

    /// Runs the child to its end.
    @discardableResult
    public func run(output: Output = .capture, input: Data? = nil) throws -> Result {
        try start(output: output, input: input).wait()
    }

    /// Runs the child to its end and fails unless it exits 0 (`hint` says what to check).
    @discardableResult
    public func runChecked(output: Output = .capture, hint: String = "") throws -> Result {
        let result = try run(output: output)
        guard result.status == 0 else {
            let tail = result.stderr.isEmpty ? "" : ": " + String(result.stderr.suffix(1_000))
            throw ChildProcessError(command: description, reason: "exited with status \(result.status)\(tail)\(hint.isEmpty ? "" : "; " + hint)")
        }
        return result
    }

    public var description: String { ([executable.lastPathComponent] + arguments.prefix(6)).joined(separator: " ") }

    /// A started child.
    public final class Running: @unchecked Sendable {
        // The process and its pipes are only touched by `wait`, `terminate` and `isRunning`,
        // which Foundation makes safe to call from any thread.
        public let process: Process
        private let pipes: (out: Pipe, err: Pipe)?

        init(process: Process, pipes: (out: Pipe, err: Pipe)?) {
            self.process = process
            self.pipes = pipes
        }

        public var pid: Int32 { process.processIdentifier }
        public var isRunning: Bool { process.isRunning }

        /// Waits for the end, reading both pipes at once.
        public func wait() -> Result {
            var stdout = Data(), stderr = Data()
            if let pipes {
                let errData = Mutex(Data())
                let errDone = DispatchSemaphore(value: 0)
                Thread {
                    let data = pipes.err.fileHandleForReading.readDataToEndOfFile()
                    errData.withLock { $0 = data }
                    errDone.signal()
                }.start()
                stdout = pipes.out.fileHandleForReading.readDataToEndOfFile()
                errDone.wait()
                stderr = errData.withLock { $0 }
            }
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
        }

        /// SIGTERM, then waits for the end; its exit status.
        @discardableResult
        public func terminate() -> Int32 {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}

/// A child that could not be started or did not succeed.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public let command: String
    public let reason: String
    public var description: String { "`\(command)` \(reason)" }
}
