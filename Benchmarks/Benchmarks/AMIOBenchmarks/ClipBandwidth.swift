// The mixer's appetite for clip memory: 4096 distinct stereo clips, 3 GB in
// all (ten times this machine's 300 MiB L3), all looping, so every period
// streams a fresh slice of every clip from DRAM. Each iteration mixes one
// whole loop of every clip through the offline driver and then reads the
// same bytes with a plain loop, alternately, so the two share the machine's
// state of the moment and the ratio holds on a noisy machine.

import AMIO
import Benchmark
import CPlainRead
import Foundation

/// 4096 stereo clips of 2 s at 48 kHz, each with its own buffers.
enum DRAMResidentClips {
    static let count = 4096
    static let frames = 96_000
    static let sampleRate = 48_000
    /// The bytes of every clip's samples: what one loop of the mixer consumes.
    static let bytes = count * 2 * frames * MemoryLayout<Float>.size

    /// Made on first use (several seconds; outside any measurement). The
    /// samples differ from clip to clip, so no two buffers could be shared.
    static let clips: [AudioClip] = (0..<count).map { clip in
        let channels = (0..<2).map { channel in
            [Float](unsafeUninitializedCapacity: frames) { buffer, initialized in
                for frame in 0..<frames {
                    buffer[frame] = Float((frame &+ 7 &* clip &+ 3 &* channel) & 1023) / 4096
                }
                initialized = frames
            }
        }
        return try! AudioClip(channels: channels, sampleRate: sampleRate)
    }

    /// Every clip looping from its own phase, so loop ends fall in different
    /// periods as they would in a real session.
    static let playspec = Playspec(clips.enumerated().map { index, clip in
        PlayspecEntry(clip: clip, playAt: Int64(index * 7919 % frames), repeatInterval: Int64(frames),
                      gains: [1 / Float(count), 1 / Float(count)])
    })

    /// Reads every clip's bytes once with the plain loop and returns their sum.
    static func plainRead() -> UInt64 {
        var sum: UInt64 = 0
        for clip in clips {
            for channel in 0..<clip.channelCount {
                sum &+= clip.withUnsafeSamples(channel: channel) { samples in
                    plain_read_sum(samples.baseAddress!, samples.count * MemoryLayout<Float>.size)
                }
            }
        }
        return sum
    }
}

func clipBandwidthBenchmarks() {
    let mixerRate = BenchmarkMetric.custom("mixer clip reads (MB/s)", polarity: .prefersLarger, useScalingFactor: false)
    let plainRate = BenchmarkMetric.custom("plain read (MB/s)", polarity: .prefersLarger, useScalingFactor: false)
    let ratio = BenchmarkMetric.custom("mixer / plain read (%)", polarity: .prefersLarger, useScalingFactor: false)
    for period in [64, 256] {
        Benchmark("Mix 4096 DRAM-resident stereo clips in \(period)-frame periods, beside a plain read of the same bytes",
                  configuration: .init(metrics: [mixerRate, plainRate, ratio], warmupIterations: 0,
                                       maxDuration: .seconds(60), maxIterations: 5)) { benchmark in
            let renderer = try OfflineRenderer(sampleRate: DRAMResidentClips.sampleRate, outputChannels: 2)
            try renderer.setPlayspec(DRAMResidentClips.playspec)
            // From one loop on, every entry has started: all 4096 sound in every period.
            try renderer.setPosition(Int64(DRAMResidentClips.frames))
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: period)

            let clock = ContinuousClock()
            let mixing = try clock.measure {
                for _ in 0..<(DRAMResidentClips.frames / period) { blackHole(try renderer.render(frames: period)) }
            }
            let reading = clock.measure { blackHole(DRAMResidentClips.plainRead()) }

            let gigabytes = Double(DRAMResidentClips.bytes) / 1e9
            let mixerGBps = gigabytes / mixing.seconds, plainGBps = gigabytes / reading.seconds
            benchmark.measurement(mixerRate, Int(mixerGBps * 1000))
            benchmark.measurement(plainRate, Int(plainGBps * 1000))
            benchmark.measurement(ratio, Int(100 * mixerGBps / plainGBps))
            Figures.record("dram.P\(period).mixer_GBps", mixerGBps)
            Figures.record("dram.P\(period).plain_GBps", plainGBps)
            Figures.record("dram.P\(period).ratio_pct", 100 * mixerGBps / plainGBps)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
