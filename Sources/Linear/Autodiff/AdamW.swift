import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), one decay strength per parameter.
///
/// Every parameter is updated densely; the moment buffers live beside the optimiser.
public final class AdamW {
    public struct Parameter {
        public var tensor: Tensor
        /// Decoupled decay: each step multiplies the parameter by (1 − lr · weightDecay).
        public var weightDecay: Float

        public init(_ tensor: Tensor, weightDecay: Float) {
            self.tensor = tensor
            self.weightDecay = weightDecay
        }
    }

    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public let parameters: [Parameter]
    private let moments: [(m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>)]
    public private(set) var stepCount = 0

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.98, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        moments = parameters.map { p in
            let n = max(1, p.tensor.count)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: n)
            m.initialize(repeating: 0, count: n)
            v.initialize(repeating: 0, count: n)
            return (m, v)
        }
    }

    deinit {
        for (m, v) in moments {
            m.deallocate()
            v.deallocate()
        }
    }

    /// One update from the current gradients (parameters without a gradient buffer still decay).
    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - powf(beta1, t), correction2 = 1 - powf(beta2, t)
        let stepSize = learningRate / correction1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for (index, parameter) in parameters.enumerated() {
            let tensor = parameter.tensor
            let n = tensor.count
            let w = tensor.value
            let decay = 1 - learningRate * parameter.weightDecay
            let (m, v) = moments[index]
            if !tensor.hasGrad {
                if decay != 1 { for i in 0..<n { w[i] *= decay } }
                continue
            }
            let g = tensor.grad
            let invSqrtCorrection2 = 1 / correction2.squareRoot()
            for i in 0..<n {
                let gi = g[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let denominator = v[i].squareRoot() * invSqrtCorrection2 + eps
                w[i] = w[i] * decay - stepSize * m[i] / denominator
            }
        }
    }

    public func zeroGrad() {
        for p in parameters { p.tensor.zeroGrad() }
    }
}

/// Scales all gradients down so their global L2 norm is at most `maxNorm`; returns the norm before.
@discardableResult
public func clipGradientNorm(_ tensors: [Tensor], maxNorm: Float) -> Float {
    var sum: Double = 0
    for t in tensors where t.hasGrad {
        let g = t.grad
        var s: Float = 0
        for i in 0..<t.count { s += g[i] * g[i] }
        sum += Double(s)
    }
    let norm = Float(sum.squareRoot())
    if norm > maxNorm && norm > 0 {
        let factor = maxNorm / norm
        for t in tensors where t.hasGrad {
            let g = t.grad
            for i in 0..<t.count { g[i] *= factor }
        }
    }
    return norm
}
