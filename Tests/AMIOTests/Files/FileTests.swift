@testable import AMIO
import Foundation
import Testing

/// Two channels with known values: a ramp over every 8-bit step and a 997 Hz sine.
func knownSignal(frames: Int = 4800) -> [[Float]] {
    let ramp = (0..<frames).map { Float($0 % 256 - 128) / 128 }
    let sine = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 997 * Double($0) / 48000)) }
    return [ramp, sine]
}

func interleave(_ channels: [[Float]]) -> [Float] {
    (0..<channels[0].count).flatMap { frame in channels.map { $0[frame] } }
}

/// The largest difference between two planar signals over their common length.
func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
    zip(a, b).map { x, y in zip(x, y).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

/// Every frame of `url`, read block by block to the end (a file that ends
/// too soon throws on the read after its last frames).
func readAll(_ url: URL) throws(AMIOError) -> (file: AudioFile, samples: [[Float]]) {
    let file = try AudioFile(forReading: url)
    var samples = [[Float]](repeating: [], count: file.channelCount)
    while true {
        let block = try file.read(maxFrames: 65536)
        guard let first = block.first, !first.isEmpty else { break }
        for channel in samples.indices { samples[channel] += block[channel] }
    }
    return (file, samples)
}

@Suite struct FileReadingTests {
    /// Headerless samples read back as written once described; a
    /// description libsndfile cannot read raw is refused before it opens anything.
    @Test(arguments: [AudioFileEncoding.pcm16, .pcm24, .float])
    func rawSamplesReadBackWithTheirDescription(encoding: AudioFileEncoding) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("samples.raw")
        let clip = try AudioClip(channels: [[0.5, -0.25, 0, 0.125], [0.75, 0.5, -0.5, 0]], sampleRate: 44100)
        try clip.write(to: url, format: .raw, encoding: encoding)
        let format = RawAudioFormat(sampleRate: 44100, channelCount: 2, encoding: encoding)
        let file = try AudioFile(forReading: url, raw: format)
        #expect(file.format == .raw && file.frameCount == 4 && file.channelCount == 2 && file.sampleRate == 44100)
        let loaded = try await AudioClip(contentsOf: url, raw: format, resamplingTo: 44100)
        #expect(loaded.samples(channel: 0) == clip.samples(channel: 0) && loaded.samples(channel: 1) == clip.samples(channel: 1))
        for bad in [RawAudioFormat(sampleRate: 0, channelCount: 2, encoding: encoding),
                    RawAudioFormat(sampleRate: 44100, channelCount: 0, encoding: encoding),
                    RawAudioFormat(sampleRate: 44100, channelCount: 2, encoding: .vorbis)] {
            let error = #expect(throws: AMIOError.self) { try AudioFile(forReading: url, raw: bad) }
            guard case .invalidArgument = error else { Issue.record("\(String(describing: error))"); continue }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var soxArguments: [String]
        var format: AudioFileFormat
        var encoding: AudioFileEncoding
        var tolerance: Float
        var testDescription: String { file }
    }

    /// sox converts through 32-bit integers, so even its float files carry that rounding (2^-31 of full scale,
    /// plus Float32's own rounding of the original values).
    static let soxInternal: Float = 6e-8

    static let lossless: [Case] = [
        Case(file: "u8.wav", soxArguments: ["-e", "unsigned", "-b", "8"], format: .wav, encoding: .pcmU8, tolerance: 1.0 / 128),
        Case(file: "s16.wav", soxArguments: ["-e", "signed", "-b", "16"], format: .wav, encoding: .pcm16, tolerance: 1.0 / 32768),
        Case(file: "s24.wav", soxArguments: ["-e", "signed", "-b", "24"], format: .wav, encoding: .pcm24, tolerance: 1.0 / 8_388_608),
        Case(file: "s32.wav", soxArguments: ["-e", "signed", "-b", "32"], format: .wav, encoding: .pcm32, tolerance: 1e-7),
        Case(file: "f32.wav", soxArguments: ["-e", "float", "-b", "32"], format: .wav, encoding: .float, tolerance: Self.soxInternal),
        Case(file: "f64.wav", soxArguments: ["-e", "float", "-b", "64"], format: .wav, encoding: .double, tolerance: Self.soxInternal),
        Case(file: "s16.w64", soxArguments: ["-e", "signed", "-b", "16"], format: .wav64, encoding: .pcm16, tolerance: 1.0 / 32768),
        Case(file: "s16.aiff", soxArguments: ["-e", "signed", "-b", "16"], format: .aiff, encoding: .pcm16, tolerance: 1.0 / 32768),
        Case(file: "s24.aiff", soxArguments: ["-e", "signed", "-b", "24"], format: .aiff, encoding: .pcm24, tolerance: 1.0 / 8_388_608),
        Case(file: "s32.aiff", soxArguments: ["-e", "signed", "-b", "32"], format: .aiff, encoding: .pcm32, tolerance: 1e-7),
        Case(file: "s16.caf", soxArguments: ["-e", "signed", "-b", "16"], format: .caf, encoding: .pcm16, tolerance: 1.0 / 32768),
        Case(file: "f32.caf", soxArguments: ["-e", "float", "-b", "32"], format: .caf, encoding: .float, tolerance: Self.soxInternal),
        Case(file: "s16.flac", soxArguments: ["-b", "16"], format: .flac, encoding: .pcm16, tolerance: 1.0 / 32768),
        Case(file: "s24.flac", soxArguments: ["-b", "24"], format: .flac, encoding: .pcm24, tolerance: 1.0 / 8_388_608),
    ]

    @Test(arguments: lossless)
    func soxMadeFilesReadBackWithTheirExactValues(_ testCase: Case) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let signal = knownSignal()
        let raw = directory.appendingPathComponent("in.f32")
        try writeRaw(interleave(signal), to: raw)
        let path = directory.appendingPathComponent(testCase.file).path
        // -D: no dither, so the quantised values are exactly predictable.
        try run("sox", ["-D", "-t", "f32", "-r", "48000", "-c", "2", raw.path] + testCase.soxArguments + [path])
        let (file, samples) = try readAll(URL(fileURLWithPath: path))
        // sox writes WAVE_FORMAT_EXTENSIBLE above 16 bits.
        #expect(file.format == testCase.format || (testCase.format == .wav && file.format == .wavExtensible))
        #expect(file.encoding == testCase.encoding)
        #expect(file.frameCount == 4800 && file.channelCount == 2 && file.sampleRate == 48000)
        #expect(maxDifference(samples, signal) <= testCase.tolerance, "\(testCase.file): \(maxDifference(samples, signal))")
    }

    /// Lossy files: the right length (give or take codec padding), the sine's level and pitch.
    @Test(arguments: ["vorbis.ogg", "lame.mp3", "opusenc.opus"])
    func lossyFilesDecodeToTheSignal(_ name: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = directory.appendingPathComponent("sine.wav").path
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", wav, "synth", "2", "sine", "1000", "vol", "0.5")
        let path = directory.appendingPathComponent(name).path
        switch name {
        case "opusenc.opus": try #require(try run("opusenc", ["--quiet", wav, path]).status == 0)
        default: try sox(wav, path)
        }
        let (file, samples) = try readAll(URL(fileURLWithPath: path))
        #expect([AudioFileFormat.ogg, .mp3].contains(file.format))
        #expect([AudioFileEncoding.vorbis, .mp3, .opus].contains(file.encoding))
        #expect(abs(file.frameCount! - 96000) < 2400, "\(name): \(file.frameCount!) frames")
        let middle = samples[0][12000..<84000]
        let rms = (middle.reduce(0) { $0 + Double($1 * $1) } / Double(middle.count)).squareRoot()
        #expect(abs(rms - 0.5 / 2.0.squareRoot()) < 0.02, "\(name): rms \(rms)")
        let crossings = zip(middle, middle.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count
        #expect(abs(crossings - 1500) <= 2, "\(name): \(crossings) rising zero crossings in 1.5 s")
    }

    @Test func streamingReadsAndSeeksGiveTheSameSamples() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let signal = knownSignal(frames: 100_000)
        let url = directory.appendingPathComponent("long.flac")
        try AudioClip(channels: signal, sampleRate: 48000).write(to: url, encoding: .pcm24)
        let whole = try readAll(url).samples
        let file = try AudioFile(forReading: url)
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<50 {
            let start = Int.random(in: 0..<100_000, using: &rng)
            try file.seek(to: start)
            let block = try file.read(maxFrames: Int.random(in: 1...5000, using: &rng))
            #expect(file.position == start + block[0].count)
            #expect(block[1] == Array(whole[1][start..<start + block[1].count]))
        }
        try file.seek(to: 100_000)
        #expect(try file.read(maxFrames: 10)[0].isEmpty)
        #expect(throws: AMIOError.self) { try file.seek(to: 100_001) }
    }

    @Test func loadingReportsProgressAndHonoursCancellation() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("progress.wav")
        try AudioClip(channels: knownSignal(frames: 300_000), sampleRate: 48000).write(to: url, encoding: .float)
        let reports = Counter()
        let clip = try await AudioClip(contentsOf: url) { _ in reports.increment() }
        #expect(clip.frameCount == 300_000 && clip.channelCount == 2)
        #expect(reports.value >= 4)
        let task = Task { try await AudioClip(contentsOf: url, resamplingTo: 96000) }
        task.cancel()
        await #expect(throws: AMIOError.cancelled) { try await task.value }
    }
}

