import Foundation

/// Dense ops: matrix products (through `BLAS.sgemm`), bias, sums, embedding lookup,
/// layer norm, activations and dropout. Each returns a new tensor and, on a recording
/// tape, records how to push the result's gradient back into its inputs (accumulating,
/// so a tensor used twice gets both contributions).
extension Tape {
    /// C = A · B, or A · Bᵀ with `transposeB` (B is then [n × k]).
    public func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
        let m = a.rows, k = a.cols
        let n = transposeB ? b.rows : b.cols
        precondition((transposeB ? b.cols : b.rows) == k, "matmul: \(a.rows)×\(a.cols) by \(b.rows)×\(b.cols)\(transposeB ? "ᵀ" : "")")
        let c = output(rows: m, cols: n, from: a, b)
        if m > 0 && n > 0 && k > 0 {
            BLAS.sgemm(transposeB: transposeB, m: m, n: n, k: k, a: a.value, lda: k, b: b.value, ldb: b.cols, c: c.value, ldc: n)
        }
        record(c) {
            guard m > 0 && n > 0 && k > 0 else { return }
            if a.requiresGrad {
                // dA[m×k] += dC[m×n] · op(B)ᵀ
                BLAS.sgemm(transposeB: !transposeB, m: m, n: k, k: n, a: c.grad, lda: n, b: b.value, ldb: b.cols,
                           beta: 1, c: a.grad, ldc: k)
            }
            if b.requiresGrad {
                if transposeB {
                    // dB[n×k] += dCᵀ · A
                    BLAS.sgemm(transposeA: true, m: n, n: k, k: m, a: c.grad, lda: n, b: a.value, ldb: k,
                               beta: 1, c: b.grad, ldc: k)
                } else {
                    // dB[k×n] += Aᵀ · dC
                    BLAS.sgemm(transposeA: true, m: k, n: n, k: m, a: a.value, lda: k, b: c.grad, ldb: n,
                               beta: 1, c: b.grad, ldc: n)
                }
            }
        }
        return c
    }

    /// x · W + b with W [in × out] and b [1 × out] (optional).
    public func linear(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
        let y = matmul(x, weight)
        guard let bias else { return y }
        return addRow(y, bias)
    }

    /// x[r] + row for every row r, with `row` a [1 × cols] tensor (a bias).
    public func addRow(_ x: Tensor, _ row: Tensor) -> Tensor {
        precondition(row.rows == 1 && row.cols == x.cols)
        let y = output(rows: x.rows, cols: x.cols, from: x, row)
        let (rows, cols) = (x.rows, x.cols)
        for r in 0..<rows {
            let src = x.value + r * cols, dst = y.value + r * cols
            for j in 0..<cols { dst[j] = src[j] + row.value[j] }
        }
        record(y) {
            let gy = y.grad
            if x.requiresGrad {
                let gx = x.grad
                for i in 0..<(rows * cols) { gx[i] += gy[i] }
            }
            if row.requiresGrad {
                let gb = row.grad
                for r in 0..<rows {
                    let g = gy + r * cols
                    for j in 0..<cols { gb[j] += g[j] }
                }
            }
        }
        return y
    }

    /// a + b, same shape.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rows == b.rows && a.cols == b.cols, "add: shapes differ")
        let y = output(rows: a.rows, cols: a.cols, from: a, b)
        let n = a.count
        for i in 0..<n { y.value[i] = a.value[i] + b.value[i] }
        record(y) {
            let gy = y.grad
            if a.requiresGrad { let g = a.grad; for i in 0..<n { g[i] += gy[i] } }
            if b.requiresGrad { let g = b.grad; for i in 0..<n { g[i] += gy[i] } }
        }
        return y
    }

    /// s · x.
    public func scale(_ x: Tensor, _ s: Float) -> Tensor {
        let y = output(rows: x.rows, cols: x.cols, from: x)
        let n = x.count
        for i in 0..<n { y.value[i] = x.value[i] * s }
        record(y) {
            let gy = y.grad, gx = x.grad
            for i in 0..<n { gx[i] += s * gy[i] }
        }
        return y
    }

    /// Rows `indices` of `table` (embedding lookup): [indices.count × table.cols].
    /// The backward pass adds into the looked-up rows of the table's gradient only.
    public func gather(_ table: Tensor, _ indices: [Int32]) -> Tensor {
        let cols = table.cols
        let y = output(rows: indices.count, cols: cols, from: table)
        indices.withUnsafeBufferPointer { idx in
            for (r, i) in idx.enumerated() {
                precondition(i >= 0 && Int(i) < table.rows, "gather: row \(i) of \(table.rows)")
                (y.value + r * cols).update(from: table.value + Int(i) * cols, count: cols)
            }
        }
        record(y) {
            let gy = y.grad, gt = table.grad
            indices.withUnsafeBufferPointer { idx in
                for (r, i) in idx.enumerated() {
                    let dst = gt + Int(i) * cols, src = gy + r * cols
                    for j in 0..<cols { dst[j] += src[j] }
                }
            }
        }
        return y
    }

    /// Layer normalisation of each row, then · gamma + beta ([1 × cols] each).
    public func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5) -> Tensor {
        let (rows, n) = (x.rows, x.cols)
        precondition(gamma.count == n && beta.count == n)
        let y = output(rows: rows, cols: n, from: x, gamma, beta)
        let keep = y.requiresGrad
        // Saved for backward: normalised values and 1/σ per row.
        let xhat = keep ? UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * n)) : nil
        let rstd = keep ? UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows)) : nil
        let g = gamma.value, b = beta.value
        for r in 0..<rows {
            let src = x.value + r * n, dst = y.value + r * n
            var mean: Float = 0
            for j in 0..<n { mean += src[j] }
            mean /= Float(n)
            var variance: Float = 0
            for j in 0..<n { let d = src[j] - mean; variance += d * d }
            variance /= Float(n)
            let inv = 1 / (variance + eps).squareRoot()
            rstd?[r] = inv
            for j in 0..<n {
                let h = (src[j] - mean) * inv
                xhat?[r * n + j] = h
                dst[j] = h * g[j] + b[j]
            }
        }
        guard let xhat, let rstd else { return y }
        let saved = SavedBuffers(xhat, rstd)
        record(y) {
            let gy = y.grad
            for r in 0..<rows {
                let dy = gy + r * n, h = saved.first + r * n
                if gamma.requiresGrad { let gg = gamma.grad; for j in 0..<n { gg[j] += dy[j] * h[j] } }
                if beta.requiresGrad { let gb = beta.grad; for j in 0..<n { gb[j] += dy[j] } }
                if x.requiresGrad {
                    var meanD: Float = 0, meanDH: Float = 0
                    for j in 0..<n {
                        let d = dy[j] * g[j]
                        meanD += d
                        meanDH += d * h[j]
                    }
                    meanD /= Float(n)
                    meanDH /= Float(n)
                    let gx = x.grad + r * n, inv = saved.second[r]
                    for j in 0..<n { gx[j] += inv * (dy[j] * g[j] - meanD - h[j] * meanDH) }
                }
            }
        }
        return y
    }

    /// GELU, exact erf form: x · Φ(x).
    public func gelu(_ x: Tensor) -> Tensor {
        let y = output(rows: x.rows, cols: x.cols, from: x)
        let n = x.count
        let invSqrt2: Float = 0.70710678
        for i in 0..<n {
            let v = x.value[i]
            y.value[i] = 0.5 * v * (1 + erff(v * invSqrt2))
        }
        record(y) {
            let gy = y.grad, gx = x.grad
            let invSqrt2Pi: Float = 0.39894228
            for i in 0..<n {
                let v = x.value[i]
                let cdf = 0.5 * (1 + erff(v * invSqrt2))
                let pdf = invSqrt2Pi * expf(-0.5 * v * v)
                gx[i] += gy[i] * (cdf + v * pdf)
            }
        }
        return y
    }

    /// Inverted dropout: zeroes each value with probability `p` and scales the rest by 1/(1-p).
    /// The identity when the tape is not training or `p` is 0.
    public func dropout<G: RandomNumberGenerator>(_ x: Tensor, p: Float, using generator: inout G) -> Tensor {
        guard training && p > 0 else { return x }
        precondition(p < 1)
        let y = output(rows: x.rows, cols: x.cols, from: x)
        let n = x.count
        let keepScale = 1 / (1 - p)
        let threshold = UInt32(min(Double(p) * 4_294_967_296.0, 4_294_967_295))
        let mask = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
        var i = 0
        while i < n {
            let bits = generator.next()
            let a = UInt32(truncatingIfNeeded: bits), b = UInt32(truncatingIfNeeded: bits >> 32)
            mask[i] = a >= threshold ? keepScale : 0
            if i + 1 < n { mask[i + 1] = b >= threshold ? keepScale : 0 }
            i += 2
        }
        for j in 0..<n { y.value[j] = x.value[j] * mask[j] }
        let saved = SavedBuffers(mask, nil)
        if y.requiresGrad {
            record(y) {
                let gy = y.grad, gx = x.grad
                for j in 0..<n { gx[j] += gy[j] * saved.first[j] }
            }
        }
        return y
    }
}

/// Buffers an op keeps for its backward step, freed when the tape lets go of the step.
final class SavedBuffers: @unchecked Sendable {
    let first: UnsafeMutablePointer<Float>
    let second: UnsafeMutablePointer<Float>!

    init(_ first: UnsafeMutablePointer<Float>, _ second: UnsafeMutablePointer<Float>?) {
        self.first = first
        self.second = second
    }

    deinit {
        first.deallocate()
        second?.deallocate()
    }
}
