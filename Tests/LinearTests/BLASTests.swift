import ChildProcesses
import Foundation
import Linear
import TestSupport
import XCTest

/// sgemm against a naive triple loop, for every transpose combination and with strides.
final class BLASTests: XCTestCase {
    /// Deterministic pseudo-random values in [-1, 1).
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    func naive(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = ta ? a[p * lda + i] : a[i * lda + p]
                    let bv = tb ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    func testSgemmMatchesNaiveLoopForAllTransposeFlags() throws {
        try BLAS.load()
        let (m, n, k) = (7, 13, 19)
        for ta in [false, true] {
            for tb in [false, true] {
                // Leading dimensions larger than the logical width, to test strides.
                let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5
                let a = values((ta ? k : m) * lda, seed: 1)
                let b = values((tb ? n : k) * ldb, seed: 2)
                let c0 = values(m * ldc, seed: 3)
                var c = c0
                BLAS.sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: &c, ldc: ldc)
                let expected = naive(ta, tb, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: c0, ldc: ldc)
                for i in 0..<m {
                    for j in 0..<n {
                        XCTAssertEqual(c[i * ldc + j], expected[i * ldc + j], accuracy: 1e-4, "transA \(ta) transB \(tb) at \(i),\(j)")
                    }
                    // Padding columns beyond n are untouched.
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) }
                }
            }
        }
    }

    func testSgemmLargeProductAndThreads() throws {
        let (m, n, k) = (150, 70, 384)
        let a = values(m * k, seed: 4), b = values(n * k, seed: 5)
        let expected = naive(false, true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: [Float](repeating: 0, count: m * n), ldc: n)
        let saved = BLAS.threads
        defer { BLAS.threads = saved }
        for threads in [1, 2] {
            BLAS.threads = threads
            var c = [Float](repeating: .nan, count: m * n)
            BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
            for i in 0..<(m * n) { XCTAssertEqual(c[i], expected[i], accuracy: 1e-3) }
        }
    }

    func testSgemv() throws {
        let (m, n) = (9, 5)
        let a = values(m * n, seed: 6), x = values(max(m, n), seed: 7)
        var y = [Float](repeating: 0, count: m)
        BLAS.sgemv(m: m, n: n, a: a, lda: n, x: x, y: &y)
        for i in 0..<m {
            let e = (0..<n).reduce(Float(0)) { $0 + a[i * n + $1] * x[$1] }
            XCTAssertEqual(y[i], e, accuracy: 1e-5)
        }
        var yt = [Float](repeating: 0, count: n)
        BLAS.sgemv(transpose: true, m: m, n: n, a: a, lda: n, x: x, y: &yt)
        for j in 0..<n {
            let e = (0..<m).reduce(Float(0)) { $0 + a[$1 * n + j] * x[$1] }
            XCTAssertEqual(yt[j], e, accuracy: 1e-5)
        }
    }
}

/// The loader picks OPENBLAS_CORETYPE from the CPU unless the user set it.
final class BLASCoreTypeTests: XCTestCase {
    func testUserValueIsKept() {
        XCTAssertNil(BLAS.coreTypeToSet(userValue: "Sandybridge"))
        XCTAssertNil(BLAS.coreTypeToSet(userValue: "Prescott"))
    }

    func testCPUChoiceWhenUnset() {
        let unset = BLAS.coreTypeToSet(userValue: nil)
        XCTAssertEqual(unset, BLAS.coreTypeToSet(userValue: ""), "an empty value counts as unset")
        #if arch(x86_64)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if cpuinfo.contains(" avx2 ") && cpuinfo.contains(" fma ") {
            XCTAssertNotNil(unset, "an AVX2+FMA CPU gets a kernel set")
            if !cpuinfo.contains(" avx512f ") { XCTAssertEqual(unset, "Haswell") }
        }
        #endif
    }

    /// In this process: the loaded core is the chosen one, or the user's if they set it.
    func testLoadedCoreFollowsChoice() throws {
        try BLAS.load()
        let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        XCTAssertFalse(BLAS.coreName.isEmpty)
        if let user, !user.isEmpty, BLAS.chosenCoreType.isEmpty {
            // The user's value was kept (it may be the loader's own, set earlier in this process).
            return
        }
        XCTAssertEqual(BLAS.chosenCoreType, BLAS.coreTypeToSet(userValue: nil) ?? "")
        if !BLAS.chosenCoreType.isEmpty {
            XCTAssertEqual(BLAS.coreName.lowercased(), BLAS.chosenCoreType.lowercased())
        }
    }

    /// A child process started with OPENBLAS_CORETYPE=Sandybridge must run Sandybridge kernels:
    /// the user's value wins over Curator's choice.
    func testUserCoreTypeIsHonouredInAFreshProcess() throws {
        #if os(Linux) && arch(x86_64)
        if ProcessInfo.processInfo.environment["CURATOR_BLAS_CHILD"] == "1" {
            try BLAS.load()
            print("CURATOR_BLAS_CHILD core=\(BLAS.coreName) chosen=\(BLAS.chosenCoreType)")
            XCTAssertEqual(BLAS.coreName.lowercased(), "sandybridge")
            XCTAssertEqual(BLAS.chosenCoreType, "")
            return
        }
        let result = try ChildProcess(URL(fileURLWithPath: CommandLine.arguments[0]),
                                      ["LinearTests.BLASCoreTypeTests/testUserCoreTypeIsHonouredInAFreshProcess"],
                                      environment: ChildProcess.environment(["CURATOR_BLAS_CHILD": "1", "OPENBLAS_CORETYPE": "Sandybridge"])).run()
        let output = result.stdout + result.stderr
        guard output.contains("CURATOR_BLAS_CHILD core=") else {
            throw Prerequisite.missing("could not re-run the test binary as a child process:\n\(output.suffix(500))")
        }
        XCTAssertEqual(result.status, 0, output)
        XCTAssert(output.contains("core=Sandybridge chosen=\n") || output.lowercased().contains("core=sandybridge chosen=\n"), output)
        #else
        throw Prerequisite.missing("OpenBLAS core types are x86-64 only")
        #endif
    }
}
