// swift-tools-version:6.0
import PackageDescription

// Layers (a target imports only targets below it):
//   swiftnas (CLI) → NASExperiment (runner, stores) and NASWeightSharing (supernet methods);
//   NASExperiment → NASStrategies and NASEstimators; NASWeightSharing → NASStrategies and NASEstimators;
//   NASStrategies → NASSpaces; NASEstimators → NASBench and NASSpaces; NASSpaces → NASNN →
//   NASTensor → (COpenBLAS, CKernels). NASData (readers, data checks) sits on NASTensor.
//   Without the engine: NASBench → NASArchitectures (cells, SearchSpace) and NASFiles (gzip),
//   which NASSpaces and NASData re-export.
let package = Package(
    name: "SwiftNAS",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swiftnas", targets: ["swiftnas"]),
        .library(name: "SwiftNAS", targets: ["NASArchitectures", "NASFiles", "NASTensor", "NASNN", "NASData", "NASSpaces", "NASBench",
                                             "NASStrategies", "NASEstimators", "NASExperiment", "NASWeightSharing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // PostgreSQL's own client library: the trial store that many workers share.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Hot non-GEMM kernels in C with runtime CPU dispatch (target_clones), no unsafe flags.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // Architecture types and file formats that need no engine: NAS-Bench-201 cells, the
        // SearchSpace/Estimator protocols (NASArchitectures); gzip, PNG and data errors (NASFiles).
        .target(name: "NASArchitectures"),
        .target(name: "NASFiles", dependencies: ["CZlib", "CPNG"]),
        .target(name: "NASTensor", dependencies: ["COpenBLAS", "CKernels"]),
        .target(name: "NASNN", dependencies: ["NASTensor"]),
        .target(name: "NASData", dependencies: ["NASFiles", "NASTensor"]),
        .target(name: "NASSpaces", dependencies: ["NASArchitectures", "NASNN"]),
        // The NAS-Bench-201 table; the compact copy that ships with SwiftNAS is a gzipped resource.
        // It needs no engine: a program that only queries the table does not link OpenBLAS.
        .target(name: "NASBench", dependencies: ["NASArchitectures", "NASFiles"],
                resources: [.copy("Resources/nasbench201-compact.csv.gz")]),
        .target(name: "NASEstimators", dependencies: ["NASSpaces", "NASBench", "NASData", "NASNN"]),
        .target(name: "NASStrategies", dependencies: ["NASSpaces", "NASNN"]),
        // Supernet training and weight-sharing methods (DARTS, SPOS, few-shot, RLNAS, MdeNAS, DNAL).
        .target(name: "NASWeightSharing", dependencies: ["NASStrategies", "NASEstimators", "NASSpaces", "NASData", "NASNN", "NASTensor"]),
        .target(name: "NASExperiment", dependencies: [
            "NASStrategies", "NASEstimators", "NASSpaces", "NASBench", "CLibPQ",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .executableTarget(name: "swiftnas", dependencies: [
            "NASExperiment", "NASNN", "NASData", "NASWeightSharing",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .testTarget(name: "NASTensorTests", dependencies: ["NASTensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NASNNTests", dependencies: ["NASNN", "NASTensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["NASEstimators", "NASNN", "NASData", "NASTensor"]),
        .testTarget(name: "NASEstimatorsTests", dependencies: ["NASEstimators", "NASExperiment", "NASStrategies", "NASSpaces", "NASBench", "NASData", "NASNN", "NASTensor"]),
        .testTarget(name: "NASDataTests", dependencies: ["NASData", "NASTensor"]),
        .testTarget(name: "NASSpacesTests", dependencies: ["NASSpaces", "NASBench"]),
        .testTarget(name: "NASStrategiesTests", dependencies: ["NASStrategies", "NASBench", "NASSpaces"]),
        .testTarget(name: "WeightSharingTests", dependencies: ["NASWeightSharing", "NASSpaces", "NASData", "NASNN", "NASTensor"]),
        // A throw-away PostgreSQL server for the tests of the shared trial store.
        .target(name: "PostgresTestSupport", path: "Tests/PostgresTestSupport"),
        .testTarget(name: "NASExperimentTests", dependencies: ["NASExperiment", "NASStrategies", "NASBench", "NASSpaces", "PostgresTestSupport"]),
        // Runs the built `swiftnas` executable on bad input (it depends on it so that it is built).
        .testTarget(name: "CLITests", dependencies: ["swiftnas", "NASNN", "NASData", "NASTensor", "PostgresTestSupport"]),
        .testTarget(name: "LearnedSearchTests", dependencies: ["NASExperiment", "NASEstimators", "NASStrategies", "NASSpaces", "NASNN", "NASTensor", "NASData"],
                    resources: [.copy("Fixtures")]),
    ]
)
