// Mixer cost against the position in a long arrangement: 65 536 one-shot
// entries of 4800 frames, one every 2400 frames (two sound at any time),
// 1000 periods of 16 frames at the start, the middle and the end, through
// OfflineRenderer. With the max-end index the three cost the same; a scan of
// the entries started so far made the end 5000 times the start. The three
// places take turns on one renderer (a seek before each), so that they share
// the machine's state of the moment and their ratio holds on a noisy machine.

import AMIO
import Benchmark
import Foundation

/// The long arrangement of the one-shot benchmarks: 65 536 one-shot entries
/// of 4800 frames, one every 2400 frames, so two sound at any time.
enum OneShotArrangement {
    static let entries = 65536
    static let spacing: Int64 = 2400
    static let clipFrames = 4800
    static let clip = try! AudioClip(channels: [[Float](repeating: 0.1, count: clipFrames)], sampleRate: 48000)
    static let playspec = Playspec((0..<entries).map {
        PlayspecEntry(clip: clip, playAt: Int64($0) * spacing, gains: [0.5, 0.5])
    })
    /// The timeline frame a fraction of the way through the arrangement.
    static func frame(at fraction: Double) -> Int64 { Int64(fraction * Double(entries) * Double(spacing)) }
    /// A renderer playing the arrangement, rolling, for the position benchmark.
    static let renderer: OfflineRenderer = {
        let renderer = try! OfflineRenderer(sampleRate: 48000, outputChannels: 2)
        try! renderer.setPlayspec(playspec)
        try! renderer.setTransportRolling(true)
        return renderer
    }()
}

func oneShotPositionBenchmarks() {
    let places: [(name: String, fraction: Double)] = [("start", 0.0), ("middle", 0.5), ("end", 0.999)]
    let metrics = places.map {
        BenchmarkMetric.custom("16-frame period at the \($0.name) (ns)", useScalingFactor: false)
    }
    Benchmark("Mix 65536 one-shot entries, 1000 periods of 16 frames at the start, middle and end",
              configuration: .init(metrics: metrics, warmupIterations: 1,
                                   maxDuration: .seconds(30), maxIterations: 99)) { benchmark in
        let renderer = OneShotArrangement.renderer
        // Each round starts at another place, so that none is always the one
        // measured first.
        for turn in 0..<places.count {
            let index = (turn + benchmark.currentIteration) % places.count
            try renderer.setPosition(OneShotArrangement.frame(at: places[index].fraction))
            _ = try renderer.render(frames: 16)
            let elapsed = try ContinuousClock().measure {
                for _ in 0..<1000 { blackHole(try renderer.render(frames: 16)) }
            }
            benchmark.measurement(metrics[index], Int(elapsed.seconds * 1e9 / 1000))
            if benchmark.isMeasuredRound { Figures.record("oneshot.\(places[index].name)_us", elapsed.seconds * 1e6 / 1000) }
        }
    }
}
