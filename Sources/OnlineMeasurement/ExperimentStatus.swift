import CuratorCore
import Foundation

/// How an experiment stands: per variant what its shoppers did, and for each variant after the
/// first its lift over the first. The shopper is the unit of randomisation, so intervals and
/// p-values come from per-shopper sums (delta method), not from impressions as if independent.
public struct ExperimentStatus: Sendable, Codable, Equatable {
    public struct VariantFigures: Sendable, Codable, Equatable {
        public var name: String
        public var model: String
        public var weight: Double
        public var shoppers: Int
        public var lists: Int
        public var impressions: Int
        public var clicks: Int
        public var ctr: Rate
        public var purchases: Int
        public var conversion: Rate
        public var revenue: Double
        /// Against the first variant; nil on the first.
        public var lift: Lift?
    }

    public struct Lift: Sendable, Codable, Equatable {
        public struct Figure: Sendable, Codable, Equatable {
            /// Treatment minus control, with its 95% interval.
            public var difference: Double
            public var low: Double
            public var high: Double
            /// Difference over the control's value.
            public var relative: Double?
            public var pValue: Double
            /// Shoppers each arm needs for a test of this effect at power 0.8 and α = 0.05.
            public var shoppersPerArmNeeded: Int?

            init(_ comparison: OnlineStatistics.Comparison) {
                difference = comparison.difference
                low = comparison.interval.low
                high = comparison.interval.high
                relative = comparison.relativeLift
                pValue = comparison.pValue
                shoppersPerArmNeeded = comparison.shoppersPerArmNeeded
            }

            enum CodingKeys: String, CodingKey {
                case difference, low, high, relative, pValue = "p_value", shoppersPerArmNeeded = "shoppers_per_arm_needed"
            }
        }

        public var ctr: Figure
        public var conversion: Figure
    }

    /// Team-draft interleaving: lists whose clicks favoured the first variant (wins), the second
    /// (losses), or neither (ties, lists without clicks included), and a sign test over wins and losses.
    public struct Interleaving: Sendable, Codable, Equatable {
        public var wins: Int
        public var losses: Int
        public var ties: Int
        public var pValue: Double
        /// Clicks credited to each variant.
        public var clicksFirst: Int
        public var clicksSecond: Int

        enum CodingKeys: String, CodingKey {
            case wins, losses, ties, pValue = "p_value", clicksFirst = "clicks_first", clicksSecond = "clicks_second"
        }
    }

    public var experiment: Experiment
    public var variants: [VariantFigures]
    public var interleaving: Interleaving?

    public init(experiment: Experiment, slice: OnlineLogSlice) {
        self.experiment = experiment
        let outcomes = ListOutcome.outcomes(of: slice).filter { $0.list.experiment == experiment.name }
        if experiment.method == .interleave {
            var wins = 0, losses = 0, ties = 0, first = 0, second = 0
            for outcome in outcomes {
                guard let teams = outcome.list.teams else { continue }
                let credit = TeamDraft.credit(teams: teams, clickedPositions: outcome.clicked)
                first += credit.first
                second += credit.second
                if credit.first > credit.second { wins += 1 } else if credit.second > credit.first { losses += 1 } else { ties += 1 }
            }
            interleaving = Interleaving(wins: wins, losses: losses, ties: ties, pValue: OnlineStatistics.signTest(wins: wins, losses: losses),
                                        clicksFirst: first, clicksSecond: second)
        } else {
            interleaving = nil
        }
        // Per variant, per shopper: impressions, clicks, purchases, revenue. In an interleaving every
        // list shows both variants: each gets the cards it contributed, and what happened to them.
        var perShopper: [String: [String: (impressions: Double, clicks: Double, purchases: Double)]] = [:]
        var lists: [String: Int] = [:], revenue: [String: Double] = [:]
        for outcome in outcomes {
            let unit = outcome.list.shopperKey ?? outcome.list.id
            var shares: [(variant: String, positions: Set<Int>)] = []
            if experiment.method == .interleave, let teams = outcome.list.teams {
                for (t, variant) in experiment.variants.enumerated() {
                    shares.append((variant.name, Set(teams.indices.filter { Int(teams[$0]) == t }.map { $0 + 1 })))
                }
            } else {
                shares.append((outcome.list.variant ?? "", Set(1...max(1, outcome.impressions)).filter { $0 <= outcome.impressions }))
            }
            for (variant, positions) in shares {
                lists[variant, default: 0] += 1
                revenue[variant, default: 0] += positions.reduce(0) { $0 + (outcome.revenue[$1] ?? 0) }
                var figures = perShopper[variant, default: [:]][unit] ?? (0, 0, 0)
                figures.impressions += Double(positions.count)
                figures.clicks += Double(outcome.clicked.intersection(positions).count)
                figures.purchases += Double(outcome.purchased.intersection(positions).count)
                perShopper[variant, default: [:]][unit] = figures
            }
        }
        var controlRatios: (ctr: OnlineStatistics.Ratio, conversion: OnlineStatistics.Ratio)?
        variants = experiment.variants.enumerated().map { i, variant in
            let units = Array((perShopper[variant.name] ?? [:]).values)
            let ctr = OnlineStatistics.Ratio(numerators: units.map(\.clicks), denominators: units.map(\.impressions))
            let conversion = OnlineStatistics.Ratio(numerators: units.map(\.purchases), denominators: units.map(\.impressions))
            let impressions = Int(units.reduce(0) { $0 + $1.impressions })
            let clicks = Int(units.reduce(0) { $0 + $1.clicks }), purchases = Int(units.reduce(0) { $0 + $1.purchases })
            var lift: Lift?
            if i == 0 {
                controlRatios = (ctr, conversion)
            } else if let control = controlRatios, experiment.method == .ab {
                lift = Lift(ctr: .init(OnlineStatistics.compare(control: control.ctr, treatment: ctr)),
                            conversion: .init(OnlineStatistics.compare(control: control.conversion, treatment: conversion)))
            }
            return VariantFigures(name: variant.name, model: variant.model, weight: variant.weight, shoppers: units.count, lists: lists[variant.name] ?? 0,
                                  impressions: impressions, clicks: clicks, ctr: Rate(value: ctr.value, interval: ctr.interval), purchases: purchases,
                                  conversion: Rate(value: conversion.value, interval: conversion.interval), revenue: revenue[variant.name] ?? 0, lift: lift)
        }
    }
}
