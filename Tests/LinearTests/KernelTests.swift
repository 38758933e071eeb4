import Foundation
import Linear
import XCTest

/// The C kernels against straightforward Double-precision references, in both the AVX2 and the
/// portable versions.
final class KernelTests: XCTestCase {
    override func tearDown() {
        Kernels.setUsesAVX2(true)
    }

    func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1) * scale
        }
    }

    func forBothVersions(_ body: (String) throws -> Void) rethrows {
        for avx2 in [true, false] {
            Kernels.setUsesAVX2(avx2)
            try body(avx2 && Kernels.usesAVX2 ? "avx2" : "portable")
        }
    }

    func testErfAndExpApproximations() {
        let xs = stride(from: Float(-6), through: 6, by: 0.001).map { $0 }
        var y = [Float](repeating: 0, count: xs.count)
        forBothVersions { version in
            Kernels.erf(xs, &y, count: xs.count)
            var worst: Double = 0
            for (x, v) in zip(xs, y) { worst = max(worst, abs(Double(v) - Foundation.erf(Double(x)))) }
            XCTAssertLessThan(worst, 5e-7, "erf \(version)")
            let ex = stride(from: Float(-80), through: 80, by: 0.01).map { $0 }
            var ey = [Float](repeating: 0, count: ex.count)
            Kernels.exp(ex, &ey, count: ex.count)
            var worstRel: Double = 0
            for (x, v) in zip(ex, ey) {
                let e = Foundation.exp(Double(x))
                worstRel = max(worstRel, abs(Double(v) - e) / e)
            }
            XCTAssertLessThan(worstRel, 1e-6, "exp \(version)")
        }
    }

    func testLayerNormWithResidualAndBias() {
        let rows = 3, n = 20  // n not a multiple of 8, to cover the tail loop
        let x0 = values(rows * n, seed: 1, scale: 3), res = values(rows * n, seed: 2), bias = values(n, seed: 3)
        let gamma = values(n, seed: 4), beta = values(n, seed: 5)
        forBothVersions { version in
            var x = x0
            Kernels.layerNorm(&x, rows: rows, n: n, residual: res, bias: bias, gamma: gamma, beta: beta, eps: 1e-12)
            for r in 0..<rows {
                let v = (0..<n).map { Double(x0[r * n + $0]) + Double(res[r * n + $0]) + Double(bias[$0]) }
                let mean = v.reduce(0, +) / Double(n)
                let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
                for j in 0..<n {
                    let e = (v[j] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[j]) + Double(beta[j])
                    XCTAssertEqual(Double(x[r * n + j]), e, accuracy: 1e-5, "\(version) \(r),\(j)")
                }
            }
        }
    }

    func testBiasGELU() {
        let rows = 2, n = 19
        let x0 = values(rows * n, seed: 6, scale: 5), bias = values(n, seed: 7)
        forBothVersions { version in
            var x = x0
            Kernels.biasGELU(&x, rows: rows, n: n, bias: bias)
            for i in 0..<(rows * n) {
                let v = Double(x0[i]) + Double(bias[i % n])
                XCTAssertEqual(Double(x[i]), 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())), accuracy: 2e-6, version)
            }
        }
    }

    func testSoftmaxRows() {
        let rows = 3, n = 11, stride = 13
        let x0 = values(rows * stride, seed: 8, scale: 10)
        forBothVersions { version in
            var x = x0
            Kernels.softmaxRows(&x, rows: rows, n: n, stride: stride)
            for r in 0..<rows {
                let m = (0..<n).map { Double(x0[r * stride + $0]) }.max()!
                let e = (0..<n).map { Foundation.exp(Double(x0[r * stride + $0]) - m) }
                let s = e.reduce(0, +)
                for j in 0..<n { XCTAssertEqual(Double(x[r * stride + j]), e[j] / s, accuracy: 1e-6, version) }
                for j in n..<stride { XCTAssertEqual(x[r * stride + j], x0[r * stride + j], "outside the row") }
            }
        }
    }

    func testAttentionMatchesNaive() {
        for (len, heads, dh) in [(1, 2, 8), (5, 3, 32), (19, 2, 32), (9, 2, 12)] {
            let hidden = heads * dh, ld = 3 * hidden + 4
            let qkv = values(len * ld, seed: UInt64(len * 31 + dh), scale: 2)
            let scale = 1 / Float(dh).squareRoot()
            var expected = [Double](repeating: 0, count: len * hidden)
            for h in 0..<heads {
                for i in 0..<len {
                    var s = (0..<len).map { j in
                        (0..<dh).reduce(0.0) { $0 + Double(qkv[i * ld + h * dh + $1]) * Double(qkv[j * ld + hidden + h * dh + $1]) } * Double(scale)
                    }
                    let m = s.max()!
                    s = s.map { Foundation.exp($0 - m) }
                    let total = s.reduce(0, +)
                    for d in 0..<dh {
                        expected[i * hidden + h * dh + d] = (0..<len).reduce(0.0) { $0 + s[$1] / total * Double(qkv[$1 * ld + 2 * hidden + h * dh + d]) }
                    }
                }
            }
            forBothVersions { version in
                var out = [Float](repeating: .nan, count: len * hidden)
                var scratch = [Float](repeating: 0, count: Kernels.attentionScratchSize(length: len, headSize: dh))
                Kernels.attention(qkv: qkv, qkvStride: ld, length: len, heads: heads, headSize: dh, scale: scale, output: &out, outputStride: hidden, scratch: &scratch)
                for i in 0..<(len * hidden) {
                    XCTAssertEqual(Double(out[i]), expected[i], accuracy: 1e-5, "\(version) len \(len) dh \(dh) at \(i)")
                }
            }
        }
    }
}