@Suite struct FileErrorTests {
    func problem(_ url: URL) -> FileProblem? {
        do {
            _ = try AudioFile(forReading: url)
            return nil
        } catch {
            guard case let .fileError(path, problem, message) = error else { return nil }
            #expect(path == url.path)
            #expect(!message.isEmpty)
            return problem
        }
    }

    @Test func everyBadFileHasItsTypedError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(problem(directory.appendingPathComponent("missing.wav")) == .missing)

        let empty = directory.appendingPathComponent("empty.wav")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        #expect(problem(empty) == .empty)

        let text = directory.appendingPathComponent("text.wav")
        try Data("this is not audio".utf8).write(to: text)
        #expect(problem(text) == .unsupported)

        let full = directory.appendingPathComponent("full.wav")
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", full.path, "synth", "1", "sine", "440")
        let data = try Data(contentsOf: full)
        let truncated = directory.appendingPathComponent("truncated.wav")
        try data.prefix(50_000).write(to: truncated)
        #expect(problem(truncated) == .truncated)

        let fullAIFF = directory.appendingPathComponent("full.aiff")
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", fullAIFF.path, "synth", "1", "sine", "440")
        let truncatedAIFF = directory.appendingPathComponent("truncated.aiff")
        try Data(contentsOf: fullAIFF).prefix(50_000).write(to: truncatedAIFF)
        #expect(problem(truncatedAIFF) == .truncated)

