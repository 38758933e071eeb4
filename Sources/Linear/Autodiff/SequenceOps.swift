import Foundation

/// Ops over packed sequences: the rows of a [tokens × features] tensor hold several
/// sequences back to back, sequence `s` being rows `offsets[s]..<offsets[s + 1]`, oldest
/// first. Packing instead of padding means no work is spent on padding tokens.
extension Tape {
    /// Causal multi-head scaled dot-product attention within each sequence.
    ///
    /// `qkv` is [tokens × 3d] holding [Q | K | V]; head h uses columns h·d/heads of each.
    /// Token i of a sequence attends to tokens 0...i of the same sequence. Returns [tokens × d].
    public func causalSelfAttention(_ qkv: Tensor, offsets: [Int], heads: Int) -> Tensor {
        precondition(qkv.cols % 3 == 0 && (qkv.cols / 3) % heads == 0)
        precondition(offsets.first == 0 && offsets.last == qkv.rows, "offsets must cover every row")
        let d = qkv.cols / 3, dh = d / heads, ld = qkv.cols
        let scale = 1 / Float(dh).squareRoot()
        let out = output(rows: qkv.rows, cols: d, from: qkv)
        let segmentCount = offsets.count - 1
        // Attention weights, kept for backward: for each sequence, heads × n × n.
        var probOffsets = [Int](repeating: 0, count: segmentCount + 1)
        for s in 0..<segmentCount {
            let n = offsets[s + 1] - offsets[s]
            probOffsets[s + 1] = probOffsets[s] + heads * n * n
        }
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: max(1, probOffsets[segmentCount]))
        let q = qkv.value, o = out.value
        for s in 0..<segmentCount {
            let start = offsets[s], n = offsets[s + 1] - start
            for h in 0..<heads {
                let p = probs + probOffsets[s] + h * n * n
                for i in 0..<n {
                    let qi = q + (start + i) * ld + h * dh
                    let row = p + i * n
                    var maxScore = -Float.infinity
                    for j in 0...i {
                        let kj = q + (start + j) * ld + d + h * dh
                        var dot: Float = 0
                        for c in 0..<dh { dot += qi[c] * kj[c] }
                        row[j] = dot * scale
                        maxScore = max(maxScore, row[j])
                    }
                    var sum: Float = 0
                    for j in 0...i {
                        row[j] = expf(row[j] - maxScore)
                        sum += row[j]
                    }
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    for j in (i + 1)..<max(i + 1, n) { row[j] = 0 }
                    let oi = o + (start + i) * d + h * dh
                    for c in 0..<dh { oi[c] = 0 }
                    for j in 0...i {
                        let vj = q + (start + j) * ld + 2 * d + h * dh
                        let w = row[j]
                        for c in 0..<dh { oi[c] += w * vj[c] }
                    }
                }
            }
        }
        let saved = SavedBuffers(probs, nil)
        record(out) {
            let gOut = out.grad, gq = qkv.grad
            var maxN = 0
            for s in 0..<segmentCount { maxN = max(maxN, offsets[s + 1] - offsets[s]) }
            let dRow = UnsafeMutablePointer<Float>.allocate(capacity: max(1, maxN))
            defer { dRow.deallocate() }
            for s in 0..<segmentCount {
                let start = offsets[s], n = offsets[s + 1] - start
                for h in 0..<heads {
                    let p = saved.first + probOffsets[s] + h * n * n
                    for i in 0..<n {
                        let row = p + i * n
                        let go = gOut + (start + i) * d + h * dh
                        // dP_ij = dOut_i · v_j ; dV_j += P_ij dOut_i
                        var dot: Float = 0
                        for j in 0...i {
                            let vj = q + (start + j) * ld + 2 * d + h * dh
                            let gv = gq + (start + j) * ld + 2 * d + h * dh
                            var acc: Float = 0
                            let w = row[j]
                            for c in 0..<dh {
                                acc += go[c] * vj[c]
                                gv[c] += w * go[c]
                            }
                            dRow[j] = acc
                            dot += w * acc
                        }
                        // dS_ij = P_ij (dP_ij − Σ P dP) · scale ; dQ_i += dS_ij k_j ; dK_j += dS_ij q_i
                        let qi = q + (start + i) * ld + h * dh
                        let gqi = gq + (start + i) * ld + h * dh
                        for j in 0...i {
                            let ds = row[j] * (dRow[j] - dot) * scale
                            if ds == 0 { continue }
                            let kj = q + (start + j) * ld + d + h * dh
                            let gk = gq + (start + j) * ld + d + h * dh
                            for c in 0..<dh {
                                gqi[c] += ds * kj[c]
                                gk[c] += ds * qi[c]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Causal weighted mean pooling: row i of sequence s becomes Σ_{j≤i} decay^(i−j) x_j / Σ_{j≤i} decay^(i−j).
    /// `decay` 1 is the plain running mean; smaller values favour recent tokens.
    public func causalDecayedMean(_ x: Tensor, offsets: [Int], decay: Float) -> Tensor {
        precondition(offsets.first == 0 && offsets.last == x.rows)
        precondition(decay > 0 && decay <= 1)
        let n = x.cols
        let y = output(rows: x.rows, cols: n, from: x)
        // Running normaliser per row, kept for backward.
        let norms = UnsafeMutablePointer<Float>.allocate(capacity: max(1, x.rows))
        let running = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
        defer { running.deallocate() }
        for s in 0..<(offsets.count - 1) {
            var w: Float = 0
            for c in 0..<n { running[c] = 0 }
            for r in offsets[s]..<offsets[s + 1] {
                w = w * decay + 1
                norms[r] = w
                let src = x.value + r * n, dst = y.value + r * n
                let inv = 1 / w
                for c in 0..<n {
                    running[c] = running[c] * decay + src[c]
                    dst[c] = running[c] * inv
                }
            }
        }
        let saved = SavedBuffers(norms, nil)
        record(y) {
            // dx_j = Σ_{i≥j} decay^(i−j) dy_i / w_i : a reverse running sum.
            let gy = y.grad, gx = x.grad
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            defer { acc.deallocate() }
            for s in 0..<(offsets.count - 1) {
                for c in 0..<n { acc[c] = 0 }
                var r = offsets[s + 1] - 1
                while r >= offsets[s] {
                    let inv = 1 / saved.first[r]
                    let g = gy + r * n, dst = gx + r * n
                    for c in 0..<n {
                        acc[c] = acc[c] * decay + g[c] * inv
                        dst[c] += acc[c]
                    }
                    r -= 1
                }
            }
        }
        return y
    }
}
