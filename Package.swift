// swift-tools-version: 6.0
import PackageDescription

/// The Swift programs of README.md and Docs/, each one as the guide shows it
/// (a test checks they are the same text, and runs each one).
let snippets = ["Tour", "FilesTour", "FirstProgram", "Reading", "Loading", "Writing", "Resampling", "Recording",
                "Measuring", "SessionInSwift", "SessionFades", "PlayingWhileLoading"]

let package = Package(
    name: "SwiftAMIO",
    products: [
        .library(name: "AMIO", targets: ["AMIO"]),
        .executable(name: "amio", targets: ["amio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CJack", pkgConfig: "jack",
            providers: [.apt(["libjack-jackd2-dev"])]),
        .systemLibrary(
            name: "CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(
            name: "CSoxr", pkgConfig: "soxr",
            providers: [.apt(["libsoxr-dev"])]),
        .target(
            name: "CAMIO",
            dependencies: ["CJack"],
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("pthread")]),
        .target(
            name: "AMIO",
            dependencies: ["CAMIO", "CSndFile", "CSoxr"]),
        .executableTarget(
            name: "amio",
            dependencies: [
                "AMIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "AMIODemo",
            dependencies: ["AMIO"],
            path: "Examples/AMIODemo"),
        // What the examples below share: their command lines and errors, read as tools read theirs.
        .target(name: "ExampleSupport", dependencies: ["AMIO"], path: "Examples/ExampleSupport"),
        .executableTarget(name: "PlaySine", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/PlaySine"),
        .executableTarget(name: "ToneToFile", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/ToneToFile"),
        .executableTarget(name: "FileEffect", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/FileEffect"),
        .executableTarget(name: "RecordSeconds", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/RecordSeconds"),
        .executableTarget(name: "Thru", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/Thru"),
        .executableTarget(name: "SpectrumChunks", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/SpectrumChunks"),
        .executableTarget(name: "DAWLoop", dependencies: ["AMIO", "ExampleSupport"], path: "Examples/DAWLoop"),
    ] + snippets.map { name in
        .executableTarget(name: "Snippet\(name)", dependencies: ["AMIO"], path: "Examples/Snippets/\(name)")
    } + [
        .target(
            name: "CRealtimeProbe",
            path: "Tests/CRealtimeProbe", linkerSettings: [.linkedLibrary("dl")]),
        .testTarget(
            name: "AMIOTests",
            dependencies: ["AMIO", "CAMIO", "CRealtimeProbe", "amio", "PlaySine", "RecordSeconds", "SpectrumChunks", "Thru",
                           "DAWLoop", "AMIODemo", "FileEffect", "ToneToFile"] + snippets.map { .target(name: "Snippet\($0)") }),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .c11
)