        let noFrames = directory.appendingPathComponent("header-only.wav")
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", noFrames.path, "trim", "0", "0")
        #expect(problem(noFrames) == .empty)

        // A FLAC stream whose frames are damaged: decoding fails part-way.
        let flac = directory.appendingPathComponent("damaged.flac")
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", flac.path, "synth", "3", "noise")
        var bytes = [UInt8](try Data(contentsOf: flac))
        for i in stride(from: bytes.count / 3, to: bytes.count, by: 7) { bytes[i] ^= 0x5A }
        try Data(bytes).write(to: flac)
        let damaged: Result<[[Float]], AMIOError> = {
            do throws(AMIOError) { return .success(try readAll(flac).samples) } catch { return .failure(error) }
        }()
        if case let .failure(.fileError(_, problem, _)) = damaged {
            #expect([.corrupt, .truncated].contains(problem))
        } else {
            Issue.record("a damaged FLAC file read without error")
        }
    }

    @Test func loadingAMissingFileThrowsTheTypedError() async throws {
        await #expect(throws: AMIOError.fileError(path: "/nonexistent/take.wav", problem: .missing,
                                                  message: "System error : No such file or directory.")) {
            _ = try await AudioClip(contentsOf: URL(fileURLWithPath: "/nonexistent/take.wav"))
        }
    }
}
