@testable import AMIO
import Foundation
import Testing

@Suite struct FileWritingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var format: AudioFileFormat
        var encoding: AudioFileEncoding
        var tolerance: Float
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "pcm16.wav", format: .wav, encoding: .pcm16, tolerance: 1.0 / 65536),
        Case(file: "pcm24.wav", format: .wav, encoding: .pcm24, tolerance: 1.0 / 16_777_216),
        Case(file: "pcm32.wav", format: .wav, encoding: .pcm32, tolerance: 1e-9),
        Case(file: "float.wav", format: .wav, encoding: .float, tolerance: 0),
        Case(file: "pcm16.aiff", format: .aiff, encoding: .pcm16, tolerance: 1.0 / 65536),
        Case(file: "pcm24.aiff", format: .aiff, encoding: .pcm24, tolerance: 1.0 / 16_777_216),
        Case(file: "pcm32.aiff", format: .aiff, encoding: .pcm32, tolerance: 1e-9),
        Case(file: "float.aiff", format: .aiff, encoding: .float, tolerance: 0),
        Case(file: "pcm16.flac", format: .flac, encoding: .pcm16, tolerance: 1.0 / 65536),
        Case(file: "pcm24.flac", format: .flac, encoding: .pcm24, tolerance: 1.0 / 16_777_216),
        Case(file: "vorbis.ogg", format: .ogg, encoding: .vorbis, tolerance: 0.05),
    ]

    /// The encoding a name implies when none is chosen: the preferred one
    /// where the container takes it, else what the container is made for;
    /// every one it gives can be written there.
    @Test func aFileNameImpliesAnEncodingItsContainerTakes() throws {
        let cases: [(String, AudioFileEncoding, AudioFileEncoding?)] = [
            ("a.wav", .float, .float), ("a.WAV", .pcm16, .pcm16), ("a.flac", .float, .pcm24), ("a.flac", .pcm16, .pcm16),
            ("a.ogg", .float, .vorbis), ("a.oga", .pcm24, .vorbis), ("a.opus", .float, .opus), ("a.mp3", .pcm16, .mp3),
            ("a.aiff", .double, .double), ("a.caf", .float, .float), ("a.au", .float, .float), ("a.xyz", .float, nil), ("a", .float, nil),
        ]
        for (name, preferred, expected) in cases {
            let url = URL(fileURLWithPath: "/tmp/\(name)")
            let encoding = AudioFileEncoding.default(forFileNamed: url, preferring: preferred)
            #expect(encoding == expected, "\(name) preferring \(preferred): \(encoding.map(String.init(describing:)) ?? "nil")")
            if let encoding, let format = AudioFileFormat(fileExtensionOf: url) { #expect(format.supports(encoding)) }
        }
    }

    @Test(arguments: cases)
    func writtenFilesAreWhatSoxAndWeReadBack(_ testCase: Case) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let signal = knownSignal(frames: 48000).map { $0.map { $0 * 0.75 } }
        let url = directory.appendingPathComponent(testCase.file)
        try AudioClip(channels: signal, sampleRate: 48000).write(to: url, format: testCase.format, encoding: testCase.encoding)

        let info = try SoxInfo(url.path)
        #expect(info.channels == 2 && info.sampleRate == 48000)
        #expect(info.samples == 48000)
        let stat = try SoxStat(url.path)
        let slack = testCase.encoding == .vorbis ? 0.03 : 0.0001
        #expect(abs(stat.maximum - 0.75 * 127 / 128) < slack, "peak \(stat.maximum)")
        #expect(abs(stat.minimum + 0.75) < slack, "trough \(stat.minimum)")

        let (file, samples) = try readAll(url)
        #expect(file.format == testCase.format && file.encoding == testCase.encoding)
        let difference = testCase.encoding == .vorbis
            ? maxDifference([Array(samples[1][2000..<46000])], [Array(signal[1][2000..<46000])])
            : maxDifference(samples, signal)
        #expect(difference <= testCase.tolerance, "\(testCase.file): \(difference)")
    }

    @Test func integerEncodingsClipInsteadOfWrappingAround() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hot = try AudioClip(channels: [[1.5, -2, 0.5, 1, -1, 40]], sampleRate: 48000)
        for encoding in [AudioFileEncoding.pcm16, .pcm24, .pcm32] {
            let url = directory.appendingPathComponent("hot-\(encoding).wav")
            try hot.write(to: url, encoding: encoding)
            let samples = try readAll(url).samples[0]
            #expect(samples[0] > 0.999 && samples[1] <= -0.999 && samples[5] > 0.999, "\(encoding): \(samples)")
            #expect(abs(samples[2] - 0.5) < 1e-4)
        }
        let dithered = directory.appendingPathComponent("hot-dithered.wav")
        try hot.write(to: dithered, encoding: .pcm16, dither: true)
        let samples = try readAll(dithered).samples[0]
        #expect(samples[0] > 0.999 && samples[1] <= -0.999, "dither clips too: \(samples)")
    }

    @Test func ditherKeepsSignalsBelowOneStepAudible() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A 1 kHz sine of 0.4 of one 16-bit step: rounding alone turns it into silence.
        let step = 1.0 / 32768.0
        let quiet = (0..<48000).map { Float(0.4 * step * sin(2 * Double.pi * 1000 * Double($0) / 48000)) }
        let clip = try AudioClip(channels: [quiet], sampleRate: 48000)
        let plain = directory.appendingPathComponent("plain.wav"), dithered = directory.appendingPathComponent("dithered.wav")
        try clip.write(to: plain, encoding: .pcm16)
        try clip.write(to: dithered, encoding: .pcm16, dither: true)
        #expect(try readAll(plain).samples[0].allSatisfy { $0 == 0 })
        let noisy = try readAll(dithered).samples[0]
        // Correlating with the sine recovers it: dither turns the lost detail into noise, not silence.
        let correlation = zip(noisy, quiet).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let energy = quiet.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(correlation / energy - 1) < 0.15, "gain \(correlation / energy)")
        #expect(noisy.map { abs($0) }.max()! <= Float(3 * step), "TPDF noise stays within ±1 step plus the signal")
    }

    @Test func unwritableTargetsAreTypedErrors() throws {
        let clip = try AudioClip(channels: [[0, 0.5]], sampleRate: 48000)
        #expect(throws: AMIOError.self) {
            try clip.write(to: URL(fileURLWithPath: "/tmp/x.flac"), format: .flac, encoding: .float)
        }
        do {
            try clip.write(to: URL(fileURLWithPath: "/nonexistent-dir/take.wav"))
            Issue.record("wrote into a missing directory")
        } catch {
            guard case .fileError(_, .writeFailed, _) = error else { Issue.record("\(error)"); return }
        }
        // /dev/full takes the header, then fails the first write of samples.
        let big = try AudioClip(channels: [[Float](repeating: 0.25, count: 100_000)], sampleRate: 48000)
        do {
            try big.write(to: URL(fileURLWithPath: "/dev/full"), format: .wav, encoding: .float)
            Issue.record("wrote 400 kB to /dev/full")
        } catch {
            guard case let .fileError(path, .writeFailed, message) = error else { Issue.record("\(error)"); return }
            #expect(path == "/dev/full")
            #expect(!message.isEmpty)
        }
    }

    /// A pipe (here a FIFO that sox reads) takes WAV, FLAC, AU and the rest
    /// as streams, and sox reads every sample back; a container whose header
    /// must be completed at the end is refused with a typed error, not written broken.
    @Test(arguments: [(AudioFileFormat.wav, AudioFileEncoding.pcm16, "wav"), (.wav, .float, "wav"), (.wav, .pcm24, "wav"),
                      (.wavExtensible, .pcm24, "wav"), (.flac, .pcm24, "flac"), (.au, .pcm16, "au"), (.ogg, .vorbis, "ogg")])
    func pipesTakeStreamsSoxReadsToTheEnd(format: AudioFileFormat, encoding: AudioFileEncoding, soxType: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let reader = try ChildProcess(try JackServer.locate("sox"), ["-t", soxType, fifo.path, "-n", "stat"])
        let clip = try AudioClip(channels: [(0..<48000).map { Float($0 % 100) / 200 }, [Float](repeating: 0.25, count: 48000)],
                                 sampleRate: 48000)
        try clip.write(to: fifo, format: format, encoding: encoding)
        let result = try reader.waitForExit(within: 30)
        #expect(result.status == 0 && result.err.contains("Samples read:             96000"), "\(result.err)")
        #expect(!result.err.contains("FAIL") && !result.err.contains("Premature EOF"), "\(result.err)")
    }

    @Test func aHeaderWrittenLastCannotGoDownAPipe() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let reader = try ChildProcess(try JackServer.locate("cat"), [fifo.path])
        let clip = try AudioClip(channels: [[0, 0.5]], sampleRate: 48000)
        let error = #expect(throws: AMIOError.self) { try clip.write(to: fifo, format: .caf, encoding: .float) }
        guard case let .fileError(_, .unsupported, message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.contains("caf cannot be written to a pipe") && message.contains("wav, flac"), "\(message)")
        _ = try reader.waitForExit(within: 30)
    }

    /// The header walk that gives a piped WAV sox's placeholder length:
    /// the RIFF size and the data chunk's, found past any chunk before it.
    @Test func aPipedWAVHeaderAnnouncesSoxsPlaceholderLength() {
        func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var header = Array("RIFF".utf8) + le(36) + Array("WAVEfmt ".utf8) + le(16) + [UInt8](repeating: 1, count: 16)
            + Array("fact".utf8) + le(5) + [UInt8](repeating: 2, count: 6) + Array("data".utf8) + le(0)
        let dataSizeAt = header.count - 4
        PipeStream.announceUnknownLength(in: &header)
        #expect(Array(header[dataSizeAt...]) == le(PipeStream.placeholderDataBytes))
        #expect(Array(header[4..<8]) == le(PipeStream.placeholderDataBytes + UInt32(dataSizeAt - 4)))
        var truncated = Array(header.prefix(30))
        let before = truncated
        PipeStream.announceUnknownLength(in: &truncated)
        #expect(truncated == before, "a header cut before its data chunk is left alone")
    }
}

