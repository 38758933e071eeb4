import ArgumentParser
import CuratorCore
import Foundation
import Linear
import TextModels

/// `curator-bench encode`: throughput, batch-1 latency and peak memory of the sentence encoder.
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
    @Option(name: .customLong("language-model"), help: "Model: a name (all-MiniLM-L6-v2, multilingual-e5-small) or a folder (default: $CURATOR_MODEL or all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts per forward pass.") var batch = 32
    @Option(help: "Cores to use (default: all).") var threads: Int?
    @Option(help: "The texts' role for models trained with prefixes: passage (product texts) or query (searches).") var kind = "passage"
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
        guard let role = TextRole(rawValue: kind) else { throw encodeFailure("--kind must be query or passage") }

        if portable {
            Kernels.setUsesAVX2(false)
            Q4Matrix.setKernel(0)
        }
        let loadStart = DispatchTime.now()
        let encoder = try loadEncoder(model: model, batch: batch, threads: threads, parallelism: mode)
        let loadSeconds = seconds(since: loadStart)
        let tokens = texts.reduce(0) { $0 + encoder.inputIDs($1, role: role).count }

        _ = encoder.encodeMatrix(Array(texts.prefix(64)), role: role)  // warm-up: page in weights, grow scratch
        var passes: [Double] = []
        for _ in 0..<max(1, self.repeat) {
            let start = DispatchTime.now()
            _ = encoder.encodeMatrix(texts, role: role)
            passes.append(seconds(since: start))
        }
        let median = passes.sorted()[passes.count / 2]

        var latencies: [Double] = []
        for text in texts.prefix(max(0, latencyTexts)) {
            let start = DispatchTime.now()
            _ = encoder.encodeMatrix([text], role: role)
            latencies.append(seconds(since: start) * 1000)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { Percentile.of(sorted: latencies, p) ?? .nan }
        // Peak memory first: reading OpenBLAS's core name below loads it, which the e5 encoder never does.
        let peak = peakMemory()
        let usesBLAS = !(encoder is E5Encoder)
        let core = usesBLAS ? BLAS.coreName : ""  // loads OpenBLAS if the encoder did not need it
        let chosen = usesBLAS ? BLAS.chosenCoreType : ""
        print("model        \(encoder.modelID) (dimension \(encoder.dimension), loaded in \(format(loadSeconds, 2)) s)")
        print("input        \(input): \(texts.count) texts, \(tokens) tokens (\(format(Double(tokens) / Double(texts.count), 1)) per text, special tokens included)")
        print("settings     batch \(batch), threads \(encoder.threads), parallelism \(mode.rawValue), kind \(role.rawValue)")
        print("throughput   \(format(Double(texts.count) / median, 1)) texts/s, \(format(Double(tokens) / median, 0)) tokens/s (median of \(passes.count) passes: \(passes.map { format($0, 3) }.joined(separator: ", ")) s)")
        if !latencies.isEmpty {
            print("batch-1      p50 \(format(percentile(0.5), 2)) ms, p99 \(format(percentile(0.99), 2)) ms over \(latencies.count) texts")
        }
        print("peak memory  \(peak)")
        if usesBLAS {
            print("OpenBLAS     core \(core.isEmpty ? "not loaded" : core)\(chosen.isEmpty ? " (OPENBLAS_CORETYPE from the environment or OpenBLAS's own detection)" : " (chosen by Curator for this CPU)")")
        }
        if encoder is E5Encoder {
            print("kernels      4-bit weights × int8 activations, \(Q4Matrix.kernelName) kernel; \(Kernels.usesAVX2 ? "AVX2" : "portable") attention and element-wise kernels")
        } else {
            print("kernels      \(PackedMatrix.isAvailable ? "packed-weight AVX2+FMA matrix products (OpenBLAS unused by the encoder)" : "OpenBLAS matrix products, portable element-wise kernels")")
        }
    }
}

/// Loads the encoder a benchmark measures, with its batch, threads and parallelism.
func loadEncoder(model: String?, batch: Int, threads: Int?, parallelism: SentenceEncoder.Parallelism) throws -> any TextEncoder {
    do {
        return try TextEncoders.load(model, batch: batch, threads: threads, parallelism: parallelism)
    } catch {
        throw encodeFailure(error.description)
    }
}

/// Prints "curator-bench: error: …" on standard error and returns the failure exit code to throw.
func encodeFailure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("curator-bench: error: \(message)\n".utf8))
    return ExitCode.failure
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// VmHWM (peak resident memory) from /proc/self/status.
func peakMemory() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "unknown (no /proc)" }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
        return "\(format(kb / 1024, 1)) MB (VmHWM)"
    }
    return "unknown"
}
