import Foundation

/// The few statistics the online reports need, in closed form.
public enum OnlineStatistics {
    /// z for a two-sided 95% interval.
    public static let z95 = 1.959963984540054

    /// Standard normal cumulative distribution.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Two-sided p-value of a z statistic.
    public static func twoSidedP(z: Double) -> Double {
        guard z.isFinite else { return z.isNaN ? 1 : 0 }
        return min(1, 2 * (1 - normalCDF(abs(z))))
    }

    /// Wilson's 95% interval for a proportion: sensible at 0 successes and at small counts, where
    /// the normal approximation gives negative rates.
    public static func wilson(successes: Int, trials: Int) -> Interval {
        guard trials > 0 else { return Interval(low: 0, high: 0) }
        let n = Double(trials), p = Double(successes) / n, z = z95, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * ((p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()) / (1 + z2 / n)
        // Exact at the ends: no successes cannot have a rate above 0 as its lower bound (rounding gives 1e-17).
        return Interval(low: successes == 0 ? 0 : max(0, centre - half), high: successes == trials ? 1 : min(1, centre + half))
    }

    /// A ratio of sums over independent units (clicks / impressions over shoppers) with its
    /// variance by the delta method: the unit of randomisation is the shopper, so impressions of
    /// one shopper are not counted as independent trials.
    public struct Ratio: Sendable, Equatable {
        public var value: Double
        /// Variance of `value`.
        public var variance: Double
        public var units: Int

        public init(numerators: [Double], denominators: [Double]) {
            let n = numerators.count
            units = n
            let sumX = numerators.reduce(0, +), sumY = denominators.reduce(0, +)
            guard n > 1, sumY > 0 else {
                // One unit says nothing about the spread between units: an interval as wide as the value itself either side.
                value = sumY > 0 ? sumX / sumY : 0
                variance = n == 1 ? value * value / (z95 * z95) : 0
                return
            }
            let meanX = sumX / Double(n), meanY = sumY / Double(n)
            let r = meanX / meanY
            var varX = 0.0, varY = 0.0, cov = 0.0
            for i in 0..<n {
                let dx = numerators[i] - meanX, dy = denominators[i] - meanY
                varX += dx * dx
                varY += dy * dy
                cov += dx * dy
            }
            let d = Double(n - 1)
            varX /= d
            varY /= d
            cov /= d
            value = r
            variance = max(0, (varX - 2 * r * cov + r * r * varY) / (Double(n) * meanY * meanY))
        }

        public var interval: Interval {
            let half = z95 * variance.squareRoot()
            return Interval(low: value - half, high: value + half)
        }
    }

    /// The difference of a treatment's ratio over a control's, with its 95% interval, p-value,
    /// relative lift, and the shoppers per arm a test of this effect needs at power 0.8.
    public static func compare(control: Ratio, treatment: Ratio) -> Comparison {
        let difference = treatment.value - control.value
        let variance = control.variance + treatment.variance
        let se = variance.squareRoot()
        let z = se > 0 ? difference / se : (difference == 0 ? 0 : .infinity)
        // Per-shopper variances, from each arm's variance of the mean.
        let perShopper = control.variance * Double(control.units) + treatment.variance * Double(treatment.units)
        let zPower = 0.8416212335729143  // Φ⁻¹(0.8)
        // None when the arms barely differ: a difference of rounding error would need more shoppers than exist.
        let shoppers = ((z95 + zPower) * (z95 + zPower) * perShopper / (difference * difference)).rounded(.up)
        let needed = shoppers.isFinite && shoppers < 1e12 ? Int(shoppers) : nil
        return Comparison(difference: difference, interval: Interval(low: difference - z95 * se, high: difference + z95 * se),
                          relativeLift: control.value > 0 ? difference / control.value : nil, pValue: twoSidedP(z: z), shoppersPerArmNeeded: needed)
    }

    /// Exact two-sided sign test: wins against losses, ties left out.
    public static func signTest(wins: Int, losses: Int) -> Double {
        let n = wins + losses
        guard n > 0 else { return 1 }
        let k = min(wins, losses)
        // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space.
        var logTerms: [Double] = []
        for i in 0...k { logTerms.append(logChoose(n, i) - Double(n) * log(2)) }
        let top = logTerms.max() ?? 0
        let tail = exp(top) * logTerms.reduce(0) { $0 + exp($1 - top) }
        return min(1, 2 * tail)
    }

    static func logChoose(_ n: Int, _ k: Int) -> Double { lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) }

    public struct Interval: Sendable, Equatable, Codable {
        public var low: Double
        public var high: Double

        public init(low: Double, high: Double) {
            self.low = low
            self.high = high
        }
    }

    public struct Comparison: Sendable, Equatable {
        public var difference: Double
        public var interval: Interval
        /// Difference over the control's value (nil when the control's is 0).
        public var relativeLift: Double?
        public var pValue: Double
        /// Nil when there is no difference to detect.
        public var shoppersPerArmNeeded: Int?
    }
}
