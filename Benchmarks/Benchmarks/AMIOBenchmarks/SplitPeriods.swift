// What changes inside a period cost the process thread: one 256-frame
// period of the long one-shot arrangement, mixed in 1, 8 or 32 runs because
// as many playspec changes take effect on frames spread over it (each
// change continues the timeline where it stands, with a copy of the same
// arrangement, so only the splitting differs). A fourth variant has the
// same 32 changes all on the period's first frame: one run with the same
// change handling, which tells the cost of mixing in runs apart from the
// cost of taking changes. A fifth brings the playspec already playing with
// every one of the 32 changes, so nothing is read cold: what is left over
// the unsplit period is the work a change and a run cost in themselves.
//
// The C core is driven directly, as OfflineRenderer drives it, so that the
// clock sees the cycle alone: `OfflineRenderer.render` also drains the
// cycle's notices and frees what they retire, and retiring a 65 536-entry
// playspec releases its 65 536 clip references, about 1 ms each (measured:
// 2.2 ms for a period with one change, 32 ms with 32), which on JACK the
// bridge thread does, outside the period. No public API times the cycle
// alone, so this benchmark imports CAMIO, which is no product of the
// package: SwiftPM hands a target the module maps of every C target its
// dependencies are built on, and AMIO links the core into the benchmark.

import Benchmark
import CAMIO
import Foundation

/// One way of splitting the measured period.
struct PeriodSplit: Sendable {
    /// Changes taking effect in the period.
    var changes: Int
    /// All on its first frame (one run) rather than spread evenly over it.
    var onOneFrame: Bool = false
    /// Every change brings the playspec already playing, in cache, rather
    /// than a copy the process thread has not read yet.
    var samePlayspec: Bool = false

    var key: String {
        onOneFrame ? "\(changes)_on_one_frame" : samePlayspec ? "\(changes)_runs_same_playspec" : "\(changes)_runs"
    }
    var metricName: String {
        onOneFrame ? "\(changes) changes on one frame (ns)"
            : samePlayspec ? "\(changes) changes, \(changes) runs, the playspec playing (ns)"
            : "\(changes) changes, \(changes) runs (ns)"
    }
}

/// A C engine with two outputs and no inputs, in the middle of the one-shot
/// arrangement, and compiled copies of the arrangement for its changes.
///
/// Used from one benchmark closure at a time, as the process thread and the
/// control side of one engine would be.
final class CoreCycleRig: @unchecked Sendable {
    static let period = 256
    static let splits = [PeriodSplit(changes: 1), PeriodSplit(changes: 8), PeriodSplit(changes: 32),
                         PeriodSplit(changes: 32, onOneFrame: true), PeriodSplit(changes: 32, samePlayspec: true)]
    static let shared = CoreCycleRig()

    private let engine: OpaquePointer
    private let outputs: [UnsafeMutablePointer<Float>]
    /// Compiled copies of the arrangement, used in turn: more than one
    /// period's changes plus the current one, so a copy is always retired
    /// before it is queued again, and each change brings a playspec the
    /// process thread has not just read, as a newly compiled one would be.
    private var copies: [OpaquePointer] = []
    private var nextCopy = 0
    /// The copy the engine plays now (the last one a change brought).
    private var playing: OpaquePointer?
    private var nextChangeID: UInt64 = 1
    /// The clip's one channel, for the entries (they outlive every playspec: never freed).
    private let clipChannel: UnsafeMutablePointer<UnsafePointer<Float>>

