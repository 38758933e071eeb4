import CuratorCore
import Foundation

/// A saved evaluation split: which stored events are train, validation or test.
public struct StoredSplit: Sendable, Hashable {
    public var name: String
    public var kind: String
    /// The options the split was made with, as JSON text.
    public var parameters: String
    /// The data the split was made from; a different fingerprint means the events changed since.
    public var dataFingerprint: String
    public var createdAtMillis: Int64
    /// (event id, part name) for every event in the split; events left out (k-core) have no row.
    public var assignments: [(eventID: Int64, part: String)]

    public static func == (a: StoredSplit, b: StoredSplit) -> Bool {
        a.name == b.name && a.kind == b.kind && a.parameters == b.parameters && a.dataFingerprint == b.dataFingerprint
            && a.assignments.map(\.eventID) == b.assignments.map(\.eventID) && a.assignments.map(\.part) == b.assignments.map(\.part)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    public init(name: String, kind: String, parameters: String, dataFingerprint: String, createdAtMillis: Int64,
                assignments: [(eventID: Int64, part: String)]) {
        self.name = name
        self.kind = kind
        self.parameters = parameters
        self.dataFingerprint = dataFingerprint
        self.createdAtMillis = createdAtMillis
        self.assignments = assignments
    }
}
