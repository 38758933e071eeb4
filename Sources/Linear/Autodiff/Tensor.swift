/// A row-major matrix of Floats in one contiguous buffer, with an optional gradient buffer
/// of the same shape, for the small reverse-mode automatic differentiation in `Tape`.
///
/// Everything the recommenders train is a matrix: [tokens × features], [products × dimension],
/// a weight [in × out], a 1 × 1 loss. Buffers are allocated once per tensor (zeroed) and
/// freed with it; ops read and write them through raw pointers, so hot loops never allocate.
/// A tensor is not thread-safe for writing; parameters are only read during inference.
public final class Tensor: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// The values, `rows × cols`, row-major.
    public let value: UnsafeMutablePointer<Float>
    /// True for parameters and for every result computed from one on a recording tape.
    public let requiresGrad: Bool
    private var gradStorage: UnsafeMutablePointer<Float>?
    private var gradIsValue = false

    public var count: Int { rows * cols }

    /// A zero-filled tensor.
    public init(rows: Int, cols: Int, requiresGrad: Bool = false) {
        precondition(rows >= 0 && cols >= 0)
        self.rows = rows
        self.cols = cols
        self.requiresGrad = requiresGrad
        value = .allocate(capacity: max(1, rows * cols))
        value.initialize(repeating: 0, count: max(1, rows * cols))
    }

    /// A tensor holding a copy of `values` (`rows × cols` of them).
    public convenience init(rows: Int, cols: Int, values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == rows * cols, "\(values.count) values for a \(rows) × \(cols) tensor")
        self.init(rows: rows, cols: cols, requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { value.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit {
        value.deallocate()
        if !gradIsValue { gradStorage?.deallocate() }
    }

    /// Makes the gradient buffer the value buffer, for an op that turns its (no longer
    /// needed) input values into their gradient in place. Only before any gradient exists.
    func aliasGradientToValue() {
        precondition(gradStorage == nil)
        gradStorage = value
        gradIsValue = true
    }

    /// The gradient buffer, allocated zeroed on first use.
    public var grad: UnsafeMutablePointer<Float> {
        if let gradStorage { return gradStorage }
        let g = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
        g.initialize(repeating: 0, count: max(1, count))
        gradStorage = g
        return g
    }

    /// Whether a gradient buffer exists (something flowed into this tensor).
    public var hasGrad: Bool { gradStorage != nil }

    public func zeroGrad() {
        gradStorage?.update(repeating: 0, count: max(1, count))
    }

    /// A copy of the values.
    public var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }

    /// A copy of the gradient (zeros when none flowed in).
    public var gradients: [Float] {
        guard let gradStorage else { return [Float](repeating: 0, count: count) }
        return Array(UnsafeBufferPointer(start: gradStorage, count: count))
    }

    /// Overwrites the values with `values`.
    public func setValues(_ values: [Float]) {
        precondition(values.count == count)
        values.withUnsafeBufferPointer { value.update(from: $0.baseAddress!, count: count) }
    }

    /// The single value of a 1 × 1 tensor (a loss).
    public var scalar: Float { value[0] }
}

/// Records the backward step of every op run on it, then runs them in reverse.
///
/// A tape is used for one forward/backward pass and thrown away. With `recording` false
/// (inference) nothing is kept and results never require gradients; with `training`
/// false, dropout is the identity.
public final class Tape {
    public let recording: Bool
    public let training: Bool
    private var steps: [() -> Void] = []

    public init(recording: Bool = true, training: Bool = true) {
        self.recording = recording
        self.training = training
    }

    /// A result tensor; it requires gradients when any input does and the tape records.
    @usableFromInline
    func output(rows: Int, cols: Int, from inputs: Tensor...) -> Tensor {
        let needs = recording && inputs.contains { $0.requiresGrad }
        return Tensor(rows: rows, cols: cols, requiresGrad: needs)
    }

    @usableFromInline
    func record(_ result: Tensor, _ step: @escaping () -> Void) {
        if result.requiresGrad { steps.append(step) }
    }

    /// Back-propagates from `root` (seeded with ones, or with `seed` of root's shape) through
    /// every recorded op, accumulating into the `grad` of each tensor that requires one.
    public func backward(_ root: Tensor, seed: [Float]? = nil) {
        precondition(recording, "backward needs a recording tape")
        guard root.requiresGrad else { return }
        let g = root.grad
        if let seed {
            precondition(seed.count == root.count)
            for i in 0..<root.count { g[i] += seed[i] }
        } else {
            for i in 0..<root.count { g[i] += 1 }
        }
        for step in steps.reversed() { step() }
        steps.removeAll()
    }
}
