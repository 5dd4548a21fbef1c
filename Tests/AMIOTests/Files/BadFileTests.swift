@testable import AMIO
import Foundation
import Testing

/// A corpus of hostile and odd files, made by the test: each one decodes to
/// exactly what it holds or gives its typed error; none crashes, and none
/// makes the reader allocate what its header claims.
@Suite struct BadFileTests {
    /// 24 000 frames of two known channels, written by libsndfile.
    static let frames = 24_000

    static func good(_ format: AudioFileFormat, _ encoding: AudioFileEncoding = .pcm16, channels: Int = 2,
                     rate: Int = 48000, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("good.\(format.name)")
        let signal = (0..<channels).map(expectedSamples)
        let clip = try AudioClip(channels: signal, sampleRate: rate)
        try clip.write(to: url, format: format, encoding: encoding)
        return url
    }

    /// The samples written to channel `channel` (exact in 16 bits).
    static func expectedSamples(channel: Int) -> [Float] {
        (0..<frames).map { (frame: Int) -> Float in Float((frame + channel * 7) % 200 - 100) / 128 }
    }

    /// `bytes` with `patch` written at `offset`.
    static func patched(_ bytes: Data, at offset: Int, _ patch: [UInt8]) -> Data {
        var bytes = bytes
        bytes.replaceSubrange(offset..<(offset + patch.count), with: patch)
        return bytes
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func offset(of tag: String, in bytes: Data) -> Int {
        let pattern = Data(tag.utf8)
        return bytes.range(of: pattern)!.lowerBound
    }

    enum Expected: Sendable {
        case decodes(frames: Int, channels: Int, rate: Int)
        case fails(FileProblem)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var expected: Expected
        /// Makes the file in the directory given, from a good file of the kind it needs.
        var make: @Sendable (URL) throws -> URL
        var testDescription: String { name }
    }

    /// Writes `bytes` as `name` in `directory`.
    static func file(_ name: String, _ bytes: Data, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    /// A good file of `format`, changed by `change`.
    static func mutated(_ format: AudioFileFormat, _ name: String, _ change: @escaping @Sendable (Data) -> Data) -> @Sendable (URL) throws -> URL {
        { directory in
            let bytes = try Data(contentsOf: try good(format, in: directory))
            return try file(name, change(bytes), in: directory)
        }
    }

    /// FLAC's STREAMINFO total-samples field (36 bits from byte 21 on) set to `total`.
    static func flacTotal(_ total: UInt64) -> @Sendable (Data) -> Data {
        { bytes in
            var bytes = bytes
            bytes[21] = (bytes[21] & 0xF0) | UInt8((total >> 32) & 0x0F)
            for (i, byte) in bigEndian(UInt32(truncatingIfNeeded: total)).enumerated() { bytes[22 + i] = byte }
            return bytes
        }
    }

    static let cases: [Case] = [
        Case(name: "good WAV", expected: .decodes(frames: frames, channels: 2, rate: 48000)) { try good(.wav, in: $0) },
        Case(name: "zero-length file", expected: .fails(.empty)) { try file("empty.wav", Data(), in: $0) },
        Case(name: "WAV cut in the middle of its data", expected: .fails(.truncated),
             make: mutated(.wav, "cut.wav") { $0.prefix($0.count / 2) }),
        Case(name: "WAV data chunk 1000 times too large", expected: .fails(.truncated),
             make: mutated(.wav, "big.wav") { bytes in
                 let data = offset(of: "data", in: bytes)
                 return patched(bytes, at: data + 4, littleEndian(UInt32(frames * 4 * 1000)))
             }),
        Case(name: "WAV of 0 Hz", expected: .fails(.corrupt),
             make: mutated(.wav, "0hz.wav") { patched($0, at: offset(of: "fmt ", in: $0) + 12, littleEndian(UInt32(0))) }),
        Case(name: "WAV of 0 channels", expected: .fails(.corrupt),
             make: mutated(.wav, "0ch.wav") { patched($0, at: offset(of: "fmt ", in: $0) + 10, littleEndian(UInt16(0))) }),
        Case(name: "WAV of 1 Hz", expected: .decodes(frames: frames, channels: 2, rate: 1)) { try good(.wav, rate: 1, in: $0) },
        Case(name: "WAV of 384 kHz", expected: .decodes(frames: frames, channels: 2, rate: 384_000)) {
            try good(.wav, rate: 384_000, in: $0)
        },
        Case(name: "WAV of 64 channels", expected: .decodes(frames: frames, channels: 64, rate: 48000)) {
            try good(.wav, channels: 64, in: $0)
        },
        Case(name: "RF64 data size 1000 times too large", expected: .fails(.truncated),
             make: mutated(.rf64, "big.rf64") { bytes in
                 let ds64 = offset(of: "ds64", in: bytes)
                 let patched1 = patched(bytes, at: ds64 + 16, littleEndian(UInt64(frames * 4 * 1000)))
                 return patched(patched1, at: ds64 + 24, littleEndian(UInt64(frames * 1000)))
             }),
        Case(name: "W64 data chunk 1000 times too large", expected: .fails(.truncated),
             make: mutated(.wav64, "big.w64") { bytes in
                 let data = offset(of: "data", in: bytes)
                 return patched(bytes, at: data + 16, littleEndian(UInt64(frames * 4 * 1000 + 24)))
             }),
        Case(name: "AIFF announcing 1000 times its frames", expected: .fails(.truncated),
             make: mutated(.aiff, "big.aiff") { bytes in
                 patched(bytes, at: offset(of: "COMM", in: bytes) + 10, bigEndian(UInt32(frames * 1000)))
             }),
        Case(name: "CAF data chunk 1000 times too large", expected: .fails(.corrupt),
             make: mutated(.caf, "big.caf") { bytes in
                 patched(bytes, at: offset(of: "data", in: bytes) + 4, bigEndian(Int64(frames * 4 * 1000 + 4)))
             }),
        Case(name: "FLAC of unannounced length", expected: .decodes(frames: frames, channels: 2, rate: 48000),
             make: mutated(.flac, "unknown.flac", flacTotal(0))),
        Case(name: "FLAC announcing 2^36 frames", expected: .fails(.truncated),
             make: mutated(.flac, "huge.flac", flacTotal((1 << 36) - 1))),
        Case(name: "FLAC of unannounced length cut short", expected: .fails(.truncated),
             make: mutated(.flac, "unknown-cut.flac") { flacTotal(0)($0).prefix($0.count / 2) }),
        Case(name: "FLAC cut short", expected: .fails(.truncated), make: mutated(.flac, "cut.flac") { $0.prefix($0.count / 2) }),
        Case(name: "noise that is no audio file", expected: .fails(.unsupported)) { directory in
            var rng = SplitMix(seed: 7)
            return try file("noise.wav", Data((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &rng) }), in: directory)
        },
        Case(name: "a directory", expected: .fails(.unreadable)) { directory in
            let url = directory.appendingPathComponent("folder.wav")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        },
        Case(name: "/dev/zero", expected: .fails(.unsupported)) { _ in URL(fileURLWithPath: "/dev/zero") },
        Case(name: "a missing file", expected: .fails(.missing)) { $0.appendingPathComponent("nothing.wav") },
    ]

    @Test(arguments: cases)
    func aHostileFileDecodesToWhatItHoldsOrGivesItsTypedError(_ testCase: Case) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try testCase.make(directory)
        let outcome: Result<AudioClip, AMIOError>
        do { outcome = .success(try await AudioClip(contentsOf: url)) } catch { outcome = .failure(error) }
        switch (testCase.expected, outcome) {
        case let (.decodes(frames, channels, rate), .success(clip)):
            #expect(clip.frameCount == frames && clip.channelCount == channels && clip.sampleRate == rate)
            // The samples are the ones written (16-bit exact), channel by channel.
            for channel in [0, channels - 1] {
                #expect(clip.samples(channel: channel) == Self.expectedSamples(channel: channel), "channel \(channel)")
            }
        case let (.fails(problem), .failure(.fileError(path, found, message))):
            #expect(found == problem, "\(message)")
            #expect(path == url.path)
        default:
            Issue.record("expected \(testCase.expected), got \(outcome)")
        }
    }

