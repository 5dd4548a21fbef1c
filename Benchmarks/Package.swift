// swift-tools-version: 6.1
// Benchmarks of SwiftAMIO: `swift package --package-path Benchmarks benchmark`
// (or scripts/benchmark.sh, which also builds the two JACK clients below and
// prints the table of figures at the end). Kept in a package of its own so
// the library does not depend on the benchmark tooling.
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
        // The two clients the idle-cost benchmark runs side by side on a private
        // jackd. They live outside Benchmarks/, where the benchmark plugin takes
        // every executable for a benchmark, so scripts/benchmark.sh builds them.
        .executableTarget(
            name: "PlainJackClient",
            path: "Sources/PlainJackClient",
            linkerSettings: [.linkedLibrary("jack"), .linkedLibrary("pthread")]),
        .executableTarget(
            name: "AMIORollingClient",
            dependencies: [.product(name: "AMIO", package: parentIdentity)],
            path: "Sources/AMIORollingClient"),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .c11
)
