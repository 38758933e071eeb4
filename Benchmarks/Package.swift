// swift-tools-version:6.1
import PackageDescription

// Curator's benchmarks and experiments, kept out of the `curator` command and the library as
// Hummingbird and postgres-nio keep theirs: `scripts/bench NAME [options]` builds this package
// and `curator` in release mode and runs `curator-bench NAME`. The server-level benchmarks drive
// `curator serve` processes with wrk; the figures in docs/benchmarks.md name their commands.
let package = Package(
    name: "CuratorBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Curator", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // How well a language model reads a shop (the sample shop, whose departments and kinds are known).
        .target(
            name: "LanguageModelFit",
            dependencies: [
                .product(name: "CuratorCore", package: "Curator"),
                .product(name: "Linear", package: "Curator"),
                .product(name: "Storage", package: "Curator"),
                .product(name: "TextModels", package: "Curator"),
            ]
        ),
        .testTarget(name: "LanguageModelFitTests", dependencies: ["LanguageModelFit", .product(name: "Storage", package: "Curator"),
                                                                 .product(name: "TextModels", package: "Curator"),
                                                                 .product(name: "TestSupport", package: "Curator")]),
        .executableTarget(
            name: "curator-bench",
            dependencies: [
                "LanguageModelFit",
                .product(name: "CuratorCore", package: "Curator"),
                .product(name: "Linear", package: "Curator"),
                .product(name: "TextModels", package: "Curator"),
                .product(name: "Storage", package: "Curator"),
                .product(name: "SQLiteStorage", package: "Curator"),
                .product(name: "PostgresStorage", package: "Curator"),
                .product(name: "Stores", package: "Curator"),
                .product(name: "Recommenders", package: "Curator"),
                .product(name: "VectorSearch", package: "Curator"),
                .product(name: "CuratorEngine", package: "Curator"),
                .product(name: "CuratorServer", package: "Curator"),
                .product(name: "SyntheticData", package: "Curator"),
                .product(name: "ChildProcesses", package: "Curator"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CuratorBench"
        ),
    ]
)
