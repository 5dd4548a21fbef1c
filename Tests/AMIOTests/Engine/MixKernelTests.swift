@testable import AMIO
import CAMIO
import Testing

/// The mixer's kernels (a baseline one and, on a CPU that has it, AVX2) give
/// identical samples, equal to a plain sum in the mixer's order: which kernel
/// a machine picks never changes a render. The arrangements cover what the
/// kernels special-case: mono clips feeding every output (read once, written
/// N times), clips wider and narrower than the outputs, zero gains, runs of
/// every length around the vector width, and periods split by changes.
/// Serialized: the tests switch the process's kernel, and one checks which it is.
@Suite(.serialized) struct MixKernelTests {
    struct Placed {
        var clip: Int
        var crop: Range<Int>
        var playAt: Int64
        var repeatInterval: Int64
        var gains: [Float]
    }

    /// Output `channel` at timeline frame `t`: every entry's sample, in the
    /// order the mixer sums (play_at, then given order), a mono clip on every
    /// output, a wider clip's channel c on output c.
    static func expected(_ sorted: [Placed], clips: [[[Float]]], channel: Int, at t: Int64) -> Float {
        var sum: Float = 0
        for entry in sorted {
            let clip = clips[entry.clip]
            let source = clip.count == 1 ? 0 : channel
            guard source < clip.count, t >= entry.playAt else { continue }
            let length = Int64(entry.repeatInterval > 0 ? min(entry.crop.count, Int(entry.repeatInterval)) : entry.crop.count)
            var offset = t - entry.playAt
            if entry.repeatInterval > 0 { offset %= entry.repeatInterval }
            guard offset < length else { continue }
            sum += entry.gains[channel] * clip[source][entry.crop.lowerBound + Int(offset)]
        }
        return sum
    }

    static var kernels: [String] {
        ["baseline", "avx2"].filter { name in
            let previous = String(cString: camio_mix_kernel_name())
            defer { _ = camio_use_mix_kernel(previous) }
            return camio_use_mix_kernel(name)
        }
    }

    @Test func theBestKernelThisCPUHasIsChosen() {
        let chosen = String(cString: camio_mix_kernel_name())
        #expect(chosen == Self.kernels.last, "chose \(chosen) of \(Self.kernels)")
    }

    @Test(arguments: 0..<60)
    func everyKernelGivesTheSamplesOfAPlainSum(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 0x9E37_79B9 &+ 7)
        let outputs = Int.random(in: 1...5, using: &rng)
        let clips: [[[Float]]] = (0..<5).map { index in
            let channels = [1, 1, 2, 3, 6].randomElement(using: &rng)!
            let frames = Int.random(in: 1...700, using: &rng)
            return (0..<channels).map { c in (0..<frames).map { Float(($0 * (index + 5) + c * 11) % 89) / 89 - 0.5 } }
        }
        let audio = try clips.map { try AudioClip(channels: $0, sampleRate: 48000) }
        let entries: [Placed] = (0..<Int.random(in: 1...40, using: &rng)).map { _ in
            let clip = Int.random(in: 0..<clips.count, using: &rng)
            let frames = clips[clip][0].count
            let start = Int.random(in: 0..<frames, using: &rng)
            let end = Int.random(in: (start + 1)...frames, using: &rng)
            let repeating = Bool.random(using: &rng)
            return Placed(clip: clip, crop: start..<end, playAt: Int64.random(in: -300...2000, using: &rng),
                          repeatInterval: repeating ? Int64.random(in: 1...900, using: &rng) : 0,
                          gains: (0..<outputs).map { _ in Bool.random(using: &rng) ? 0 : Float.random(in: -1...1, using: &rng) })
        }
        let sorted = entries.enumerated().sorted { ($0.element.playAt, $0.offset) < ($1.element.playAt, $1.offset) }.map(\.element)
        let playspec = Playspec(entries.map {
            PlayspecEntry(clip: audio[$0.clip], frames: $0.crop, playAt: $0.playAt, repeatInterval: $0.repeatInterval, gains: $0.gains)
        })
        // Periods of every length around the vector width, some split by a
        // change that re-installs the same arrangement mid-period.
        let periods = (0..<30).map { _ in [1, 7, 8, 9, 31, 32, 33, 100, 256, 1000].randomElement(using: &rng)! }
        let splits = Set((0..<6).map { _ in Int64.random(in: 0...3000, using: &rng) })
        let start = Int64.random(in: -400...0, using: &rng)

        var renders: [String: [[Float]]] = [:]
        let previous = String(cString: camio_mix_kernel_name())
        defer { _ = camio_use_mix_kernel(previous) }
        for kernel in Self.kernels {
            #expect(camio_use_mix_kernel(kernel))
            let renderer = try OfflineRenderer(outputChannels: outputs)
            try renderer.setPlayspec(playspec)
            for split in splits.sorted() {
                _ = try renderer.schedulePlayspecChange(playspec, insertAt: start + split, startFrom: start + split)
            }
            try renderer.setPosition(start)
            try renderer.setTransportRolling(true)
            renders[kernel] = try renderer.render(periods: periods)
        }
        let baseline = try #require(renders["baseline"])
        for (kernel, render) in renders {
            for channel in 0..<outputs where render[channel] != baseline[channel] {
                let frame = render[channel].indices.first { render[channel][$0] != baseline[channel][$0] }!
                Issue.record("seed \(seed): \(kernel) differs from baseline at output \(channel), frame \(frame)")
            }
        }
        for channel in 0..<outputs {
            for (i, value) in baseline[channel].enumerated() {
                let want = Self.expected(sorted, clips: clips, channel: channel, at: start + Int64(i))
                if value != want {
                    Issue.record("seed \(seed): output \(channel) frame \(start + Int64(i)) is \(value), the plain sum \(want)")
                    return
                }
            }
        }
    }
}