@Suite struct ResamplingTests {
    static let pairs: [(Int, Int)] = [(44100, 48000), (48000, 44100), (48000, 96000), (96000, 48000), (44100, 96000), (96000, 44100)]

    @Test(arguments: pairs)
    func lengthsAreExactAndClicksLandWhereTheyShould(from: Int, to: Int) throws {
        let frames = 30_001
        let clicks = [0, 1, 777, 12_345, 29_000]
        var signal = [Float](repeating: 0, count: frames)
        for click in clicks { signal[click] = 1 }
        let clip = try AudioClip(channels: [signal, signal.map { -$0 }], sampleRate: from)
        let ratio = Double(to) / Double(from)
        for quality in ResamplingQuality.allCases {
            let out = try clip.resampled(to: to, quality: quality)
            #expect(out.sampleRate == to && out.channelCount == 2)
            #expect(out.frameCount == Int((Double(frames) * ratio).rounded()), "\(quality) \(from)→\(to)")
            let samples = out.samples(channel: 0)
            // Linear interpolation does not band-limit: downsampling, a one-sample
            // click between two output instants is skipped, not moved. Its timing is
            // checked where every input frame reaches the output.
            if quality == .linear && ratio < 1 { continue }
            for click in clicks where click > 20 && click < frames - 200 {
                let expected = Int((Double(click) * ratio).rounded())
                let window = max(0, expected - 40)..<min(samples.count, expected + 40)
                let peak = window.max { samples[$0] < samples[$1] }!
                #expect(abs(peak - expected) <= 1, "\(quality) \(from)→\(to): click \(click) at \(peak), expected \(expected)")
            }
            #expect(out.samples(channel: 1).first == -samples.first!)
        }
    }

