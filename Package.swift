// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Curator",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "curator", targets: ["curator"]),
        .library(name: "CuratorCore", targets: ["CuratorCore"]),
        .library(name: "Linear", targets: ["Linear"]),
        .library(name: "TextModels", targets: ["TextModels"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "SQLiteStorage", targets: ["SQLiteStorage"]),
        .library(name: "PostgresStorage", targets: ["PostgresStorage"]),
        .library(name: "Stores", targets: ["Stores"]),
        .library(name: "Recommenders", targets: ["Recommenders"]),
        .library(name: "VectorSearch", targets: ["VectorSearch"]),
        .library(name: "Explanations", targets: ["Explanations"]),
        .library(name: "OnlineMeasurement", targets: ["OnlineMeasurement"]),
        .library(name: "CuratorEngine", targets: ["CuratorEngine"]),
        .library(name: "CuratorServer", targets: ["CuratorServer"]),
        // Deterministic synthetic data for tests and the benchmarks package (not part of the engine).
        .library(name: "SyntheticData", targets: ["SyntheticData"]),
        // Runs other programs (pip, curator, wrk) for the CLI, the benchmarks and the tests.
        .library(name: "ChildProcesses", targets: ["ChildProcesses"]),
        // What the benchmarks package's tests share with these (prerequisites that fail in CI).
        .library(name: "TestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // No traits: Curator needs neither swift-configuration nor URL-encoded forms.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // HMAC and SHA-256 for pseudonyms, text hashes and signed tokens: security code is not hand-written.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // PostgreSQL, the shared store of several replicas.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already in the graph through Hummingbird: the server's background work runs as services
        // of the application (ordered, graceful shutdown) and logs through swift-log.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Domain types, configuration and errors shared by every room.
        .target(name: "CuratorCore"),
        // Loads OpenBLAS at first use, after choosing the kernel set for this CPU.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "Linear", dependencies: ["CBLAS"]),
        .target(name: "TextModels", dependencies: ["Linear", "CuratorCore", .product(name: "Crypto", package: "swift-crypto")]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The store interface (role protocols) and the rules every store keeps, on no database:
        // import rows and the streaming import pipeline, pseudonyms, digests, records.
        .target(name: "Storage", dependencies: ["CuratorCore", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        // The embedded store: one SQLite file (GRDB, WAL, versioned migrations).
        .target(
            name: "SQLiteStorage",
            dependencies: [
                "CuratorCore", "Storage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The PostgreSQL store: what several replicas share (URLs with clear errors, migrations, the store itself).
        .target(name: "PostgresStorage", dependencies: ["CuratorCore", "Storage", .product(name: "PostgresNIO", package: "postgres-nio")]),
        // Opens the store a path or URL names: the one place that knows both stores.
        .target(name: "Stores", dependencies: ["CuratorCore", "Storage", "SQLiteStorage", "PostgresStorage"]),
        .target(name: "Recommenders", dependencies: ["CuratorCore", "Linear"]),
        // Nearest-neighbour search for serving: exact (BLAS) and HNSW (hnswlib via a C shim).
        .target(name: "CHNSW", linkerSettings: [.linkedLibrary("stdc++")]),
        .target(name: "VectorSearch", dependencies: ["Linear", "CHNSW", "CuratorCore"]),
        .target(name: "Explanations", dependencies: ["CuratorCore", "Linear"]),
        .target(name: "SyntheticData", dependencies: ["CuratorCore", "VectorSearch"]),
        .target(name: "ChildProcesses"),
        // Everything a shop talks to: recommendations with reasons over the store, for the CLI and the server.
        .target(name: "OnlineMeasurement", dependencies: ["CuratorCore", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CuratorEngine", dependencies: ["CuratorCore", "Storage", "TextModels", "Recommenders", "Explanations", "Linear", "VectorSearch",
                                                      "OnlineMeasurement"]),
        .target(
            name: "CuratorServer",
            dependencies: [
                "CuratorCore", "CuratorEngine", "Explanations",
                "OnlineMeasurement", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("openapi.yaml"), .copy("Storefront")]
        ),
        .executableTarget(
            name: "curator",
            dependencies: [
                "CuratorCore", "Linear", "Storage", "Stores", "TextModels", "Recommenders", "Explanations", "CuratorEngine",
                "CuratorServer", "PostgresStorage", "ChildProcesses",
                "OnlineMeasurement", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets: a test that cannot run skips locally and fails in CI (CURATOR_CI=1).
        .target(name: "TestSupport", dependencies: ["TextModels"], path: "Tests/TestSupport"),
        // One contract test, both stores: runs a test body on SQLite, then on PostgreSQL.
        .target(name: "StoreTestSupport", dependencies: ["Storage", "SQLiteStorage", "PostgresStorage", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
                path: "Tests/StoreTestSupport"),
        .testTarget(name: "CuratorCoreTests", dependencies: ["CuratorCore"]),
        .testTarget(name: "LinearTests", dependencies: ["Linear", "TestSupport", "ChildProcesses"]),
        .testTarget(name: "TextModelsTests", dependencies: ["TextModels", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "SQLiteStorage", "CuratorCore", "ChildProcesses", "TestSupport", "StoreTestSupport",
                                                   .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PostgresStorageTests", dependencies: ["PostgresStorage", "Storage", "SQLiteStorage", "CuratorCore", "StoreTestSupport",
                                                          .product(name: "PostgresNIO", package: "postgres-nio")]),
        .testTarget(name: "RecommendersTests", dependencies: ["Recommenders", "CuratorCore", "TestSupport"]),
        .testTarget(name: "OnlineMeasurementTests", dependencies: ["OnlineMeasurement", "CuratorCore"]),
        .testTarget(name: "ExplanationsTests", dependencies: ["Explanations", "CuratorCore"]),
        .testTarget(name: "VectorSearchTests", dependencies: ["VectorSearch", "SyntheticData", "CuratorCore"]),
        // The engine in process, on both stores: a replica following another's changes.
        .testTarget(name: "CuratorEngineTests", dependencies: ["CuratorEngine", "CuratorCore", "Storage", "SQLiteStorage", "PostgresStorage", "TestSupport",
                                                             "StoreTestSupport"]),
        // The server in process (HummingbirdTesting's router client): access policy, bodies, JSON.
        .testTarget(name: "CuratorServerTests", dependencies: ["CuratorServer", "CuratorEngine", "CuratorCore", "Storage", "SQLiteStorage", "TextModels",
                                                             "Explanations", "TestSupport",
                                                             .product(name: "Hummingbird", package: "hummingbird"),
                                                             .product(name: "HummingbirdTesting", package: "hummingbird")]),
        // Runs the built `curator` binary as a user would: exit codes, files, kill -9.
        .testTarget(name: "CuratorCLITests", dependencies: ["curator", "CuratorCore", "ChildProcesses", "Storage", "SQLiteStorage", "TestSupport", "StoreTestSupport", "PostgresStorage",
                                                             .product(name: "PostgresNIO", package: "postgres-nio")]),
    ]
)
