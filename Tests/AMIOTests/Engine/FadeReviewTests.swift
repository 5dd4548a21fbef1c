@testable import AMIO
import Foundation
import Testing

/// Hostile probes of fades, gain envelopes and crossfaded changes, offline
/// through ``OfflineRenderer``: the limits of every number, lifetimes around
/// crossfades, and split invariance, each against its definition.
@Suite struct FadeReviewTests {
    /// A clip of `frames` ones.
    static func ones(_ frames: Int, channels: Int = 1) throws -> AudioClip {
        try AudioClip(channels: [[Float]](repeating: [Float](repeating: 1, count: frames), count: channels),
                      sampleRate: 48000)
    }

    /// Whether a clip's samples are still alive.
    final class Watched: @unchecked Sendable {
        weak var storage: ClipStorage?
        init(_ clip: AudioClip) { storage = clip.storage }
        var isAlive: Bool { storage != nil }
    }

    /// Builds a constant playspec, hands it to `use` (which schedules it) and
    /// keeps no reference to it: only the engine keeps its clip alive.
    static func constant(_ value: Float, _ use: (Playspec) throws -> Void) throws -> Watched {
        let clip = try AudioClip(channels: [[value]], sampleRate: 48000)
        let watch = Watched(clip)
        try use([PlayspecEntry(clip: clip, playAt: 0, repeatInterval: 1, gains: [1])])
        return watch
    }

    /// Bit patterns, so that a difference of one ulp (or -0 vs 0) counts.
    static func bits(_ output: [[Float]]) -> [[UInt32]] { output.map { $0.map(\.bitPattern) } }

    static func firstDifference(_ a: [[Float]], _ b: [[Float]]) -> String? {
        for c in a.indices {
            for i in a[c].indices where a[c][i].bitPattern != b[c][i].bitPattern {
                return "channel \(c) frame \(i): \(a[c][i]) vs \(b[c][i])"
            }
        }
        return nil
    }

    // MARK: Validation

