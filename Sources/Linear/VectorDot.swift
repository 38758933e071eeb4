extension Kernels {
    /// The dot product of two vectors of one length (0 otherwise), eight lanes at a time: a plain
    /// float loop cannot be vectorised (the additions would be reordered). Evidence takes one per
    /// recommended × history product, list variety one per candidate × chosen product.
    public static func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in dot(x.baseAddress!, y.baseAddress!, count: x.count) }
        }
    }

    /// The same over `count` floats at two addresses (a row of a matrix, without copying it).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        let xr = UnsafeRawPointer(x), yr = UnsafeRawPointer(y)
        while i + 8 <= n {
            let u = xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let v = yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            lanes += u * v  // not addProduct: without FMA enabled at compile time it calls fmaf per lane
            i += 8
        }
        var sum = lanes.sum()
        while i < n {
            sum += x[i] * y[i]
            i += 1
        }
        return sum
    }
}
