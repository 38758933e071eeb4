/// The one percentile rule of every figure Curator prints (history lengths, latencies, lags):
/// nearest rank on sorted values, at index round(p × (n − 1)), so p50 of 1, 2, 3 is 2 and p100
/// is the maximum.
public enum Percentile {
    /// The value at share `p` (0...1) of values sorted ascending; nil when there are none.
    public static func of<C: RandomAccessCollection>(sorted values: C, _ p: Double) -> C.Element? where C.Index == Int {
        guard !values.isEmpty else { return nil }
        let rank = min(values.count - 1, max(0, Int((p * Double(values.count - 1)).rounded())))
        return values[values.startIndex + rank]
    }

    /// The value at share `p` of `values` in any order; 0 when there are none.
    public static func of(_ values: [Double], _ p: Double) -> Double {
        of(sorted: values.sorted(), p) ?? 0
    }
}