    /// What sox, ffmpeg and arecord write to a pipe: a header with a
    /// placeholder for the length it could not go back to fill in. Read to
    /// the end of the data, as sox reads it; not truncated. (Through a pipe
    /// sox's W64 reads back 52 frames long and its CAF empty, in sox too.)
    @Test(arguments: ["wav", "aiff"])
    func aFileWrittenToAPipeIsReadToItsEnd(type: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("piped.\(type)")
        let made = try run("sh", ["-c", "sox -n -t \(type) - synth 1 sine 440 | cat > '\(url.path)'"])
        try #require(made.status == 0, "\(made.output)")
        let clip = try await AudioClip(contentsOf: url)
        #expect(clip.frameCount == 48000, "\(type) through a pipe")
    }

    @Test func aWAVWithFFmpegsPipeSizesIsReadToItsEnd() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var bytes = try Data(contentsOf: try Self.good(.wav, in: directory))
        bytes = Self.patched(bytes, at: 4, Self.littleEndian(UInt32.max))
        bytes = Self.patched(bytes, at: Self.offset(of: "data", in: bytes) + 4, Self.littleEndian(UInt32.max))
        let url = try Self.file("ffmpeg.wav", bytes, in: directory)
        let clip = try await AudioClip(contentsOf: url)
        #expect(clip.frameCount == Self.frames)
    }

    /// A header claiming 2^36 frames costs the memory of the frames there.
    @Test func aLyingHeaderCostsOnlyTheMemoryOfWhatIsRead() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.mutated(.flac, "huge.flac", Self.flacTotal((1 << 36) - 1))(directory)
        let file = try AudioFile(forReading: url)
        #expect(file.frameCount == (1 << 36) - 1 && !file.frameCountIsBoundedBySize)
        // Read to the end by hand: the frames there, then the truncation.
        var read = 0
        var buffer = [Float](repeating: 0, count: 8192)
        do throws(AMIOError) {
            while true {
                let count = try buffer.withUnsafeMutableBufferPointer { buffer throws(AMIOError) in try file.read(into: buffer) }
                if count == 0 { break }
                read += count
            }
            Issue.record("no truncation reported")
        } catch {
            guard case let .fileError(_, problem, _) = error else { throw error }
            #expect(problem == .truncated)
        }
        #expect(read == Self.frames)
        // The process never held anything like 2^36 × 2 floats (512 GiB).
        let peak = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        #expect(peak < 8 << 20, "peak resident memory \(peak) kB")
    }

    /// Clip memory beyond what the machine has, or beyond any size, is an error to handle.
    @Test func clipMemoryBeyondTheMachineIsOutOfMemoryNotATrap() {
        #expect(throws: AMIOError.outOfMemory) { _ = try ClipStorage.allocate(frames: Int.max / 2, channels: 3) }
        #expect(throws: AMIOError.outOfMemory) { _ = try ClipStorage.allocate(frames: 1 << 44, channels: 64) }
        #expect(throws: AMIOError.outOfMemory) { _ = try ClipStorage.allocate(frames: -1, channels: 1) }
    }

    /// A rate beyond the converter's ratio limit (256) is the file's problem, not a bad argument.
    @Test func aFileWhoseRateCannotBeConvertedIsUnsupported() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.good(.wav, rate: 100, in: directory)
        do {
            let clip = try await AudioClip(contentsOf: url, resamplingTo: 48000)
            Issue.record("converted to \(clip.frameCount) frames")
        } catch let .fileError(path, problem, message) {
            #expect(path == url.path && problem == .unsupported, "\(message)")
        }
    }
}

