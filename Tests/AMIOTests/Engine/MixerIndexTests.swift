@testable import AMIO
import Foundation
import Synchronization
import Testing

/// The mixer finds the entries active in a window through an index built when
/// the playspec is compiled: random arrangements of one-shot and repeating
/// entries, rendered in random periods with random seeks, equal a direct sum
/// over every entry.
@Suite struct MixerIndexTests {
    /// An entry as the tests place it; a mono clip here (see ``MixKernelTests/Placed``).
    typealias Placed = MixKernelTests.Placed

    @Test(arguments: 0..<40)
    func randomArrangementsEqualADirectSum(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 6_364_136_223 &+ 1)
        let clips = (0..<4).map { index in (0..<Int.random(in: 10...3000, using: &rng)).map { Float(($0 * (index + 3)) % 97) / 97 } }
        let audio = try clips.map { try AudioClip(channels: [$0], sampleRate: 48000) }
        let count = [1, 2, 7, 100, 600].randomElement(using: &rng)!
        var entries: [Placed] = (0..<count).map { _ in
            let clip = Int.random(in: 0..<clips.count, using: &rng)
            let start = Int.random(in: 0..<clips[clip].count, using: &rng)
            let end = Int.random(in: (start + 1)...clips[clip].count, using: &rng)
            let repeating = Int.random(in: 0..<5, using: &rng) == 0
            return Placed(clip: clip, crop: start..<end, playAt: Int64.random(in: -5000...100_000, using: &rng),
                          repeatInterval: repeating ? Int64.random(in: 1...20_000, using: &rng) : 0,
                          gains: [Float.random(in: 0.1...1, using: &rng)])
        }
        // The mixer sums in play_at order (ties in the given order): so does the reference.
        let sorted = entries.enumerated().sorted { ($0.element.playAt, $0.offset) < ($1.element.playAt, $1.offset) }.map(\.element)
        let renderer = try OfflineRenderer(outputChannels: 1)
        try renderer.setPlayspec(Playspec(entries.map {
            PlayspecEntry(clip: audio[$0.clip], frames: $0.crop, playAt: $0.playAt, repeatInterval: $0.repeatInterval, gains: $0.gains)
        }))
        entries = sorted
        var position: Int64 = Int64.random(in: -6000...0, using: &rng)
        try renderer.setPosition(position)
        try renderer.setTransportRolling(true)
        for _ in 0..<40 {
            if Int.random(in: 0..<8, using: &rng) == 0 {
                position = Int64.random(in: -6000...120_000, using: &rng)
                try renderer.setPosition(position)
            }
            let frames = (count > 100 ? [1, 3, 64, 256] : [1, 3, 64, 256, 1000, 4096]).randomElement(using: &rng)!
            let output = try renderer.render(frames: frames)[0]
            for (i, value) in output.enumerated() {
                let want = MixKernelTests.expected(entries, clips: clips.map { [$0] }, channel: 0, at: position + Int64(i))
                if abs(value - want) > 1e-4 * max(1, abs(want)) {
                    Issue.record("seed \(seed): frame \(position + Int64(i)) is \(value), the entries sum to \(want)")
                    return
                }
            }
            position += Int64(frames)
        }
    }
}

/// Denormal samples take the FPU's slow path: the process cycle flushes them
/// to zero, and leaves the calling thread's float mode as it found it.
@Suite struct DenormalTests {
    @Test func denormalsAreFlushedInTheCycleAndOnlyThere() throws {
        let tiny = Float(bitPattern: 0x0000_0100)   // a denormal, about 3.6e-43
        #expect(tiny.isSubnormal)
        let renderer = try OfflineRenderer(outputChannels: 1)
        let clip = try AudioClip(channels: [[Float](repeating: tiny, count: 64)], sampleRate: 48000)
        try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1])])
        try renderer.setTransportRolling(true)
        let output = try renderer.render(frames: 64)[0]
        #expect(output.allSatisfy { $0 == 0 }, "denormal input flushed to zero: \(output[0])")
        // The caller's thread still computes denormals.
        let half = [tiny].map { $0 / 2 }[0]
        #expect(half.isSubnormal && half > 0)
    }
}

/// The transport's position and playspec are published as one unit: a reader
/// on another thread never pairs one cycle's position with another's playspec.
@Suite struct TransportStateTests {
    @Test func aReaderOnAnotherThreadSeesPositionAndPlayspecOfOneCycle() async throws {
        let renderer = try OfflineRenderer(outputChannels: 1, changeCapacity: 2048)
        let clip = try AudioClip(channels: [[0.1]], sampleRate: 48000)
        // Playspec k takes over at frame 16k: a cycle of 16 frames ending at 16(k+1) leaves playspec k sounding.
        var playspecAt: [Int64: UInt64] = [:]
        for k in 0..<2000 {
            let change = try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 0, gains: [1])],
                                                             insertAt: Int64(k) * 16, startFrom: Int64(k) * 16)
            playspecAt[Int64(k + 1) * 16] = change.playspecID
        }
        try renderer.setTransportRolling(true)
        let truth = playspecAt
        let core = renderer.core
        // A thread of its own: the test pool may be busy with other suites.
        let counts = Mutex((checked: 0, torn: 0, started: false, stop: false))
        let reader = Thread {
            counts.withLock { $0.started = true }
            while !counts.withLock({ $0.stop }) {
                let state = core.transportState
                guard let expected = truth[state.position] else { continue }
                counts.withLock { counts in
                    counts.checked += 1
                    if state.playspecID != expected { counts.torn += 1 }
                }
            }
        }
        reader.start()
        while !counts.withLock({ $0.started }) { usleep(1000) }
        for cycle in 0..<1999 {
            _ = try renderer.render(frames: 16)
            if cycle % 16 == 0 { usleep(100) }   // the reader gets the core now and then
        }
        let (checked, torn) = counts.withLock { counts in
            counts.stop = true
            return (counts.checked, counts.torn)
        }
        #expect(checked > 0)
        #expect(torn == 0, "\(torn) of \(checked) snapshots paired a position with another cycle's playspec")
    }
}
