import Foundation
import Linear
import XCTest

/// Every autodiff op against central finite differences, on tiny random inputs.
final class AutodiffTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so the tests need only Linear.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var g = Generator(state: seed)
        return (0..<count).map { _ in (Float(g.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }

    /// Checks d(Σ seed · f(inputs))/d input against central differences for every input value.
    func checkGradients(_ shapes: [(Int, Int)], scale: Float = 1, eps: Float = 1e-2, tolerance: Float = 2e-2,
                        file: StaticString = #filePath, line: UInt = #line,
                        _ f: (Tape, [Tensor]) -> Tensor) {
        let initial = shapes.enumerated().map { i, s in random(s.0 * s.1, seed: UInt64(100 + i), scale: scale) }
        func evaluate(_ values: [[Float]], recording: Bool) -> (Tensor, [Tensor], Tape) {
            let tape = Tape(recording: recording, training: true)
            let inputs = zip(shapes, values).map { Tensor(rows: $0.0, cols: $0.1, values: $1, requiresGrad: true) }
            return (f(tape, inputs), inputs, tape)
        }
        let (out, inputs, tape) = evaluate(initial, recording: true)
        let seed = random(out.count, seed: 7)
        tape.backward(out, seed: seed)
        func objective(_ values: [[Float]]) -> Double {
            let (o, _, _) = evaluate(values, recording: false)
            var s: Double = 0
            for i in 0..<o.count { s += Double(o.value[i]) * Double(seed[i]) }
            return s
        }
        for (k, input) in inputs.enumerated() {
            let analytic = input.gradients
            for i in 0..<input.count {
                var plus = initial, minus = initial
                plus[k][i] += eps
                minus[k][i] -= eps
                let numeric = Float((objective(plus) - objective(minus)) / Double(2 * eps))
                let error = abs(numeric - analytic[i])
                XCTAssertLessThanOrEqual(error, tolerance * max(1, abs(numeric)),
                                         "input \(k) value \(i): analytic \(analytic[i]) numeric \(numeric)", file: file, line: line)
            }
        }
    }

    func testMatmul() {
        checkGradients([(3, 4), (4, 5)]) { t, x in t.matmul(x[0], x[1]) }
        checkGradients([(3, 4), (5, 4)]) { t, x in t.matmul(x[0], x[1], transposeB: true) }
    }

    func testLinearAddScale() {
        checkGradients([(3, 4), (4, 2), (1, 2)]) { t, x in t.linear(x[0], x[1], x[2]) }
        checkGradients([(3, 4), (3, 4)]) { t, x in t.scale(t.add(x[0], x[1]), 1.5) }
        // A tensor used twice gets both contributions.
        checkGradients([(2, 3)]) { t, x in t.add(x[0], t.scale(x[0], -3)) }
    }

    func testGatherAccumulatesRepeatedRows() {
        checkGradients([(5, 3)]) { t, x in t.gather(x[0], [4, 0, 4, 2, 4]) }
    }

    func testLayerNorm() {
        checkGradients([(3, 6), (1, 6), (1, 6)], eps: 5e-3) { t, x in t.layerNorm(x[0], gamma: x[1], beta: x[2]) }
    }

    func testActivations() {
        checkGradients([(4, 5)], scale: 2) { t, x in t.gelu(x[0]) }
    }

    func testDropoutUsesTheSameMaskForTheSameSeed() {
        checkGradients([(4, 6)]) { t, x in
            var g = Generator(state: 3)
            return t.dropout(x[0], p: 0.4, using: &g)
        }
        let x = Tensor(rows: 1, cols: 1000, values: [Float](repeating: 1, count: 1000))
        var g = Generator(state: 1)
        let y = Tape(training: true).dropout(x, p: 0.25, using: &g)
        let kept = y.values.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 1000, 0.75, accuracy: 0.05)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(Tape(training: false).dropout(x, p: 0.5, using: &g).values, x.values)
    }

    func testCausalSelfAttention() {
        // Two sequences (3 and 2 tokens), 2 heads of width 2: qkv is [5 × 12].
        checkGradients([(5, 12)], eps: 5e-3) { t, x in t.causalSelfAttention(x[0], offsets: [0, 3, 5], heads: 2) }
    }

    func testAttentionIsCausalAndStaysWithinSequences() {
        let values = random(5 * 6, seed: 9)
        let a = Tape(recording: false).causalSelfAttention(Tensor(rows: 5, cols: 6, values: values), offsets: [0, 3, 5], heads: 1)
        var changed = values
        for c in 0..<6 { changed[2 * 6 + c] += 1 } // token 2 is the last of sequence 0
        let b = Tape(recording: false).causalSelfAttention(Tensor(rows: 5, cols: 6, values: changed), offsets: [0, 3, 5], heads: 1)
        XCTAssertEqual(Array(a.values[0..<4]), Array(b.values[0..<4]), "earlier tokens must not see a later one")
        XCTAssertNotEqual(Array(a.values[4..<6]), Array(b.values[4..<6]))
        XCTAssertEqual(Array(a.values[6..<10]), Array(b.values[6..<10]), "the other sequence is untouched")
    }

    func testCausalDecayedMean() {
        checkGradients([(5, 3)]) { t, x in t.causalDecayedMean(x[0], offsets: [0, 2, 5], decay: 0.6) }
        let y = Tape(recording: false).causalDecayedMean(Tensor(rows: 3, cols: 1, values: [1, 2, 4]), offsets: [0, 3], decay: 1)
        XCTAssertEqual(y.values, [1, 1.5, 7.0 / 3], accuracy: 1e-6)
    }

    func testSoftmaxCrossEntropy() {
        // The op overwrites its logits, so the check feeds it a copy.
        checkGradients([(3, 5)], eps: 5e-3) { t, x in t.softmaxCrossEntropy(t.scale(x[0], 1), targets: [0, 4, 2]) }
        checkGradients([(3, 5)], eps: 5e-3) { t, x in
            t.softmaxCrossEntropy(t.scale(x[0], 1), targets: [1, 1, 3], columnOffsets: [0.5, -1, 0, 2, 0.1])
        }
        let loss = Tape(recording: false).softmaxCrossEntropy(Tensor(rows: 1, cols: 4, values: [0, 0, 0, 0]), targets: [2])
        XCTAssertEqual(loss.scalar, logf(4), accuracy: 1e-5)
    }

    func testCandidateScores() {
        checkGradients([(2, 3), (4, 3)]) { t, x in t.candidateScores(x[0], x[1], candidates: [0, 3, 3, 1, 2, 0], perRow: 3) }
    }

    func testSigmoidBCEAndBPR() {
        checkGradients([(3, 4)], scale: 3) { t, x in t.sigmoidBinaryCrossEntropy(x[0], labels: [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]) }
        checkGradients([(3, 4)], scale: 3) { t, x in t.bprLoss(x[0]) }
        let bce = Tape(recording: false).sigmoidBinaryCrossEntropy(Tensor(rows: 1, cols: 2, values: [0, 0]), labels: [1, 0])
        XCTAssertEqual(bce.scalar, 2 * logf(2), accuracy: 1e-5)
    }

    func testAdamWMinimisesAQuadraticAndClipping() {
        let w = Tensor(rows: 1, cols: 3, values: [3, -2, 1], requiresGrad: true)
        let target: [Float] = [1, 2, -1]
        let optimizer = AdamW(parameters: [.init(w, weightDecay: 0)], learningRate: 0.05)
        for _ in 0..<500 {
            for i in 0..<3 { w.grad[i] = 2 * (w.value[i] - target[i]) }
            optimizer.step()
            optimizer.zeroGrad()
        }
        XCTAssertEqual(w.values, target, accuracy: 1e-2)
        let g = Tensor(rows: 1, cols: 2, requiresGrad: true)
        g.grad[0] = 3
        g.grad[1] = 4
        XCTAssertEqual(clipGradientNorm([g], maxNorm: 1), 5, accuracy: 1e-5)
        XCTAssertEqual(g.gradients, [0.6, 0.8], accuracy: 1e-6)
    }
}

// swift-format-ignore: AlwaysUseLowerCamelCase
func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
