import CuratorCore

/// Per shopper, in time order: the last interaction is the test target, the one
/// before it the validation target, and everything earlier is training.
///
/// This is the protocol amazon-beauty results are published on (SASRec, TIGER…).
/// Order is the log's (timestamp, eventID) order, so equal timestamps are broken by
/// event id and the split is the same on every run. Shoppers with fewer than three
/// interactions go entirely to training: holding out their only events would leave
/// no history to predict from, and their events still help the models learn.
public struct LeaveOneOutSplit: Sendable {
    public init() {}

    public func split(_ log: InteractionLog) -> DataSplit {
        var parts = [SplitPart](repeating: .train, count: log.interactions.count)
        for range in log.historyRanges() where range.count >= 3 {
            parts[range.upperBound - 1] = .test
            parts[range.upperBound - 2] = .validation
        }
        return DataSplit(log: log, parts: parts)
    }
}
