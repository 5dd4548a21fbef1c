// swift-tools-version: 6.1
// Benchmarks of SwiftAMIO: `swift package --package-path Benchmarks benchmark`
// (or scripts/benchmark.sh). Kept in a package of its own so the library does
// not depend on the benchmark tooling.
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, whatever the clone is called.
let parentIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "AMIOBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "AMIOBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AMIO", package: parentIdentity),
                "CPlainRead",
            ],
            path: "Benchmarks/AMIOBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // The yardstick of the mixer's memory bandwidth: a plain loop over the clips' bytes, in C.
        .target(name: "CPlainRead", path: "Sources/CPlainRead"),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .c11
)
