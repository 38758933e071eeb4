import Foundation

/// Scoring against candidate rows and the ranking losses. Losses return a 1 × 1 tensor.
extension Tape {
    /// Softmax cross-entropy of each row of `logits` [rows × classes] against `targets[row]`,
    /// averaged over rows. `columnOffsets` (one per class, constant) is added to the logits
    /// first, e.g. −log Q for a sampled softmax's log-Q correction.
    ///
    /// To save [rows × classes] buffers the probabilities are computed in place, and become the
    /// gradient in place: `logits`' values are overwritten, so nothing else may read them after this op.
    public func softmaxCrossEntropy(_ logits: Tensor, targets: [Int32], columnOffsets: [Float]? = nil) -> Tensor {
        let (rows, n) = (logits.rows, logits.cols)
        precondition(targets.count == rows)
        precondition(columnOffsets.map { $0.count == n } ?? true)
        let loss = output(rows: 1, cols: 1, from: logits)
        let x = logits.value
        if let columnOffsets {
            columnOffsets.withUnsafeBufferPointer { off in
                for r in 0..<rows {
                    let row = x + r * n
                    for j in 0..<n { row[j] += off[j] }
                }
            }
        }
        if rows > 0 && n > 0 { Kernels.softmaxRows(x, rows: rows, n: n, stride: n) }
        var total: Double = 0
        for r in 0..<rows {
            let t = Int(targets[r])
            precondition(t >= 0 && t < n, "target \(t) of \(n) classes")
            total -= Double(logf(max(x[r * n + t], 1e-30)))
        }
        loss.value[0] = rows > 0 ? Float(total / Double(rows)) : 0
        record(loss) {
            let g = loss.grad[0] / Float(max(rows, 1))
            if !logits.hasGrad {
                // The probabilities become the gradient in place: no second [rows × classes] buffer.
                logits.aliasGradientToValue()
                for r in 0..<rows {
                    let p = x + r * n
                    for j in 0..<n { p[j] *= g }
                    p[Int(targets[r])] -= g
                }
                return
            }
            let gx = logits.grad
            for r in 0..<rows {
                let p = x + r * n, dst = gx + r * n
                for j in 0..<n { dst[j] += g * p[j] }
                dst[Int(targets[r])] -= g
            }
        }
        return loss
    }

    /// Scores of chosen candidates: out[r][c] = h[r] · table[candidates[r·m + c]], [rows × m].
    /// The backward pass touches only the candidates' rows of the table.
    public func candidateScores(_ h: Tensor, _ table: Tensor, candidates: [Int32], perRow m: Int) -> Tensor {
        let (rows, d) = (h.rows, h.cols)
        precondition(table.cols == d && candidates.count == rows * m)
        let y = output(rows: rows, cols: m, from: h, table)
        candidates.withUnsafeBufferPointer { cand in
            for r in 0..<rows {
                let hr = h.value + r * d
                for c in 0..<m {
                    let e = table.value + Int(cand[r * m + c]) * d
                    var dot: Float = 0
                    for k in 0..<d { dot += hr[k] * e[k] }
                    y.value[r * m + c] = dot
                }
            }
        }
        record(y) {
            let gy = y.grad
            candidates.withUnsafeBufferPointer { cand in
                for r in 0..<rows {
                    let hr = h.value + r * d
                    for c in 0..<m {
                        let g = gy[r * m + c]
                        if g == 0 { continue }
                        let row = Int(cand[r * m + c]) * d
                        if h.requiresGrad {
                            let gh = h.grad + r * d, e = table.value + row
                            for k in 0..<d { gh[k] += g * e[k] }
                        }
                        if table.requiresGrad {
                            let ge = table.grad + row
                            for k in 0..<d { ge[k] += g * hr[k] }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Binary cross-entropy with logits: −[y log σ(x) + (1−y) log(1−σ(x))], summed over
    /// each row's columns and averaged over rows. `labels` has the shape of `logits`.
    public func sigmoidBinaryCrossEntropy(_ logits: Tensor, labels: [Float]) -> Tensor {
        precondition(labels.count == logits.count)
        let (rows, n) = (logits.rows, logits.cols)
        let loss = output(rows: 1, cols: 1, from: logits)
        var total: Double = 0
        for i in 0..<(rows * n) {
            let x = logits.value[i], y = labels[i]
            // log(1 + e^−|x|) + max(x, 0) − x·y, stable for large |x|.
            total += Double(max(x, 0) - x * y + log1pf(expf(-abs(x))))
        }
        loss.value[0] = rows > 0 ? Float(total / Double(rows)) : 0
        record(loss) {
            let g = loss.grad[0] / Float(max(rows, 1))
            let gx = logits.grad
            for i in 0..<(rows * n) {
                let s = 1 / (1 + expf(-logits.value[i]))
                gx[i] += g * (s - labels[i])
            }
        }
        return loss
    }

    /// Bayesian personalised ranking: column 0 of `scores` is the positive, the other
    /// columns negatives; the mean over rows and negatives of −log σ(pos − neg).
    public func bprLoss(_ scores: Tensor) -> Tensor {
        let (rows, m) = (scores.rows, scores.cols)
        precondition(m >= 2, "bpr needs a positive and at least one negative per row")
        let loss = output(rows: 1, cols: 1, from: scores)
        let pairs = Float(rows * (m - 1))
        var total: Double = 0
        for r in 0..<rows {
            let pos = scores.value[r * m]
            for c in 1..<m {
                let diff = pos - scores.value[r * m + c]
                // −log σ(diff) = log(1 + e^−diff), stable
                total += Double(max(-diff, 0) + log1pf(expf(-abs(diff))))
            }
        }
        loss.value[0] = rows > 0 ? Float(total / Double(pairs)) : 0
        record(loss) {
            let g = loss.grad[0] / max(pairs, 1)
            let gs = scores.grad
            for r in 0..<rows {
                let pos = scores.value[r * m]
                for c in 1..<m {
                    let diff = pos - scores.value[r * m + c]
                    let w = g * (1 / (1 + expf(diff)))   // d/d diff of −log σ(diff) = −σ(−diff)
                    gs[r * m] -= w
                    gs[r * m + c] += w
                }
            }
        }
        return loss
    }
}
