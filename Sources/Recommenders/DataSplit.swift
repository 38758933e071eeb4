import CuratorCore

/// Which part of a split an interaction belongs to. The raw value is what the CLI persists.
public enum SplitPart: String, Sendable, Codable, Hashable, CaseIterable {
    case train, validation, test
}

/// One persisted row of a split: the stored event's id and its part.
public struct SplitAssignment: Sendable, Hashable, Codable {
    public var eventID: Int64
    public var part: SplitPart

    public init(eventID: Int64, part: SplitPart) {
        self.eventID = eventID
        self.part = part
    }
}

/// A log with every interaction assigned to train, validation or test.
///
/// The split is a part per interaction (parallel to `log.interactions`) rather than
/// three copied logs, so it can be persisted as (eventID, part) rows and reloaded
/// exactly, and so histories and targets are derived from one source of truth.
///
/// Repeat purchases stay in the history as they happened: a model may learn from a
/// shopper buying the same product twice. Evaluation, however, removes products
/// already in the shopper's history from the ranking (see `EvaluationSet`), so a
/// test target the shopper already had in their history can never be hit; such
/// targets are counted in `EvaluationSet.unreachableTargetCount` so the ceiling is visible.
public struct DataSplit: Sendable {
    public let log: InteractionLog
    /// `parts[i]` is the part of `log.interactions[i]`.
    public let parts: [SplitPart]

    public init(log: InteractionLog, parts: [SplitPart]) {
        precondition(parts.count == log.interactions.count, "one part per interaction")
        self.log = log
        self.parts = parts
    }

    /// Rebuilds a persisted split. Every interaction of `log` must have an assignment,
    /// otherwise the split would silently differ from the one that was saved.
    public init(log: InteractionLog, assignments: [SplitAssignment]) throws {
        var byEvent: [Int64: SplitPart] = [:]
        byEvent.reserveCapacity(assignments.count)
        for a in assignments { byEvent[a.eventID] = a.part }
        var parts: [SplitPart] = []
        parts.reserveCapacity(log.interactions.count)
        for interaction in log.interactions {
            guard let part = byEvent[interaction.eventID] else {
                throw CuratorError.configuration(
                    "the saved split has no part for event \(interaction.eventID); the events changed since it was made, so make the split again")
            }
            parts.append(part)
        }
        self.init(log: log, parts: parts)
    }

    /// (eventID, part) for every interaction, in log order, for persisting.
    public func assignments() -> [SplitAssignment] {
        zip(log.interactions, parts).map { SplitAssignment(eventID: $0.eventID, part: $1) }
    }

    /// How many interactions each part holds.
    public func count(of part: SplitPart) -> Int {
        parts.reduce(0) { $0 + ($1 == part ? 1 : 0) }
    }

    /// The training interactions, in log order.
    public var train: [InteractionLog.Interaction] {
        zip(log.interactions, parts).compactMap { $1 == .train ? $0 : nil }
    }

    /// What models fit on: the training part only.
    public var trainingHistories: ShopperHistories {
        let parts = self.parts
        return ShopperHistories(log: log, keep: { parts[$0] == .train })
    }

    /// The history a shopper has when `part` is evaluated: train for validation,
    /// train + validation for test (the validation events happened before the test ones).
    public func histories(evaluating part: SplitPart) -> ShopperHistories {
        precondition(part != .train, "only validation and test are evaluated")
        let parts = self.parts
        if part == .validation { return ShopperHistories(log: log, keep: { parts[$0] == .train }) }
        return ShopperHistories(log: log, keep: { parts[$0] != .test })
    }
}
