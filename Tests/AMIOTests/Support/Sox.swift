import Foundation
import Testing

/// `sox` with the given arguments; fails the test when sox fails.
@discardableResult
func sox(_ arguments: String...) throws -> String {
    let (status, output) = try run("sox", arguments)
    try #require(status == 0, "sox \(arguments.joined(separator: " ")) failed: \(output)")
    return output
}

/// What `sox --i` reports about a file.
struct SoxInfo {
    var channels: Int
    var sampleRate: Int
    var samples: Int

    init(_ path: String) throws {
        let text = try sox("--i", path)
        func field(_ name: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        channels = Int(field("Channels") ?? "") ?? -1
        sampleRate = Int(field("Sample Rate") ?? "") ?? -1
        // "Duration : 00:00:01.00 = 48000 samples ~ 75 CDDA sectors"
        let duration = field("Duration") ?? ""
        samples = duration.split(separator: "=").dropFirst().first
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? -1
    }
}

/// `sox FILE -n stat`: the maximum and minimum amplitude and the RMS, and
/// the samples (of all channels) sox decoded.
struct SoxStat {
    var maximum: Double
    var minimum: Double
    var rms: Double
    var samplesRead: Int

    init(_ path: String) throws {
        let text = try sox(path, "-n", "stat")
        func value(_ name: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(name) }
                .flatMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? .nan
        }
        maximum = value("Maximum amplitude")
        minimum = value("Minimum amplitude")
        rms = value("RMS     amplitude")
        samplesRead = Int(value("Samples read"))
    }
}

/// A fresh directory for one test's files, removed afterwards by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("amio-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes interleaved Float32 samples as a headerless file sox reads with `-t f32`.
func writeRaw(_ samples: [Float], to url: URL) throws {
    try samples.withUnsafeBufferPointer { try Data(buffer: $0).write(to: url) }
}
