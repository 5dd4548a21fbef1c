// Throughput of file decoding, resampling and mixing, and the same 10-minute
// conversion done by SwiftAMIO and by sox, side by side in one run; then the
// realtime core against its goals (OneShotPositions, ClipBandwidth,
// SplitPeriods, IdleClientCost), whose figures scripts/benchmark.sh
// tabulates at the end.

import AMIO
import Benchmark
import Foundation

/// Test material made once per run with sox: 10 minutes of 44.1 kHz stereo FLAC.
enum Material {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("amio-benchmarks-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static let tenMinutesFLAC: URL = {
        let url = directory.appendingPathComponent("ten-minutes-44k.flac")
        run("sox", ["-n", "-r", "44100", "-c", "2", "-b", "16", url.path, "synth", "600", "sine", "440", "sine", "661", "vol", "0.5"])
        return url
    }()

    /// A conversion cache of this run's own, so that the cached benchmarks
    /// neither read nor fill the user's.
    static let cache: ConversionCache = {
        try! ConversionCache(directory: directory.appendingPathComponent("cache"), maximumBytes: 8 << 30)
    }()

    /// Converts the FLAC to 48 kHz at `quality` into ``cache`` (a benchmark's
    /// setup; its teardown empties the cache, 230 MB an entry).
    static func warmCache(_ quality: ResamplingQuality) async throws {
        _ = try await AudioClip(contentsOf: tenMinutesFLAC, resamplingTo: 48000, quality: quality, cache: cache)
    }

    static let oneMinute: AudioClip = {
        let frames = 44100 * 60
        let left = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / 44100)) }
        let right = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 661 * Double($0) / 44100)) }
        return try! AudioClip(channels: [left, right], sampleRate: 44100)
    }()

    static func run(_ tool: String, _ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "\(tool) \(arguments) failed")
    }
}

/// The seconds since `start`, for ``Figures``.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident],
                                           maxDuration: .seconds(120), maxIterations: 3)

    // The same conversion both ways: a 10-minute 44.1 kHz stereo FLAC to a
    // 48 kHz float WAV. SwiftAMIO: libsndfile + libsoxr; sox: its own FLAC
    // decoder and `rate`, at the same libsoxr recipe (VHQ, HQ, MQ). Cold
    // without the conversion cache; cached with it filled beforehand.
    for (quality, soxQuality) in [(ResamplingQuality.best, "-v"), (.medium, "-h"), (.fastest, "-m")] {
        Benchmark("Convert 10 min FLAC 44.1k → 48k float WAV: SwiftAMIO (.\(quality))") { benchmark in
            let output = Material.directory.appendingPathComponent("amio-48k-\(quality).wav")
            benchmark.startMeasurement()
            let clip = try await AudioClip(contentsOf: Material.tenMinutesFLAC, resamplingTo: 48000, quality: quality,
                                           cache: nil)
            try clip.write(to: output, encoding: .float)
            benchmark.stopMeasurement()
        }
        if quality != .fastest {
            Benchmark("Convert 10 min FLAC 44.1k → 48k float WAV: SwiftAMIO (.\(quality), cached)", closure: { benchmark in
                let output = Material.directory.appendingPathComponent("amio-48k-\(quality)-cached.wav")
                benchmark.startMeasurement()
                let clip = try await AudioClip(contentsOf: Material.tenMinutesFLAC, resamplingTo: 48000, quality: quality,
                                               cache: Material.cache)
                try clip.write(to: output, encoding: .float)
                benchmark.stopMeasurement()
            }, setup: { try await Material.warmCache(quality) }, teardown: { try Material.cache.removeAll() })
        }
        Benchmark("Convert 10 min FLAC 44.1k → 48k float WAV: sox rate \(soxQuality)") { benchmark in
            let output = Material.directory.appendingPathComponent("sox-48k\(soxQuality).wav")
            let input = Material.tenMinutesFLAC
            benchmark.startMeasurement()
            Material.run("sox", [input.path, "-e", "floating-point", "-b", "32", output.path, "rate", soxQuality, "48000"])
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Decode 10 min FLAC 44.1k stereo") { benchmark in
        let input = Material.tenMinutesFLAC
        let started = ContinuousClock.now
        benchmark.startMeasurement()
        blackHole(try await AudioClip(contentsOf: input).frameCount)
        benchmark.stopMeasurement()
        if benchmark.isMeasuredRound { Figures.record("cache.decode_s", seconds(since: started)) }
    }

    // Issue 12's goal: loading the converted clip back costs no more than
    // decoding the FLAC does.
    Benchmark("Load 10 min FLAC 44.1k → 48k from the cache", closure: { benchmark in
        let started = ContinuousClock.now
        benchmark.startMeasurement()
        blackHole(try await AudioClip(contentsOf: Material.tenMinutesFLAC, resamplingTo: 48000, cache: Material.cache).frameCount)
        benchmark.stopMeasurement()
        if benchmark.isMeasuredRound { Figures.record("cache.load_s", seconds(since: started)) }
    }, setup: { try await Material.warmCache(.best) }, teardown: { try Material.cache.removeAll() })

    for quality in ResamplingQuality.allCases {
        Benchmark("Resample 60 s stereo 44.1k → 48k: \(quality)") { benchmark in
            let clip = Material.oneMinute
            benchmark.startMeasurement()
            blackHole(try clip.resampled(to: 48000, quality: quality).frameCount)
            benchmark.stopMeasurement()
        }
    }

    // The realtime mixer, run by the offline driver: 256 looping stereo clips,
    // 10 s at 48 kHz in 256-frame periods.
    Benchmark("Mix 256 looping stereo clips, 10 s in 256-frame periods") { benchmark in
        let renderer = try OfflineRenderer(sampleRate: 48000, outputChannels: 2)
        let clip = try AudioClip(channels: [[Float](repeating: 0.1, count: 2400), [Float](repeating: 0.2, count: 2400)],
                                 sampleRate: 48000)
        try renderer.setPlayspec(Playspec((0..<256).map {
            PlayspecEntry(clip: clip, playAt: Int64($0 * 97 % 24000), repeatInterval: 24000, gains: [0.01, 0.01])
        }))
        try renderer.setTransportRolling(true)
        benchmark.startMeasurement()
        for _ in 0..<(480_000 / 256) { blackHole(try renderer.render(frames: 256)) }
        benchmark.stopMeasurement()
    }

    oneShotPositionBenchmarks()
    clipBandwidthBenchmarks()
    splitPeriodBenchmarks()
    shapedMixingBenchmarks()
    idleClientBenchmarks()
    firstSoundBenchmarks()
}