    private init() {
        var config = camio_engine_config(input_channels: 0, output_channels: 2, change_capacity: 256,
                                         input_ring_frames: 1 << 16, alignment_frames: 1024)
        engine = camio_engine_create(&config)!
        outputs = (0..<2).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Self.period)
            buffer.initialize(repeating: 0, count: Self.period)
            return buffer
        }
        let samples = UnsafeMutablePointer<Float>.allocate(capacity: OneShotArrangement.clipFrames)
        samples.initialize(repeating: 0.1, count: OneShotArrangement.clipFrames)
        clipChannel = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 1)
        clipChannel.initialize(to: UnsafePointer(samples))
        let gains: [Float] = [0.5, 0.5]
        for id in 1...48 {
            let playspec = camio_playspec_create(UInt64(id), UInt32(OneShotArrangement.entries), 2, 0, 0)!
            for index in 0..<OneShotArrangement.entries {
                camio_playspec_set_entry(playspec, UInt32(index), clipChannel, 1, 0, Int64(OneShotArrangement.clipFrames),
                                         Int64(index) * OneShotArrangement.spacing, 0, gains)
            }
            camio_playspec_finish(playspec)
            copies.append(playspec)
        }
        submit(playspec: nextPlayspec(), insertAt: 0, startFrom: 0,
               flags: CAMIO_CHANGE_HAS_PLAYSPEC | CAMIO_CHANGE_IMMEDIATE | CAMIO_CHANGE_KEEP_POSITION)
        submit(playspec: nil, insertAt: 0, startFrom: OneShotArrangement.frame(at: 0.5),
               flags: CAMIO_CHANGE_IMMEDIATE | CAMIO_CHANGE_SET_ROLLING | CAMIO_CHANGE_ROLLING)
        cycle()
        drainNotices()
    }

    private func nextPlayspec() -> OpaquePointer {
        defer { nextCopy = (nextCopy + 1) % copies.count }
        playing = copies[nextCopy]
        return copies[nextCopy]
    }

    private func submit(playspec: OpaquePointer?, insertAt: Int64, startFrom: Int64, flags: Int) {
        var change = camio_change(id: nextChangeID, playspec: playspec, insert_at: insertAt, start_from: startFrom,
                                  flags: UInt32(flags), crossfade_frames: 0, crossfade_shape: 0, reserved: 0)
        nextChangeID += 1
        precondition(camio_engine_submit(engine, &change), "the change queue is full")
    }

    private func cycle() {
        outputs.withUnsafeBufferPointer { outputs in
            camio_offline_render(engine, nil, outputs.baseAddress, UInt32(Self.period), 48000, 0)
        }
    }

    /// Takes the cycle's notices; the copies they retire stay in the pool.
    private func drainNotices() {
        var notice = camio_notice()
        while camio_engine_next_notice(engine, &notice) {}
    }

    /// Queues the split's changes for the next period, then times that
    /// period's cycle alone (the notices are taken after the clock stops).
    func timePeriod(_ split: PeriodSplit) -> Duration {
        let start = camio_engine_position(engine)
        for index in 0..<split.changes {
            let frame = split.onOneFrame ? start : start + Int64(index * Self.period / split.changes)
            let playspec = split.samePlayspec ? playing! : nextPlayspec()
            submit(playspec: playspec, insertAt: frame, startFrom: frame, flags: CAMIO_CHANGE_HAS_PLAYSPEC)
        }
        let elapsed = ContinuousClock().measure { cycle() }
        blackHole(outputs[0][Self.period - 1])
        drainNotices()
        return elapsed
    }
}

func splitPeriodBenchmarks() {
    let metrics = CoreCycleRig.splits.map { split in
        BenchmarkMetric.custom(split.metricName, useScalingFactor: false)
    }
    Benchmark("Mix one 256-frame period of 65536 one-shot entries split by 1, 8 and 32 changes",
              configuration: .init(metrics: metrics, warmupIterations: 3,
                                   maxDuration: .seconds(30), maxIterations: 200)) { benchmark in
        var nanoseconds: [String: Double] = [:]
        for (split, metric) in zip(CoreCycleRig.splits, metrics) {
            let elapsed = CoreCycleRig.shared.timePeriod(split)
            nanoseconds[split.key] = elapsed.seconds * 1e9
            benchmark.measurement(metric, Int(elapsed.seconds * 1e9))
        }
        // Warm-up rounds (the first touch of every page) stay out of the figures.
        guard benchmark.isMeasuredRound else { return }
        for (key, value) in nanoseconds { Figures.record("split.\(key)_us", value / 1000) }
        Figures.record("split.ratio_32_to_1", nanoseconds["32_runs"]! / nanoseconds["1_runs"]!)
        Figures.record("split.ratio_32_to_32_on_one_frame", nanoseconds["32_runs"]! / nanoseconds["32_on_one_frame"]!)
        Figures.record("split.ratio_32_same_playspec_to_1", nanoseconds["32_runs_same_playspec"]! / nanoseconds["1_runs"]!)
    }
}