    /// An envelope point at Int64.min is refused with a typed error like any
    /// other frame beyond ±2^60 (`abs(point.frame)` would trap on it and end
    /// the process). An exit test: the child exits 0 only if a typed error
    /// came back.
    @Test func anEnvelopePointAtInt64MinIsATypedError() async {
        await #expect(processExitsWith: .success) {
            let renderer = try! OfflineRenderer(outputChannels: 1)
            let clip = try! AudioClip(channels: [[1, 1, 1]], sampleRate: 48000)
            let entry = PlayspecEntry(clip: clip, playAt: 0, gains: [1],
                                      envelope: GainEnvelope([.init(frame: .min, gain: 1)], timeBase: .timeline))
            do {
                _ = try renderer.setPlayspec([entry])
                exit(3)
            } catch let error as AMIOError {
                guard case .invalidPlayspec(entry: 0, _) = error else { exit(4) }
                exit(0)
            } catch {
                exit(5)
            }
        }
    }

    /// The other extremes are typed errors (held up).
    @Test func extremeFadeAndEnvelopeValuesAreTypedErrors() throws {
        let renderer = try OfflineRenderer(outputChannels: 2)
        let clip = try Self.ones(100)
        let bad: [PlayspecEntry] = [
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeIn: .max),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeOut: .max),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeIn: .min),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeIn: 60, fadeOut: .max),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeIn: .max, fadeOut: .max),
            PlayspecEntry(clip: clip, playAt: 0, repeatInterval: 1, gains: [1, 1], fadeIn: 1, fadeOut: 1),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                          envelope: GainEnvelope([.init(frame: .max, gain: 1)])),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                          envelope: GainEnvelope([.init(frame: (1 << 60) + 1, gain: 1)])),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                          envelope: GainEnvelope((0...GainEnvelope.maximumPoints).map { .init(frame: Int64($0), gain: 1) })),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                          envelope: GainEnvelope([.init(frame: 0, gains: [])])),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                          envelope: GainEnvelope([.init(frame: 0, gain: .greatestFiniteMagnitude),
                                                  .init(frame: 1, gain: .signalingNaN)])),
        ]
        for (index, entry) in bad.enumerated() {
            let error = #expect(throws: AMIOError.self, "case \(index)") { try renderer.setPlayspec([entry]) }
            guard case .invalidPlayspec(entry: 0, _)? = error else {
                Issue.record("case \(index): \(String(describing: error))")
                continue
            }
        }
        // Both ends of the frame range are accepted.
        try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1],
                                                envelope: GainEnvelope([.init(frame: -(1 << 60), gain: 1),
                                                                        .init(frame: 1 << 60, gain: 0)], timeBase: .timeline))])
    }

    /// setGains with no crossfade given uses 10 ms, held to
    /// Crossfade.maximumFrames: at a sample rate above 100 · 2^24 Hz (which
    /// the renderer accepts) a call given no crossfade still succeeds.
    @Test func setGainsDefaultCrossfadeFitsAtHugeSampleRates() throws {
        let rate = 2_000_000_000
        let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: 1)
        var playspec: Playspec = []
        #expect(throws: Never.self) {
            try renderer.setGains([0.5], forEntriesMatching: { _ in true }, in: &playspec)
        }
    }

    /// The exponential curve is documented to return 0 … 1; at x just above
    /// 0 its value is 2^(−9.9657…) − 10^−3 computed with rounding.
    @Test func fadeCurvesStayInsideZeroToOne() {
        let xs: [Double] = [.leastNonzeroMagnitude, 1e-300, 1e-17, 1e-12, 6e-8, 0.5, 1 - 1e-16, 1.nextDown, .nan, -1, 2]
        for shape in FadeShape.allCases {
            for x in xs {
                let w = shape.weight(at: x)
                #expect(w >= 0 && w <= 1, "\(shape) at \(x): \(w)")
            }
        }
    }

    // MARK: Split invariance

    /// A timeline envelope from −1 at −2^60 to +1 at +2^60 (both allowed)
    /// over a clip of ones at frame 0: the gain at frame f is exactly
    /// f · 2^−60. At a distance of 2^60 from the breakpoint a double's ulp is
    /// 256 frames, so a distance rounded once per run and then offset by the
    /// lane would round a frame differently depending on where its run
    /// (period, tile) began; each frame's own distance, rounded once, does
    /// not. The same render split differently is bit-identical.
    @Test func aTimelineEnvelopeFarFromItsBreakpointsIsSplitInvariant() throws {
        let clip = try Self.ones(4096)
        let playspec: Playspec = [
            PlayspecEntry(clip: clip, playAt: 0, gains: [1],
                          envelope: GainEnvelope([.init(frame: -(1 << 60), gain: -1), .init(frame: 1 << 60, gain: 1)],
                                                 timeBase: .timeline)),
        ]
        func render(_ periods: [Int]) throws -> [[Float]] {
            let renderer = try OfflineRenderer(outputChannels: 1)
            try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
            try renderer.setTransportRolling(true)
            return try renderer.render(periods: periods)
        }
        let whole = try render([4096])
        let split = try render([100, 77, 1, 3, 200, 129] + [Int](repeating: 512, count: 7) + [4096 - 510 - 7 * 512])
        let difference = Self.firstDifference(whole, split)
        #expect(difference == nil)
        // And what the definition gives (linear between the points),
        // f · 2^-60, to within the double's rounding of a distance of 2^60
        // frames (256 frames: 2^-52 of the swing), far below a Float's step.
        let exact = (0..<4096).map { Double($0) * 0x1p-60 }
        let wrong = (0..<4096).filter { abs(Double(whole[0][$0]) - exact[$0]) > 0x1p-51 }.count
        #expect(wrong == 0, "\(wrong) of 4096 frames are further than 2^-51 from f·2^-60 (e.g. frame 100: \(whole[0][100]) vs \(exact[100]))")
    }

    /// Scheduled (split-independent) crossfaded loop jumps and replacements
    /// of shaped playspecs (fades of every shape, occurrence and timeline
    /// envelopes, repeats, a mono clip to 3 outputs), one cutting another
    /// short, rendered in several period splits: bit-identical (held up).
    @Test(arguments: [0, 1, 2, 3])
    func crossfadedScheduledChangesAreSplitInvariant(seed: UInt64) throws {
        let tone = toneSamples(997, frames: 3000)
        let mono = try AudioClip(channels: [tone], sampleRate: 48000)
        let stereo = try AudioClip(channels: [toneSamples(440, frames: 2000), toneSamples(220, frames: 2000)],
                                   sampleRate: 48000)
        let a: Playspec = [
            PlayspecEntry(clip: mono, playAt: 0, repeatInterval: 1700, gains: [1, 0.5, -0.25], fadeIn: 300, fadeOut: 500,
                          fadeShape: .exponential,
                          envelope: GainEnvelope([.init(frame: 0, gain: 0.2), .init(frame: 900, gains: [1]),
                                                  .init(frame: 1300, gain: 0.7)])),
            PlayspecEntry(clip: stereo, playAt: 150, gains: [0.3, 0.6, 1], fadeIn: 1000, fadeShape: .equalPower,
                          envelope: GainEnvelope([.init(frame: 400, gains: [1, 0, 1]), .init(frame: 1800, gains: [0, 1, 0.5])],
                                                 timeBase: .timeline)),
        ]
        let b: Playspec = [
            PlayspecEntry(clip: stereo, playAt: 5000, repeatInterval: 333, gains: [1, 1, 1], fadeIn: 100, fadeOut: 100),
        ]
        func render(_ periods: [Int]) throws -> [[Float]] {
            let renderer = try OfflineRenderer(outputChannels: 3)
            try renderer.schedulePlayspecChange(a, insertAt: 0, startFrom: 0)
            try renderer.setTransportRolling(true)
            // A loop jump with an equal-power crossfade of 700 …
            try renderer.schedulePlayspecChange(a, insertAt: 2500, startFrom: 100, crossfade: 700)
            // … cut short 300 frames in by a replacement with a long linear one …
            try renderer.schedulePlayspecChange(b, insertAt: 2800, startFrom: 5000,
                                                crossfade: Crossfade(frames: 5000, shape: .linear))
            // … cut short by a jump back into a with an exponential one that runs out.
            try renderer.schedulePlayspecChange(a, insertAt: 6000, startFrom: 1000,
                                                crossfade: Crossfade(frames: 999, shape: .exponential))
            return try renderer.render(periods: periods)
        }
        let total = 9000
        var rng = SeededGenerator(seed: seed)
        var periods: [Int] = []
        while periods.reduce(0, +) < total {
            periods.append(min(total - periods.reduce(0, +), [1, 7, 16, 64, 255, 256, 257, 1000, 4096].randomElement(using: &rng)!))
        }
        let reference = try render([total])
        let split = try render(periods)
        let difference = Self.firstDifference(reference, split)
        #expect(difference == nil)
    }

    // MARK: Extremes

    /// The longest crossfade, 2^24 frames, from a constant 1 to a constant 2
    /// (linear): bit-identical in two splits, the weights k/X at chosen k,
    /// the old playspec alive until frame 2^24 and released then.
    @Test func theLongestCrossfadeRunsOutExactlyAndReleasesItsTail() throws {
        let x = Crossfade.maximumFrames
        func render(_ periods: [Int]) throws -> (output: [Float], oldAliveAtEnd: Bool, oldAliveAfter: Bool) {
            let renderer = try OfflineRenderer(outputChannels: 1)
            let watchOne = try Self.constant(1) { try renderer.setPlayspec($0) }
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: 10)
            _ = try Self.constant(2) { try renderer.setPlayspec($0, crossfade: Crossfade(frames: x, shape: .linear)) }
            let output = try renderer.render(periods: periods)[0]
            let aliveAtEnd = watchOne.isAlive
            _ = try renderer.render(frames: 1)
            return (output, aliveAtEnd, watchOne.isAlive)
        }
        let big = try render([Int](repeating: OfflineRenderer.maximumPeriod, count: 16) + [5])
        let count = big.output.count
        #expect(count == x + 5)
        for k in [0, 1, 255, 256, 1 << 20, (1 << 23) + 3, x - 1] {
            let expected = Float(Double(k) / Double(x)) * 2 + Float(Double(x - k) / Double(x)) * 1
            let actual = big.output[k]
            #expect(actual == expected, "k = \(k)")
        }
        let after = (big.output[x], big.output[x + 4])
        #expect(after == (2, 2))
        let releasedAtEnd = !big.oldAliveAtEnd
        #expect(releasedAtEnd, "released by the end of the render")
        var periods: [Int] = []
        var rng = SeededGenerator(seed: 7)
        while periods.reduce(0, +) < x + 5 {
            periods.append(min(x + 5 - periods.reduce(0, +), Int.random(in: 1...200_000, using: &rng)))
        }
        let split = try render(periods)
        let same = split.output.count == big.output.count && zip(split.output, big.output).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(same, "the two splits differ")
        let releasedAfter = !split.oldAliveAfter
        #expect(releasedAfter)
    }

    /// A fade in and out of 2^21 frames each over a clip of 2^22 ones:
    /// weights p / 2^21 exactly (linear), split in odd periods (held up).
    @Test func hugeFadesFollowTheirDefinition() throws {
        let f = 1 << 21
        let clip = try Self.ones(2 * f)
        let renderer = try OfflineRenderer(outputChannels: 1)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 5, gains: [1], fadeIn: f, fadeOut: f)],
                                            insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(periods: [Int](repeating: 65537, count: 2 * f / 65537 + 2))[0]
        for p in [0, 1, 12345, f - 1, f, f + 1, 2 * f - 1] {
            let expected: Float = p < f ? Float(Double(p) / Double(f)) : (2 * f - p < f ? Float(Double(2 * f - p) / Double(f)) : 1)
            let actual = out[5 + p]
            #expect(actual == expected, "p = \(p)")
        }
        let edges = (out[4], out[5 + 2 * f])
        #expect(edges == (0, 0))
    }

    /// 2^20 breakpoints (the maximum), per occurrence, random gains, over a
    /// clip of ones repeated: each frame is exactly first + slope · d as the
    /// definition (and the C code) computes it, in odd periods (held up).
    @Test func anEnvelopeOfTheMaximumPointsMatchesItsDefinition() throws {
        var rng = SeededGenerator(seed: 11)
        var frame: Int64 = -3
        var points: [GainEnvelope.Point] = []
        for _ in 0..<GainEnvelope.maximumPoints {
            points.append(.init(frame: frame, gain: Float.random(in: -2...2, using: &rng)))
            frame += Int64.random(in: 1...3, using: &rng)
        }
        let length = 3_000_000
        let clip = try Self.ones(length)
        let envelope = GainEnvelope(points, timeBase: .occurrence)
        let renderer = try OfflineRenderer(outputChannels: 2)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 0, gains: [1, 0.5], envelope: envelope)],
                                            insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(periods: [Int](repeating: 99_999, count: length / 99_999 + 1))
        let frames = points.map(\.frame)
        func expected(_ u: Int64) -> Float {
            // First point after u.
            var low = 0, high = frames.count
            while low < high { let m = (low + high) / 2; if frames[m] <= u { low = m + 1 } else { high = m } }
            if low == 0 { return points[0].gains[0] }
            if low == frames.count { return points[frames.count - 1].gains[0] }
            let first = Double(points[low - 1].gains[0])
            let slope = (Double(points[low].gains[0]) - first) / Double(frames[low] - frames[low - 1])
            return Float(first + slope * Double(u - frames[low - 1]))
        }
        var bad = 0
        var example = ""
        for u in stride(from: 0, to: length, by: 7) where out[0][u] != expected(Int64(u)) {
            bad += 1
            if example.isEmpty { example = "frame \(u): \(out[0][u]) vs \(expected(Int64(u)))" }
        }
        #expect(bad == 0, "\(bad) frames differ, first \(example)")
        let lastFrame = out[1][length - 1], held = 0.5 * points.last!.gains[0]
        #expect(lastFrame == held)
    }

    /// Crossfades with no output channel, and with 4096 outputs fed by a mono
    /// clip under a 4096-wide envelope (the scratch tiles, the per-output
    /// weights and the target lists at their limits): values as defined, no
    /// memory error (run under ASan) (held up).
    @Test func crossfadesAtZeroAndAtTheMostOutputChannels() throws {
        do {
            let renderer = try OfflineRenderer(outputChannels: 0)
            let clip = try Self.ones(1000)
            try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [], fadeIn: 10,
                                                    envelope: GainEnvelope([.init(frame: 0, gain: 1)]))])
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: 100)
            try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [])], crossfade: 300)
            try renderer.setPosition(10, crossfade: 200)
            let out = try renderer.render(periods: [100, 300, 1])
            #expect(out.isEmpty)
        }
        let outputs = 4096
        let clip = try Self.ones(600)
        let gains = (0..<outputs).map { Float($0 % 7) / 4 }
        let envelope = GainEnvelope([.init(frame: 0, gains: (0..<outputs).map { Float($0 % 5) }),
                                     .init(frame: 256, gains: (0..<outputs).map { Float(($0 + 1) % 3) })])
        let first: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: gains, fadeOut: 100, envelope: envelope)]
        let second: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: [Float](repeating: 1, count: outputs))]
        func render(_ periods: [Int]) throws -> [[Float]] {
            let renderer = try OfflineRenderer(outputChannels: outputs)
            try renderer.schedulePlayspecChange(first, insertAt: 0, startFrom: 0)
            try renderer.setTransportRolling(true)
            try renderer.schedulePlayspecChange(second, insertAt: 100, startFrom: 0, crossfade: Crossfade(frames: 300, shape: .linear))
            return try renderer.render(periods: periods)
        }
        let out = try render([700])
        let split = try render([99, 2, 299, 300])
        let difference = Self.firstDifference(out, split)
        #expect(difference == nil)
        // Before the change: gain · envelope(f) (f < 256 interpolated).
        for c in [0, 1, 4095] {
            let f = 50
            let e0 = Double(c % 5), e1 = Double((c + 1) % 3)
            let env = Float(e0 + (e1 - e0) / 256 * Double(f))
            let before = out[c][f], plain = gains[c] * env
            #expect(before == plain, "channel \(c) frame \(f)")
            // k = 150 into the crossfade: the old at frame 250 (envelope, no fade yet), the new at 450.
            let k = 150.0
            let old = gains[c] * Float(e0 + (e1 - e0) / 256 * 250)
            let expected = Float(k / 300) * 1 + Float((300 - k) / 300) * old
            let inside = out[c][250], after = (out[c][400], out[c][699])
            #expect(abs(inside - expected) <= 1e-6, "channel \(c) in the crossfade")
            #expect(after == (1, 1), "channel \(c) after it")
        }
    }

    /// Crossfaded jumps at the timeline's edges: from just below +2^62 to
    /// −2^62 and back with the longest crossfade, whose old side runs on past
    /// +2^62, under a repeating shaped entry and a timeline envelope at ±2^60
    /// (held up: no overflow trap under -fsanitize, no memory error).
    @Test func crossfadedJumpsAtTheTimelineLimits() throws {
        let limit: Int64 = 1 << 62
        let clip = try Self.ones(1000)
        let renderer = try OfflineRenderer(outputChannels: 2)
        try renderer.setPlayspec([
            PlayspecEntry(clip: clip, playAt: -(1 << 60), repeatInterval: 1 << 60, gains: [1, 1], fadeIn: 400, fadeOut: 500,
                          envelope: GainEnvelope([.init(frame: -(1 << 60), gain: 0), .init(frame: 1 << 60, gain: 1)],
                                                 timeBase: .timeline)),
            PlayspecEntry(clip: clip, playAt: 0, repeatInterval: 1000, gains: [1, 1], fadeIn: 400, fadeOut: 500,
                          envelope: GainEnvelope([.init(frame: 0, gain: 1), .init(frame: 999, gain: 0)])),
        ])
        try renderer.setTransportRolling(true)
        try renderer.setPosition(limit - 100)
        _ = try renderer.render(frames: 50)
        try renderer.setPosition(-limit, crossfade: Crossfade(frames: Crossfade.maximumFrames, shape: .exponential))
        let a = try renderer.render(periods: [1000, 4096, 77])
        let finiteA = a[0].allSatisfy { $0.isFinite }
        #expect(finiteA)
        try renderer.schedulePlayspecChange([], insertAt: renderer.position + 10, startFrom: limit, crossfade: Crossfade(frames: 1 << 24))
        let b = try renderer.render(periods: [1000, 4096, 77])
        let finiteB = b[1].allSatisfy { $0.isFinite }
        #expect(finiteB)
        #expect(renderer.core.lostNotices == 0)
    }

    // MARK: Lifetimes

    /// A stall mid-crossfade gives, after it, exactly the samples an unstalled
    /// render has at the same frames (both timelines and the crossfade ran
    /// on through the gap); a stall longer than what is left of the
    /// crossfade ends it and releases the old playspec (held up).
    @Test func aStallMidCrossfadeIsTheSameAsPlayingThroughIt() throws {
        let tone = try AudioClip(channels: [toneSamples(997, frames: 20000)], sampleRate: 48000)
        let other = try AudioClip(channels: [toneSamples(300, frames: 20000)], sampleRate: 48000)
        func make() throws -> (OfflineRenderer, Watched) {
            let renderer = try OfflineRenderer(outputChannels: 1)
            try renderer.setPlayspec([PlayspecEntry(clip: tone, playAt: 0, gains: [1], fadeIn: 50)])
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: 1000)
            let replaced = Watched(tone)
            try renderer.schedulePlayspecChange([PlayspecEntry(clip: other, playAt: 0, gains: [1])], insertAt: 1100,
                                                startFrom: 9000, crossfade: 1000)
            return (renderer, replaced)
        }
        let (plain, _) = try make()
        let straight = try plain.render(periods: [256, 256, 256, 256, 256])[0]
        let (stalled, _) = try make()
        let before = try stalled.render(frames: 256)[0]
        // Clock step 256 more than the period: one cycle of 256 skipped.
        let after = try stalled.render(frames: 256, input: nil, clockStep: 256)[0]
        let sameBefore = before == Array(straight[0..<256])
        #expect(sameBefore)
        let difference = Self.firstDifference([after], [Array(straight[512..<768])])
        #expect(difference == nil)

        let renderer = try OfflineRenderer(outputChannels: 1)
        let watch = try Self.constant(0.5) { try renderer.setPlayspec($0) }
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 100)
        try renderer.setPlayspec([], crossfade: 500)
        _ = try renderer.render(frames: 100)
        #expect(watch.isAlive)
        // A stall of 1000 frames (10 cycles of this period).
        let out = try renderer.render(frames: 100, input: nil, clockStep: 1000)[0]
        #expect(out.allSatisfy { $0 == 0 }, "the crossfade ran out in the stall")
        #expect(!watch.isAlive, "released when the stall ended the crossfade")
        #expect(renderer.core.lostNotices == 0)
    }

    /// Stop mid-crossfade ends it (tail released, silence), start resumes the
    /// new timeline alone; a renderer dropped mid-crossfade frees both
    /// playspecs; a change superseded or skipped while a crossfade runs
    /// frees its own playspec, never the one the tail plays (held up).
    @Test func stopStartCloseSupersedeAndSkipAroundACrossfade() throws {
        do {
            let renderer = try OfflineRenderer(outputChannels: 1)
            let wa = try Self.constant(1) { try renderer.setPlayspec($0) }
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: 10)
            let wb = try Self.constant(2) { try renderer.setPlayspec($0, crossfade: Crossfade(frames: 400, shape: .linear)) }
            _ = try renderer.render(frames: 100)
            #expect(wa.isAlive && wb.isAlive)
            try renderer.setTransportRolling(false)
            let stopped = try renderer.render(frames: 50)[0]
            #expect(stopped.allSatisfy { $0 == 0 })
            #expect(!wa.isAlive && wb.isAlive)
            try renderer.setTransportRolling(true)
            let resumed = try renderer.render(frames: 50)[0]
            #expect(resumed.allSatisfy { $0 == 2 }, "the new alone: \(resumed.prefix(3))")
            #expect(renderer.core.lostNotices == 0)
        }
        do {
            var watches: [Watched] = []
            do {
                let renderer = try OfflineRenderer(outputChannels: 1)
                watches.append(try Self.constant(1) { try renderer.setPlayspec($0) })
                try renderer.setTransportRolling(true)
                _ = try renderer.render(frames: 10)
                watches.append(try Self.constant(2) { try renderer.setPlayspec($0, crossfade: 400) })
                _ = try renderer.render(frames: 100)
                let allAlive = watches.allSatisfy { $0.isAlive }
                #expect(allAlive)
            }
            #expect(watches.allSatisfy { !$0.isAlive }, "dropping the renderer mid-crossfade frees both sides")
        }
        do {
            let renderer = try OfflineRenderer(outputChannels: 1)
            let wa = try Self.constant(1) { try renderer.setPlayspec($0) }
            try renderer.setTransportRolling(true)
            _ = try renderer.render(frames: 10)
            let wb = try Self.constant(2) { try renderer.setPlayspec($0, crossfade: Crossfade(frames: 1000, shape: .linear)) }
            var pendingC: PlayspecChange?, pendingD: PlayspecChange?
            let wc = try Self.constant(3) { pendingC = try renderer.schedulePlayspecChange($0, insertAt: 5000, startFrom: 0, crossfade: 100) }
            _ = try renderer.render(frames: 100)
            // Superseded while the crossfade runs.
            let wd = try Self.constant(4) {
                pendingD = try renderer.schedulePlayspecChange($0, insertAt: 6000, startFrom: 0, supersedingPending: true, crossfade: 100)
            }
            let out1 = try renderer.render(frames: 100)[0]
            #expect(pendingC?.currentResult == .superseded && !wc.isAlive)
            #expect(wa.isAlive && wb.isAlive, "the crossfade still plays a")
            let first = out1[0]
            #expect(first == Float(100.0 / 1000) * 2 + Float(900.0 / 1000) * 1)
            // A crossfaded seek past d's frame skips d and ends the a→b crossfade.
            try renderer.setPosition(7000, crossfade: Crossfade(frames: 64, shape: .linear))
            let out2 = try renderer.render(frames: 100)[0]
            #expect(pendingD?.currentResult == .skipped(seekTo: 7000) && !wd.isAlive)
            #expect(!wa.isAlive && wb.isAlive)
            #expect(out2.allSatisfy { $0 == 2 }, "b fades into b: \(out2.prefix(3))")
            #expect(renderer.core.lostNotices == 0)
        }
    }

    // MARK: Capture

    /// Captured input during crossfaded jumps and replacements is labelled by
    /// the new timeline from the change's frame on: each chunk's frames are
    /// the input's true frames (an input ramp whose value is its own played
    /// frame, with a round trip of 0), playspec ids change exactly at the
    /// change, and the continuity invariant holds within segments (held up).
    @Test func capturedInputIsLabelledByTheNewTimelineDuringCrossfades() throws {
        let clip = try Self.ones(100_000)
        let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
        let playspec: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: [1])]
        try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 64, input: [(0..<64).map(Float.init)])
        try renderer.schedulePlayspecChange(playspec, insertAt: 300, startFrom: 10_000, crossfade: 500)
        try renderer.schedulePlayspecChange(playspec, insertAt: 10_200, startFrom: 20_000, crossfade: 500)
        // Input sample = the timeline frame it should be labelled with, known
        // from the schedule: played frame p (from 64) maps to p before 300,
        // 10_000 + (p − 300) before 10_200 on the new timeline, …
        func label(_ played: Int) -> Int {
            if played < 300 { return played }
            if played < 500 { return 10_000 + played - 300 }
            return 20_000 + played - 500
        }
        var played = 64
        for period in [100, 37, 256, 1, 300, 500] {
            let input = [(0..<period).map { Float(label(played + $0)) }]
            _ = try renderer.render(frames: period, input: input)
            played += period
        }
        let chunks = renderer.takeInputChunks().filter { $0.frameCount > 0 }
        let checked = chunks.filter { $0.wasTransportRolling }.reduce(0) { $0 + $1.frameCount }
        #expect(checked == played, "every frame was captured and checked")
        let starts = Set(chunks.map { $0.startingFrame })
        #expect(starts.isSuperset(of: [10_000, 20_000]), "a chunk starts at each change")
        for chunk in chunks where chunk.wasTransportRolling {
            for i in 0..<chunk.frameCount {
                let value = chunk.samples[i]
                #expect(Int(value) == Int(chunk.startingFrame) + i,
                        "chunk at \(chunk.startingFrame): frame \(i) carries input of \(value)")
            }
        }
    }
}
