import CuratorCore
import Recommenders
import Storage

/// A saved split rebuilt over the events now in the store: what training and evaluation read.
public struct LoadedSplit: Sendable {
    /// The split as saved (name, kind, parameters).
    public let saved: StoredSplit
    public let data: DataSplit
    /// Events or products changed since the split was made; events added since are left out.
    public let dataChanged: Bool
    /// Identifies the assignments, not the name: the same events in the same parts give the same
    /// value, so a model can tell the split it was trained on from one made again under its name.
    public let fingerprint: String

    public var name: String { saved.name }

    /// Rebuilds the split saved as `name` (`curator split`).
    public static func load(named name: String, from store: any EventStore & TrainingStore) async throws -> LoadedSplit {
        guard let saved = try await store.split(named: name) else {
            throw CuratorError.notFound(what: "split '\(name)' (make one with: curator split)")
        }
        let log = try await store.interactionLog()
        var assigned = Set<Int64>()
        assigned.reserveCapacity(saved.assignments.count)
        var assignments: [SplitAssignment] = []
        assignments.reserveCapacity(saved.assignments.count)
        for a in saved.assignments {
            guard let part = SplitPart(rawValue: a.part) else {
                throw CuratorError.storage("split '\(saved.name)' has an unknown part '\(a.part)'")
            }
            assigned.insert(a.eventID)
            assignments.append(SplitAssignment(eventID: a.eventID, part: part))
        }
        let kept = InteractionLog(shopperKeys: log.shopperKeys, productKeys: log.productKeys,
                                  interactions: log.interactions.filter { assigned.contains($0.eventID) })
        guard kept.interactions.count == assignments.count else {
            throw CuratorError.configuration(
                "\(assignments.count - kept.interactions.count) events of split '\(saved.name)' are no longer in the store; make the split again")
        }
        let currentFingerprint = try await store.dataFingerprint()
        return LoadedSplit(saved: saved, data: try DataSplit(log: kept, assignments: assignments),
                           dataChanged: saved.dataFingerprint != currentFingerprint,
                           fingerprint: Self.fingerprint(of: saved.assignments))
    }

    /// FNV-1a (64 bits) over the (event id, part) pairs in event-id order: an identity check,
    /// not a secret, so a fast non-cryptographic hash will do.
    static func fingerprint(of assignments: [(eventID: Int64, part: String)]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for (eventID, part) in assignments.sorted(by: { $0.eventID < $1.eventID }) {
            withUnsafeBytes(of: eventID.littleEndian) { for byte in $0 { mix(byte) } }
            for byte in part.utf8 { mix(byte) }
            mix(0)
        }
        return String(hash, radix: 16)
    }
}
