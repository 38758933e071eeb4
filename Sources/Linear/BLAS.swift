import CBLAS

/// Matrix products through OpenBLAS, loaded on first use with the best kernels for this CPU.
public enum BLAS {
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Loads OpenBLAS now (it is loaded lazily otherwise). Throws with an actionable message.
    public static func load() throws {
        if curator_blas_load() != 0 {
            throw LoadError(description: String(cString: curator_blas_error()))
        }
    }

    /// The kernel family OpenBLAS runs, e.g. "Haswell".
    public static var coreName: String {
        (try? load()) == nil ? "" : String(cString: curator_blas_core_name())
    }

    /// The core type Curator chose for this CPU, or "" when the user's OPENBLAS_CORETYPE was kept.
    public static var chosenCoreType: String { String(cString: curator_blas_chosen_core_type()) }

    /// The OPENBLAS_CORETYPE the loader would set, given the user's value of that variable:
    /// nil when the user's own value is kept (or no better kernel set is known for this CPU).
    /// Curator sets it because Debian's OpenBLAS misdetects some CPUs (e.g. AMD EPYC as
    /// "Prescott") and then runs several times slower.
    public static func coreTypeToSet(userValue: String?) -> String? {
        let chosen: String
        if let userValue {
            chosen = String(cString: curator_blas_core_type_to_set(userValue))
        } else {
            chosen = String(cString: curator_blas_core_type_to_set(nil))
        }
        return chosen.isEmpty ? nil : chosen
    }

    /// OpenBLAS's thread count (global to the process). Setting it loads OpenBLAS.
    public static var threads: Int {
        get { Int(curator_blas_threads()) }
        set { curator_blas_set_threads(Int32(newValue)) }
    }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major.
    @inlinable
    public static func sgemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        curator_sgemm(
            transposeA ? 112 : 111, transposeB ? 112 : 111,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha · op(A) · x + beta · y, A row-major m×n.
    @inlinable
    public static func sgemv(
        transpose: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        curator_sgemv(transpose ? 112 : 111, Int32(m), Int32(n), alpha, a, Int32(lda), x, beta, y)
    }
}