    func sine(_ frequency: Double, rate: Int, seconds: Double = 1, amplitude: Double = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    func rms<C: Collection<Float>>(_ samples: C) -> Double {
        (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    @Test(arguments: pairs)
    func aSineKeepsItsFrequencyAndLevel(from: Int, to: Int) throws {
        let clip = try AudioClip(channels: [sine(1000, rate: from)], sampleRate: from)
        let out = try clip.resampled(to: to).samples(channel: 0)
        let middle = out[out.count / 10 ..< out.count * 9 / 10]
        #expect(abs(rms(middle) - 0.5 / 2.0.squareRoot()) < 0.001)
        let crossings = zip(middle, middle.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count
        #expect(abs(Double(crossings) - 1000 * Double(middle.count) / Double(to)) <= 1)
    }

    /// The worst difference from the analytic sine, at amplitude 0.5, that each
    /// quality is held to away from the clip's edges (where the abrupt start and
    /// end ring), about 3× the worst measured over the five rate pairs below:
    /// VHQ (`.best`) 1.4e-7, HQ 4e-7, MQ 4.5e-6, and cubic interpolation
    /// (`.linear`) 7.7e-5, worst when upsampling from 22.05 kHz.
    static let sineTolerance: [ResamplingQuality: Double] = [.best: 5e-7, .medium: 1.5e-6, .fastest: 1.5e-5, .linear: 2.5e-4]

    @Test(arguments: [(44100, 48000), (48000, 44100), (96000, 48000), (22050, 48000), (44100, 37123)])
    func aSineConvertedIsTheAnalyticSineAtTheNewRate(from: Int, to: Int) throws {
        let frequency = 1000.0
        let clip = try AudioClip(channels: [sine(frequency, rate: from)], sampleRate: from)
        for quality in ResamplingQuality.allCases {
            let out = try clip.resampled(to: to, quality: quality).samples(channel: 0)
            #expect(out.count == Int((Double(clip.frameCount) * Double(to) / Double(from)).rounded()))
            var worst = 0.0
            for frame in to / 20 ..< out.count - to / 20 {
                let expected = 0.5 * sin(2 * Double.pi * frequency * Double(frame) / Double(to))
                worst = max(worst, abs(Double(out[frame]) - expected))
            }
            #expect(worst <= Self.sineTolerance[quality]!, "\(quality) \(from)→\(to): off the sine by \(worst)")
        }
    }

    @Test func aTwentyKilohertzToneDoesNotAliasIntoTheLowerRate() throws {
        let clip = try AudioClip(channels: [sine(20_000, rate: 48000, seconds: 2)], sampleRate: 48000)
        let out = try clip.resampled(to: 22050, quality: .best).samples(channel: 0)
        // Away from the edges, where the filter has settled, everything left is alias.
        let settled = out[2000 ..< out.count - 2000]
        let level = 20 * log10(rms(settled) / (0.5 / 2.0.squareRoot()))
        #expect(level < -90, "alias at \(level) dB")
        let linear = try clip.resampled(to: 22050, quality: .linear).samples(channel: 0)
        #expect(20 * log10(rms(linear[2000 ..< linear.count - 2000]) / (0.5 / 2.0.squareRoot())) > -60,
                "linear interpolation aliases: the measurement can tell")
    }

    /// Split into time segments on many threads, the conversion equals one pass
    /// within a stated tolerance.
    @Test(arguments: [(44100, 48000), (48000, 44100), (96000, 22050), (44100, 48001)])
    func parallelSegmentsEqualOnePass(from: Int, to: Int) throws {
        var rng = SeededGenerator(seed: 11)
        let noise = (0..<2).map { _ in (0..<200_000).map { _ in Float.random(in: -1...1, using: &rng) } }
        let clip = try AudioClip(channels: noise, sampleRate: from)
        for quality in ResamplingQuality.allCases {
            let single = try clip.resampled(to: to, quality: quality, workers: 1)
            let split = try clip.resampled(to: to, quality: quality, workers: 7)
            let plan = ResamplingPlan(frames: 200_000, from: from, to: to, quality: quality, workers: 7)
            #expect(plan.segments.count > 1 || from == 44100 && to == 48001, "\(from)→\(to) was not split")
            #expect(split.frameCount == single.frameCount)
            var worst: Float = 0
            for channel in 0..<2 {
                for (a, b) in zip(single.samples(channel: channel), split.samples(channel: channel)) { worst = max(worst, abs(a - b)) }
            }
            // libsoxr's filters match one pass to float rounding (its FFT blocks fall
            // elsewhere in each segment); its cubic interpolation (.linear) differs by
            // up to 2e-5 of full scale (measured), as each segment's converter
            // accumulates its own output positions.
            let tolerance: Float = quality == .linear ? 1e-4 : 1e-5
            #expect(worst < tolerance, "\(quality) \(from)→\(to): seams differ by \(worst)")
        }
    }

    @Test func impossibleRatiosAreTypedErrors() throws {
        let clip = try AudioClip(channels: [[0, 1, 0]], sampleRate: 48000)
        #expect(throws: AMIOError.self) { try clip.resampled(to: 48) }
        #expect(throws: AMIOError.self) { try clip.resampled(to: 0) }
        #expect(try clip.resampled(to: 48000).frameCount == 3)
    }
}
