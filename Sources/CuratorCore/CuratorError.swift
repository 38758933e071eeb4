/// Where in an input something went wrong, so a user can open the file at that line.
public struct InputLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var field: String?

    public init(file: String, line: Int, field: String? = nil) {
        self.file = file
        self.line = line
        self.field = field
    }

    public var description: String {
        if let field { return "\(file):\(line): field '\(field)'" }
        return "\(file):\(line)"
    }
}

/// Errors a user can act on. Each message says what is wrong and, where known, where.
public enum CuratorError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The input as a whole cannot be used (missing column, empty, binary, not UTF-8).
    case invalidInput(file: String, reason: String)
    /// One record is wrong; the rest may still be fine.
    case invalidRecord(InputLocation, reason: String)
    case notFound(what: String)
    case storage(String)
    case model(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .invalidInput(let file, let reason): "\(file): \(reason)"
        case .invalidRecord(let location, let reason): "\(location): \(reason)"
        case .notFound(let what): "not found: \(what)"
        case .storage(let message): "store: \(message)"
        case .model(let message): "model: \(message)"
        case .configuration(let message): "configuration: \(message)"
        }
    }
}