/// Seeded mutations of good files' headers and lengths, for every container
/// the recorder writes: each loads as a clip or gives a typed file error;
/// nothing traps, hangs or allocates what a header claims.
@Suite struct FileHeaderFuzzTests {
    static let formats: [AudioFileFormat] = [.wav, .wav64, .rf64, .aiff, .caf, .flac]

    @Test(arguments: formats)
    func mutatedHeadersLoadOrGiveATypedError(format: AudioFileFormat) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try Data(contentsOf: try BadFileTests.good(format, in: directory))
        let seed: UInt64 = 0xF11E + UInt64(format.code)
        var rng = SplitMix(seed: seed)
        var loaded = 0, failed: [FileProblem: Int] = [:]
        let mutations = 500
        for index in 0..<mutations {
            var bytes = good
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: // a few bytes of the header set at random
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<min(128, bytes.count), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1: // a 32-bit field of the header set to an extreme
                let offset = Int.random(in: 0..<min(124, bytes.count - 4), using: &rng)
                let value: UInt32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF].randomElement(using: &rng)!
                for (i, byte) in withUnsafeBytes(of: value, Array.init).enumerated() { bytes[offset + i] = byte }
            case 2: // cut anywhere
                bytes = bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))
            default: // garbage appended after a cut
                bytes = bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))
                    + Data((0..<Int.random(in: 1...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            let url = directory.appendingPathComponent("mutant-\(index).\(format.name)")
            try bytes.write(to: url)
            do {
                let clip = try await AudioClip(contentsOf: url)
                #expect(clip.frameCount > 0 && clip.channelCount > 0)
                loaded += 1
            } catch let .fileError(path, problem, _) {
                #expect(path == url.path)
                failed[problem, default: 0] += 1
            } catch {
                Issue.record("mutation \(index) of \(format) (seed \(seed)): \(error)")
            }
            try? FileManager.default.removeItem(at: url)
        }
        print("fuzzed \(mutations) \(format) headers (seed \(seed)): \(loaded) loaded, "
              + failed.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ") + ", 0 crashes")
    }
}

/// Containers with 32-bit sizes hold 4 GiB of samples: a longer file is
/// refused before it is written, or ends with a valid file and an error.
@Suite struct FileSizeLimitTests {
    @Test func aWAVHoldsAtMostFourGiBAndALongerRenderIsRefusedUpFront() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = try AudioFileWriter(url: directory.appendingPathComponent("a.wav"), format: .wav, encoding: .float,
                                      channelCount: 2, sampleRate: 48000)
        #expect(wav.maximumFrames == (Int(UInt32.max) - 65536) / 8)
        try wav.close()
        let rf64 = try AudioFileWriter(url: directory.appendingPathComponent("a.rf64"), format: .rf64, encoding: .float,
                                       channelCount: 2, sampleRate: 48000)
        #expect(rf64.maximumFrames == nil)
        try rf64.close()

        let session = directory.appendingPathComponent("long.json")
        let text = try String(contentsOf: exampleSessions.appendingPathComponent("drum-loop.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"length\": \"0:08\"", with: "\"length\": \"4:00:00\"")
            .replacingOccurrences(of: "audio/", with: directory.path + "/audio/")
        try text.write(to: session, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("long.wav")
        let loaded = try Session(contentsOf: session)
        let outcome: AMIOError?
        do {
            try await loaded.render(to: output, encoding: .float)
            outcome = nil
        } catch {
            outcome = error
        }
        guard case let .fileError(path, problem, message)? = outcome else {
            Issue.record("a 4-hour float stereo WAV: \(String(describing: outcome))")
            return
        }
        #expect(path == output.path && problem == .unsupported, "\(message)")
        #expect(message.contains("RF64"))
        #expect(!FileManager.default.fileExists(atPath: output.path), "nothing left behind")
    }
}
