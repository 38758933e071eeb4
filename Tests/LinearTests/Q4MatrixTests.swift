import Foundation
import Linear
import XCTest

/// The Q4_0 × Q8_0 product in every kernel the CPU has, against a Double-precision reference
/// that quantises A the way the reference engine does.
final class Q4MatrixTests: XCTestCase {
    override func tearDown() { Q4Matrix.setKernel(2) }

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        mutating func float(_ scale: Float) -> Float { (Float(next() % 2_000_001) / 1_000_000 - 1) * scale }
    }

    /// Raw Q4_0 blocks for `rows` × `columns`: random nibbles, fp16 scales of varying size.
    func q4Blocks(rows: Int, columns: Int, random: inout Random) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<(rows * columns / 32) {
            let scale = Float16(random.float(0.05) + 0.06 * (random.next() % 2 == 0 ? 1 : -1))
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            for _ in 0..<16 { bytes.append(UInt8(random.next() % 256)) }
        }
        return bytes
    }

    func dequantized(_ blocks: [UInt8], rows: Int, columns: Int) -> [Float] {
        var w = [Float](repeating: 0, count: rows * columns)
        blocks.withUnsafeBytes { raw in
            w.withUnsafeMutableBufferPointer { out in
                for r in 0..<rows {
                    Q4Matrix.dequantizeRow(raw.baseAddress! + r * Q4Matrix.rowBytes(columns: columns), columns: columns, into: out.baseAddress! + r * columns)
                }
            }
        }
        return w
    }

    /// Σ_blocks Σ_j w_j · (q_j · d_a) with A quantised per 32 values (round half to even).
    func reference(a: [Float], m: Int, k: Int, w: [Float], n: Int, bias: [Float]?) -> [Double] {
        var quantized = [Double](repeating: 0, count: m * k)
        for t in 0..<m {
            for b in 0..<(k / 32) {
                let x = a[(t * k + b * 32)..<(t * k + b * 32 + 32)]
                let amax = x.map { abs($0) }.max()!
                let d = amax / 127
                let inverse: Float = d > 0 ? 1 / d : 0
                for (j, v) in x.enumerated() {
                    let q = max(-128, min(127, (v * inverse).rounded(.toNearestOrEven)))
                    quantized[t * k + b * 32 + j] = Double(q) * Double(d)
                }
            }
        }
        var c = [Double](repeating: 0, count: m * n)
        for t in 0..<m {
            for o in 0..<n {
                var sum = bias.map { Double($0[o]) } ?? 0
                for j in 0..<k { sum += quantized[t * k + j] * Double(w[o * k + j]) }
                c[t * n + o] = sum
            }
        }
        return c
    }

    func testEveryKernelMatchesTheReference() {
        var random = Random(state: 7)
        for (m, n, k) in [(1, 48, 64), (5, 384, 384), (13, 1536, 384), (7, 384, 1536), (4, 40, 32)] {
            let blocks = q4Blocks(rows: n, columns: k, random: &random)
            let w = dequantized(blocks, rows: n, columns: k)
            let a = (0..<(m * k)).map { i in i % 97 == 0 ? 0 : random.float(3) }
            let bias = (0..<n).map { _ in random.float(1) }
            let expected = reference(a: a, m: m, k: k, w: w, n: n, bias: bias)
            let matrix = blocks.withUnsafeBytes { Q4Matrix(blocks: $0.baseAddress!, rows: n, columns: k) }
            var kernels: [Int] = []
            for kernel in [2, 1, 0] {
                Q4Matrix.setKernel(kernel)
                let name = Q4Matrix.kernelName
                if kernels.contains(kernel) || (kernel > 0 && name == "portable") { continue }
                kernels.append(kernel)
                var c = [Float](repeating: .nan, count: m * n)
                // Two column halves, as two threads would compute them.
                for range in matrix.columnSplit(parts: 2) {
                    c.withUnsafeMutableBufferPointer { out in
                        matrix.multiply(m: m, a: a, lda: k, bias: bias, c: out.baseAddress!, ldc: n, outputColumns: range)
                    }
                }
                var worst = 0.0
                for i in 0..<(m * n) { worst = max(worst, abs(Double(c[i]) - expected[i]) / (1 + abs(expected[i]))) }
                XCTAssertLessThan(worst, 2e-5, "\(name) kernel, m \(m) n \(n) k \(k): worst relative error \(worst)")
            }
        }
    }

    func testStackedMatricesEqualSeparateOnes() {
        var random = Random(state: 11)
        let k = 64, m = 3
        let parts = [q4Blocks(rows: 16, columns: k, random: &random), q4Blocks(rows: 32, columns: k, random: &random)]
        let a = (0..<(m * k)).map { _ in random.float(1) }
        let stacked = parts[0].withUnsafeBytes { p0 in
            parts[1].withUnsafeBytes { p1 in Q4Matrix(stacking: [(p0.baseAddress!, 16), (p1.baseAddress!, 32)], columns: k) }
        }
        var together = [Float](repeating: 0, count: m * 48)
        together.withUnsafeMutableBufferPointer { stacked.multiply(m: m, a: a, lda: k, bias: nil, c: $0.baseAddress!, ldc: 48) }
        var offset = 0
        for (i, rows) in [16, 32].enumerated() {
            let single = parts[i].withUnsafeBytes { Q4Matrix(blocks: $0.baseAddress!, rows: rows, columns: k) }
            var alone = [Float](repeating: 0, count: m * rows)
            alone.withUnsafeMutableBufferPointer { single.multiply(m: m, a: a, lda: k, bias: nil, c: $0.baseAddress!, ldc: rows) }
            for t in 0..<m { for o in 0..<rows { XCTAssertEqual(together[t * 48 + offset + o], alone[t * rows + o]) } }
            offset += rows
        }
    }

    func testDequantizedRowFollowsTheBlockLayout() {
        // Scale 0.5 (fp16 0x3800); byte j = (high nibble j+16) << 4 | (low nibble j).
        var block: [UInt8] = [0x00, 0x38]
        for j in 0..<16 { block.append(UInt8((15 - j) << 4 | j)) }
        var out = [Float](repeating: 0, count: 32)
        block.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { Q4Matrix.dequantizeRow(raw.baseAddress!, columns: 32, into: $0.baseAddress!) } }
        for j in 0..<16 {
            XCTAssertEqual(out[j], Float(j - 8) * 0.5)
            XCTAssertEqual(out[j + 16], Float(15 - j - 8) * 0.5)
        }
    }
}
