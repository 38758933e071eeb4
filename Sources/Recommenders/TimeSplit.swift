import CuratorCore

/// Everything before a moment trains, everything from it on is test: the split that
/// matches deployment, where a model trained on the past serves the future.
///
/// - Interactions with `timestamp < before` are training (or validation, see below);
///   those with `timestamp >= before` are test.
/// - The test targets of a shopper are all the distinct products they interacted with
///   from the cut on, and recall is measured over that set. Only shoppers with some
///   history before the cut are evaluated (see `EvaluationSet`); newcomers are counted
///   as skipped. Products they had before the cut stay targets by default and can never
///   be hit, as the ranking leaves out seen products; pass `RepeatTargetPolicy.drop` to
///   `EvaluationSet` to measure new-product discovery only.
public struct TimeSplit: Sendable {
    /// Where validation comes from, so a model can be tuned without touching test.
    public enum Validation: Sendable, Hashable {
        case none
        /// Training interactions with `timestamp >= millis` become validation.
        case before(Int64)
        /// The last `fraction` (0...1) of the training time span, from the log's first event to the cut.
        case lastFraction(Double)
    }

    public var before: Int64
    public var validation: Validation

    public init(before: Int64, validation: Validation = .none) {
        self.before = before
        self.validation = validation
    }

    /// The validation cut in millis, or nil when there is no validation part.
    public func validationCut(for log: InteractionLog) -> Int64? {
        switch validation {
        case .none:
            return nil
        case .before(let millis):
            return min(millis, before)
        case .lastFraction(let fraction):
            precondition((0...1).contains(fraction), "validation fraction must be within 0...1")
            guard let first = log.interactions.lazy.map(\.timestampMillis).min(), first < before else { return nil }
            return before - Int64((Double(before - first) * fraction).rounded())
        }
    }

    public func split(_ log: InteractionLog) -> DataSplit {
        let validationCut = validationCut(for: log) ?? before
        let parts = log.interactions.map { interaction -> SplitPart in
            let t = interaction.timestampMillis
            if t >= before { return .test }
            return t >= validationCut ? .validation : .train
        }
        return DataSplit(log: log, parts: parts)
    }
}
