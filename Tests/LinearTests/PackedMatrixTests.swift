import Foundation
import Linear
import XCTest

/// The packed-weight product against a naive loop: every row-block tail (1–6 rows), a column
/// count that is not a multiple of 16, bias on and off, and split column ranges.
final class PackedMatrixTests: XCTestCase {
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    func testMatchesNaiveProduct() {
        for (n, k) in [(40, 9), (384, 64)] {
            let w = values(n * k, seed: UInt64(n)), bias = values(n, seed: 99)
            let packed = w.withUnsafeBufferPointer { PackedMatrix(weights: $0.baseAddress!, rows: n, columns: k) }
            for m in [1, 2, 3, 4, 5, 6, 7, 13] {
                let lda = k + 3, ldc = n + 2
                let a = values(m * lda, seed: UInt64(m))
                for useBias in [false, true] {
                    var c = [Float](repeating: -7, count: m * ldc)
                    a.withUnsafeBufferPointer { ap in
                        bias.withUnsafeBufferPointer { bp in
                            c.withUnsafeMutableBufferPointer { cp in
                                for cols in packed.columnSplit(parts: 3) {
                                    packed.multiply(m: m, a: ap.baseAddress!, lda: lda, bias: useBias ? bp.baseAddress! : nil, c: cp.baseAddress!, ldc: ldc, outputColumns: cols)
                                }
                            }
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            var e: Double = useBias ? Double(bias[j]) : 0
                            for p in 0..<k { e += Double(a[i * lda + p]) * Double(w[j * k + p]) }
                            XCTAssertEqual(Double(c[i * ldc + j]), e, accuracy: 1e-4, "n \(n) m \(m) at \(i),\(j)")
                        }
                        for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], -7, "column beyond n written") }
                    }
                }
            }
        }
    }

    func testColumnSplitCoversAllColumnsOnPanelBoundaries() {
        let w = [Float](repeating: 1, count: 1152 * 2)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(weights: $0.baseAddress!, rows: 1152, columns: 2) }
        let split = packed.columnSplit(parts: 2)
        XCTAssertEqual(split.first?.lowerBound, 0)
        XCTAssertEqual(split.last?.upperBound, 1152)
        for (a, b) in zip(split, split.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        for r in split { XCTAssertEqual(r.lowerBound % 16, 0) }
        XCTAssertEqual(packed.columnSplit(parts: 500).count, 72, "never more parts than 16-column panels")
    }
}
