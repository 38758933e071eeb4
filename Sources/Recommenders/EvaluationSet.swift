import CuratorCore

/// What to do with a target the shopper already had in their history.
public enum RepeatTargetPolicy: String, Sendable, Codable, Hashable {
    /// Keep it as a target; since seen products are not ranked it always counts as a
    /// miss. This is the standard protocol for amazon-beauty and leave-one-out papers.
    case keep
    /// Drop it from the target set, so metrics measure discovery of new products
    /// only; shoppers whose targets were all repeats are then not evaluated.
    case drop
}

/// The shoppers to evaluate on one part of a split: their histories and target products.
///
/// A shopper is evaluated when they have at least one target and a non-empty history.
/// The targets are the distinct products of the shopper's interactions in the part
/// (one for leave-one-out, possibly many for a time split). Shoppers with targets
/// but no history (new after a time cut) are skipped and counted, because a
/// history-based model has nothing to go on and the comparison would be about
/// cold-start handling instead.
public struct EvaluationSet: Sendable {
    public let part: SplitPart
    public let repeatTargets: RepeatTargetPolicy
    /// Histories as of the part (train, or train + validation for test).
    public let histories: ShopperHistories
    /// Evaluated shoppers, ascending.
    public let shoppers: [Int32]
    /// `targetOffsets[i]..<targetOffsets[i + 1]` holds `shoppers[i]`'s targets in `targets`.
    public let targetOffsets: [Int]
    /// Target product indices, sorted ascending and distinct within each shopper.
    public let targets: [Int32]
    /// Targets that were already in the shopper's history (kept under `.keep`, removed under `.drop`).
    public let repeatTargetCount: Int
    /// Shoppers that had targets but no history.
    public let skippedShopperCount: Int

    public init(split: DataSplit, part: SplitPart, repeatTargets: RepeatTargetPolicy = .keep) {
        precondition(part != .train, "only validation and test are evaluated")
        self.part = part
        self.repeatTargets = repeatTargets
        let histories = split.histories(evaluating: part)
        self.histories = histories
        let log = split.log
        let ranges = log.historyRanges()
        // A marker per product, stamped with the shopper's number + 1, tells "in
        // history" and "already a target" apart without a set per shopper.
        var inHistory = [Int32](repeating: -1, count: log.productCount)
        var isTarget = [Int32](repeating: -1, count: log.productCount)
        var shoppers: [Int32] = []
        var offsets: [Int] = [0]
        var targets: [Int32] = []
        var repeats = 0
        var skipped = 0
        for s in 0..<log.shopperCount {
            let stamp = Int32(s)
            let start = targets.count
            for i in ranges[s] where split.parts[i] == part {
                let p = Int(log.interactions[i].product)
                if isTarget[p] == stamp { continue }
                isTarget[p] = stamp
                targets.append(Int32(p))
            }
            if targets.count == start { continue }
            let history = histories.range(of: s)
            if history.isEmpty {
                skipped += 1
                targets.removeSubrange(start...)
                continue
            }
            for i in history { inHistory[Int(histories.products[i])] = stamp }
            var kept = start
            for t in start..<targets.count {
                let seen = inHistory[Int(targets[t])] == stamp
                if seen { repeats += 1 }
                if seen && repeatTargets == .drop { continue }
                targets[kept] = targets[t]
                kept += 1
            }
            targets.removeSubrange(kept...)
            if targets.count == start { continue }
            targets[start...].sort()
            shoppers.append(stamp)
            offsets.append(targets.count)
        }
        self.shoppers = shoppers
        self.targetOffsets = offsets
        self.targets = targets
        self.repeatTargetCount = repeats
        self.skippedShopperCount = skipped
    }

    public var shopperCount: Int { shoppers.count }
    public var targetCount: Int { targets.count }

    /// The targets of the `i`-th evaluated shopper.
    public func targets(at i: Int) -> ArraySlice<Int32> { targets[targetOffsets[i]..<targetOffsets[i + 1]] }
}
