internal import Linear

/// What exact search runs on, for benchmarks to report. Which index serves a catalogue is the
/// engine's choice (`LiveCatalogue.IndexOptions`): exact `sgemv` below a size, HNSW above.
public enum VectorSearch {
    /// The OpenBLAS kernel family exact search runs on (e.g. "Haswell").
    public static var blasCoreName: String { BLAS.coreName }
    /// OpenBLAS's thread count (global to the process).
    public static var blasThreads: Int {
        get { BLAS.threads }
        set { BLAS.threads = newValue }
    }
}
