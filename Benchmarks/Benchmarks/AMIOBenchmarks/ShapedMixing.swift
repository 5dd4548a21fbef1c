// What click-free edits cost the mixer (issue 11), each beside its plain
// counterpart in the same run, so their ratio holds on a noisy machine:
//
// - 256 looping stereo clips, all sounding at once, plain; then the same
//   with a 10 ms fade in and out on every occurrence and an envelope across
//   the whole occurrence, so that every sample goes through the weighted
//   path (the worst case: a clip without an envelope pays only in its fades);
// - a period while a crossfade runs (both playspecs mixed, then weighed)
//   against a period of one.
//
// Both through OfflineRenderer, the realtime core the JACK thread runs; its
// render() adds the same small copy to either side of a ratio.

import AMIO
import Benchmark
import Foundation

private enum ShapedRig {
    static let rate = 48000
    static let period = 256
    static let clips = 256
    /// Each clip is one occurrence long, so all 256 sound in every period.
    static let clipFrames = 24000
    static let periodsPerSample = 200

    static func arrangement(shaped: Bool) throws -> Playspec {
        let clip = try AudioClip(channels: [[Float](repeating: 0.1, count: clipFrames),
                                            [Float](repeating: 0.2, count: clipFrames)], sampleRate: rate)
        let envelope = GainEnvelope([.init(frame: 0, gain: 0.2), .init(frame: Int64(clipFrames / 2), gain: 1),
                                     .init(frame: Int64(clipFrames), gain: 0.5)])
        return Playspec((0..<clips).map { index in
            PlayspecEntry(clip: clip, playAt: Int64(index * 97), repeatInterval: Int64(clipFrames), gains: [0.01, 0.01],
                          fadeIn: shaped ? 480 : 0, fadeOut: shaped ? 480 : 0, fadeShape: .equalPower,
                          envelope: shaped ? envelope : nil)
        })
    }

    /// Microseconds per period over `periods` periods.
    static func time(_ renderer: OfflineRenderer, periods: Int) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<periods { blackHole(try renderer.render(frames: period)) }
        let elapsed = clock.now - start
        return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(periods)
    }
}

func shapedMixingBenchmarks() {
    let plainMetric = BenchmarkMetric.custom("plain period (ns)", useScalingFactor: false)
    let shapedMetric = BenchmarkMetric.custom("faded + enveloped period (ns)", useScalingFactor: false)
    Benchmark("Mix 256 looping stereo clips with fades and envelopes beside plain ones, 256-frame periods",
              configuration: .init(metrics: [plainMetric, shapedMetric], warmupIterations: 2,
                                   maxDuration: .seconds(20), maxIterations: 30)) { benchmark in
        let plain = try OfflineRenderer(sampleRate: ShapedRig.rate, outputChannels: 2)
        let shaped = try OfflineRenderer(sampleRate: ShapedRig.rate, outputChannels: 2)
        try plain.setPlayspec(ShapedRig.arrangement(shaped: false))
        try shaped.setPlayspec(ShapedRig.arrangement(shaped: true))
        for renderer in [plain, shaped] {
            try renderer.setTransportRolling(true)
            _ = try ShapedRig.time(renderer, periods: 4)  // every entry started, every page touched
        }
        // In turns, so that both sides see the same machine.
        var plainMicroseconds = 0.0, shapedMicroseconds = 0.0
        for _ in 0..<4 {
            plainMicroseconds += try ShapedRig.time(plain, periods: ShapedRig.periodsPerSample / 4) / 4
            shapedMicroseconds += try ShapedRig.time(shaped, periods: ShapedRig.periodsPerSample / 4) / 4
        }
        benchmark.measurement(plainMetric, Int(plainMicroseconds * 1000))
        benchmark.measurement(shapedMetric, Int(shapedMicroseconds * 1000))
        guard benchmark.isMeasuredRound else { return }
        Figures.record("shaped.plain_us", plainMicroseconds)
        Figures.record("shaped.faded_us", shapedMicroseconds)
        Figures.record("shaped.ratio", shapedMicroseconds / plainMicroseconds)
    }

    let steadyMetric = BenchmarkMetric.custom("period of one playspec (ns)", useScalingFactor: false)
    let fadingMetric = BenchmarkMetric.custom("period inside a crossfade (ns)", useScalingFactor: false)
    Benchmark("Mix 256 looping stereo clips: a period inside a crossfade beside a plain one, 256-frame periods",
              configuration: .init(metrics: [steadyMetric, fadingMetric], warmupIterations: 2,
                                   maxDuration: .seconds(20), maxIterations: 30)) { benchmark in
        let renderer = try OfflineRenderer(sampleRate: ShapedRig.rate, outputChannels: 2)
        let arrangement = try ShapedRig.arrangement(shaped: false)
        try renderer.setPlayspec(arrangement)
        try renderer.setTransportRolling(true)
        _ = try ShapedRig.time(renderer, periods: 4)
        var steadyMicroseconds = 0.0, fadingMicroseconds = 0.0
        let periods = ShapedRig.periodsPerSample / 4
        for _ in 0..<4 {
            steadyMicroseconds += try ShapedRig.time(renderer, periods: periods) / 4
            // A seek back by a second under a crossfade that lasts the whole
            // sample: the same 256 clips twice over, at two places.
            try renderer.setPosition(renderer.position - 48000,
                                     crossfade: Crossfade(frames: (periods + 1) * ShapedRig.period))
            fadingMicroseconds += try ShapedRig.time(renderer, periods: periods) / 4
            _ = try ShapedRig.time(renderer, periods: 1)  // the crossfade's last frames
        }
        benchmark.measurement(steadyMetric, Int(steadyMicroseconds * 1000))
        benchmark.measurement(fadingMetric, Int(fadingMicroseconds * 1000))
        guard benchmark.isMeasuredRound else { return }
        Figures.record("crossfade.plain_us", steadyMicroseconds)
        Figures.record("crossfade.fading_us", fadingMicroseconds)
        Figures.record("crossfade.ratio", fadingMicroseconds / steadyMicroseconds)
    }
}
