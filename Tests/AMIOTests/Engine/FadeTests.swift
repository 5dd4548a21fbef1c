@testable import AMIO
import Foundation
import Testing

/// The largest difference between neighbouring samples: what a click is
/// made of, and what a sine of frequency f and amplitude 1 keeps at
/// 2·sin(π f / rate).
func largestStep(_ samples: some Collection<Float>) -> Float {
    zip(samples, samples.dropFirst()).reduce(0) { max($0, abs($1.1 - $1.0)) }
}

/// `frames` samples of a sine of `frequency` at 48 kHz, amplitude 1, phase 0 at frame 0.
func toneSamples(_ frequency: Double, frames: Int) -> [Float] {
    (0..<frames).map { Float(sin(2 * Double.pi * frequency * Double($0) / 48000)) }
}

/// Click-free edits through the offline renderer: fades take the click out
/// of a hard crop, a crossfade out of a loop jump, without moving a single
/// frame of the new timeline; what the renderer refuses; and that a
/// crossfade's old playspec is released when its tail has played.
@Suite struct FadeTests {
    // MARK: Clicks

    /// A full-scale 997 Hz sine cropped where its samples are large: cut
    /// hard, its first and last samples jump from and to silence (a click
    /// ~7× the sine's own largest step); with 64-frame fades no step at the
    /// start or the end is larger than the sine's own. (An exponential fade
    /// of 64 frames is steep at its loud end and is not held to this.)
    @Test(arguments: [FadeShape.linear, .equalPower])
    func fadesTakeTheClickOutOfACropThatStartsAndEndsMidCycle(shape: FadeShape) throws {
        let sine = toneSamples(997, frames: 8000)
        let own = largestStep(sine)
        let clip = try AudioClip(channels: [sine], sampleRate: 48000)
        let crop = 12..<4012, playAt = 1000, fade = 64
        try #require(abs(sine[crop.lowerBound]) > 0.9 && abs(sine[crop.upperBound - 1]) > 0.9, "the crop cuts the sine where it is large")
        func render(fades: Int) throws -> [Float] {
            let renderer = try OfflineRenderer(outputChannels: 1)
            try renderer.setPlayspec([PlayspecEntry(clip: clip, frames: crop, playAt: Int64(playAt), gains: [1],
                                                    fadeIn: fades, fadeOut: fades, fadeShape: shape)])
            try renderer.setTransportRolling(true)
            return try renderer.render(periods: Array(repeating: 250, count: 24))[0]
        }
        let faded = try render(fades: fade), cut = try render(fades: 0)
        let end = playAt + crop.count
        // From the silence before through the fade-in; from the fade-out into the silence after.
        let onset = (playAt - 1)...(playAt + fade), release = (end - fade - 1)...end
        #expect(largestStep(faded[onset]) <= own, "\(shape) fade-in: \(largestStep(faded[onset])) > \(own)")
        #expect(largestStep(faded[release]) <= own, "\(shape) fade-out: \(largestStep(faded[release])) > \(own)")
        // Between the fades the crop plays untouched, sample for sample.
        #expect(Array(faded[(playAt + fade)..<(end - fade)]) == Array(sine[(crop.lowerBound + fade)..<(crop.upperBound - fade)]))
        #expect(faded[playAt - 1] == 0 && faded[end] == 0)
        // The counter-case: the same crop without fades clicks.
        #expect(largestStep(cut[onset]) > 5 * own)
        #expect(largestStep(cut[release]) > 5 * own)
    }

    struct Jump: Sendable, CustomTestStringConvertible {
        let name: String
        /// The timeline's samples from frame 0, and the largest step of the
        /// material it is made of (each clip's own).
        let timeline: @Sendable () throws -> (playspec: Playspec, samples: [Float], ownStep: Float)
        let crossfade: Crossfade
        var testDescription: String { name }
    }

    /// One tone, looped back from a crest to a trough (the loop's length is
    /// no whole number of cycles): `crossfade: 256`, equal power, the two
    /// sides nearly opposite. And two unrelated tones (997 Hz jumping back
    /// into 440 Hz) under a linear crossfade, whose weights sum to 1: an
    /// equal-power one keeps the power, not the amplitude, and where two
    /// unrelated tones' slopes line up its middle steps up to √2 times theirs.
    static let jumps: [Jump] = [
        Jump(name: "one tone, crossfade: 256", timeline: {
            let tone = toneSamples(997, frames: 40000)
            let clip = try AudioClip(channels: [tone], sampleRate: 48000)
            return ([PlayspecEntry(clip: clip, playAt: 0, gains: [1])], tone, largestStep(tone))
        }, crossfade: 256),
        Jump(name: "440 Hz and 997 Hz, linear 256", timeline: {
            let low = toneSamples(440, frames: 20000), high = toneSamples(997, frames: 20000)
            let playspec: Playspec = [
                PlayspecEntry(clip: try AudioClip(channels: [low], sampleRate: 48000), playAt: 0, gains: [1]),
                PlayspecEntry(clip: try AudioClip(channels: [high], sampleRate: 48000), playAt: 20000, gains: [1]),
            ]
            return (playspec, low + high, max(largestStep(low), largestStep(high)))
        }, crossfade: Crossfade(frames: 256, shape: .linear)),
    ]

    /// A loop jump (the same playspec, from B back to A) where the waveform
    /// at A is far from the one at B: with the crossfade no step around the
    /// jump exceeds the material's own; with crossfade 0 the jump is a click.
    @Test(arguments: jumps)
    func aCrossfadedLoopJumpDoesNotClick(_ jump: Jump) throws {
        let (playspec, samples, own) = try jump.timeline()
        // A at a trough, B at a crest: a hard cut jumps by almost 2.
        let a = (1000..<20000).first { samples[$0] < -0.99 }!, b = (30000..<40000).first { samples[$0] > 0.99 }!
        func render(_ crossfade: Crossfade) throws -> [Float] {
            let renderer = try OfflineRenderer(outputChannels: 1)
            try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
            let loop = try renderer.schedulePlayspecChange(playspec, insertAt: Int64(b), startFrom: Int64(a), crossfade: crossfade)
            try renderer.setTransportRolling(true)
            let output = try renderer.render(periods: Array(repeating: 256, count: 123))[0]
            #expect(loop.currentResult == .applied(atFrame: Int64(b)))
            return output
        }
        let faded = try render(jump.crossfade), cut = try render(.none)
        // Output frame b is where the new timeline starts (frame a).
        #expect(Array(cut[(b - 300)..<b]) == Array(samples[(b - 300)..<b]))
        #expect(Array(cut[b..<(b + 600)]) == Array(samples[a..<(a + 600)]))
        let around = (b - 300)..<(b + jump.crossfade.frames + 300)
        #expect(largestStep(faded[around]) <= own, "\(jump.name): \(largestStep(faded[around])) > \(own)")
        // After the crossfade the new timeline plays alone, exactly.
        #expect(Array(faded[(b + jump.crossfade.frames)..<(b + 600)]) == Array(samples[(a + jump.crossfade.frames)..<(a + 600)]))
        #expect(largestStep(cut[around]) > 5 * own, "the cut must click, or this test proves nothing")
    }

    // MARK: Exactness

    /// Renders a script of a start, a loop jump, a replacement and a seek,
    /// each made with `crossfade` (nil: the calls without the parameter).
    static func renderScript(crossfade: Crossfade?) throws -> (output: [[Float]], results: [PlayspecChangeResult?]) {
        var rng = SeededGenerator(seed: 11)
        let noise = try (0..<2).map { _ in
            try AudioClip(channels: (0..<2).map { _ in (0..<3000).map { _ in Float.random(in: -1...1, using: &rng) } },
                          sampleRate: 48000)
        }
        let first: Playspec = [PlayspecEntry(clip: noise[0], frames: 100..<900, playAt: 0, repeatInterval: 700,
                                             gains: [1, 0.5], fadeIn: 30, fadeOut: 50)]
        let second: Playspec = [PlayspecEntry(clip: noise[1], playAt: 1500, gains: [0.8, 1], fadeShape: .equalPower,
                                              envelope: GainEnvelope([.init(frame: 1800, gains: [1, 0.2]),
                                                                      .init(frame: 2600, gains: [0, 1])],
                                                                     timeBase: .timeline))]
        let renderer = try OfflineRenderer(outputChannels: 2)
        var changes: [PlayspecChange] = []
        var output = [[Float]](repeating: [], count: 2)
        func play(_ periods: [Int]) throws {
            let block = try renderer.render(periods: periods)
            for channel in 0..<2 { output[channel] += block[channel] }
        }
        try renderer.setTransportRolling(true)
        if let crossfade {
            changes.append(try renderer.schedulePlayspecChange(first, insertAt: 0, startFrom: 0, crossfade: crossfade))
            try play([100, 100, 100])
            changes.append(try renderer.schedulePlayspecChange(second, insertAt: 500, startFrom: 2000, crossfade: crossfade))
            try play([128, 128, 128, 128])
            changes.append(try renderer.setPlayspec(first, crossfade: crossfade))
            try play([97, 97])
            try renderer.setPosition(100, crossfade: crossfade)
            try play([200, 200])
        } else {
            changes.append(try renderer.schedulePlayspecChange(first, insertAt: 0, startFrom: 0))
            try play([100, 100, 100])
            changes.append(try renderer.schedulePlayspecChange(second, insertAt: 500, startFrom: 2000))
            try play([128, 128, 128, 128])
            changes.append(try renderer.setPlayspec(first))
            try play([97, 97])
            try renderer.setPosition(100)
            try play([200, 200])
        }
        return (output, changes.map(\.currentResult))
    }

    /// Crossfade 0, in any shape, is the exact cut: bit for bit the output
    /// of the calls without a crossfade. A crossfade of one frame is not.
    @Test func crossfadeZeroRendersExactlyAsTheCallWithoutIt() throws {
        let plain = try Self.renderScript(crossfade: nil)
        #expect(plain.results == [.applied(atFrame: 0), .applied(atFrame: 500), .applied(atFrame: 2312)])
        for zero in [Crossfade.none, 0, Crossfade(frames: 0, shape: .exponential)] {
            let rendered = try Self.renderScript(crossfade: zero)
            #expect(rendered.output == plain.output, "\(zero)")
            #expect(rendered.results == plain.results)
        }
        let oneFrame = try Self.renderScript(crossfade: 1)
        #expect(oneFrame.results == plain.results)
        #expect(oneFrame.output != plain.output, "a crossfade of 1 frame keeps the old sound for the change's frame")
    }

    enum Edit: String, Sendable, CaseIterable { case loopJump, replacement, seek }

    /// An impulse at new-timeline frame K sounds on exactly the output frame
    /// where the new timeline reaches K, inside the crossfade (k = 128 of
    /// 256, where it weighs s(½)) and after it; and captured input, with a
    /// round trip of 0, is labelled K there: the old tail is output only.
    @Test(arguments: Edit.allCases, [FadeShape.equalPower, .linear])
    func anImpulseOfTheNewTimelineSoundsOnItsExactFrame(edit: Edit, shape: FadeShape) throws {
        let background = try AudioClip(channels: [toneSamples(440, frames: 40000).map { 0.1 * $0 }], sampleRate: 48000)
        let impulse = try AudioClip(channels: [[1]], sampleRate: 48000)
        let crossfade = Crossfade(frames: 256, shape: shape)
        // The change sounds from output frame 5000 on; the new timeline starts
        // there at `start` (the old position for a replacement).
        let changeFrame = 5000, start: Int64 = edit == .replacement ? 5000 : 20000
        let inside = start + 128, after = start + 400
        let old: Playspec = [PlayspecEntry(clip: background, playAt: 0, gains: [1])]
        let new = Playspec(old.entries + [PlayspecEntry(clip: impulse, playAt: inside, gains: [1]),
                                          PlayspecEntry(clip: impulse, playAt: after, gains: [1])])
        // A period of 125 puts a cycle start on frame 5000, where a seek or a
        // replacement made before that cycle applies; the loop jump (at 97)
        // applies inside one.
        let period = edit == .loopJump ? 97 : 125
        func render(input: [Float]?, impulses: Bool = true) throws -> (output: [Float], captured: [InputAudioChunk]) {
            let new = impulses ? new : old
            let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
            try renderer.setPlayspec(edit == .seek ? new : old)
            try renderer.setTransportRolling(true)
            var output: [Float] = []
            func play(until frame: Int) throws {
                while output.count < frame {
                    let frames = min(period, frame - output.count)
                    let slice = input.map { [Array($0[output.count..<(output.count + frames)])] }
                    output += try renderer.render(frames: frames, input: slice)[0]
                }
            }
            switch edit {
            case .loopJump:
                let change = try renderer.schedulePlayspecChange(new, insertAt: Int64(changeFrame), startFrom: start,
                                                                 crossfade: crossfade)
                try play(until: 7000)
                #expect(change.currentResult == .applied(atFrame: Int64(changeFrame)))
            case .replacement:
                try play(until: changeFrame)
                let change = try renderer.setPlayspec(new, crossfade: crossfade)
                try play(until: 7000)
                #expect(change.currentResult == .applied(atFrame: Int64(changeFrame)))
            case .seek:
                try play(until: changeFrame)
                #expect(renderer.position == Int64(changeFrame))
                try renderer.setPosition(start, crossfade: crossfade)
                try play(until: 7000)
            }
            return (output, renderer.takeInputChunks())
        }
        let (output, _) = try render(input: nil)
        func peak(in frames: Range<Int>) -> Int { frames.max { abs(output[$0]) < abs(output[$1]) }! }
        let insideFrame = changeFrame + Int(inside - start), afterFrame = changeFrame + Int(after - start)
        #expect(peak(in: (changeFrame - 500)..<(changeFrame + 264)) == insideFrame, "\(edit), \(shape): inside the crossfade")
        #expect(peak(in: (changeFrame + 264)..<7000) == afterFrame, "\(edit), \(shape): after the crossfade")
        // Without the impulses the output differs on those two frames only,
        // by the new side's weight there: s(128/256) inside, 1 after.
        let weight: Float = shape == .linear ? 0.5 : Float(sin(Double.pi / 4))
        let (withoutImpulses, _) = try render(input: nil, impulses: false)
        let differing = output.indices.filter { output[$0] != withoutImpulses[$0] }
        #expect(differing == [insideFrame, afterFrame], "\(edit), \(shape)")
        #expect(abs(output[insideFrame] - withoutImpulses[insideFrame] - weight) < 1e-6)
        #expect(abs(output[afterFrame] - withoutImpulses[afterFrame] - 1) < 1e-6)

        // Fed its own output back with no delay, the renderer labels what it
        // hears with the new timeline.
        let (_, chunks) = try render(input: output)
        var heard: [Int64: Float] = [:]
        for chunk in chunks where chunk.wasTransportRolling {
            for (i, value) in chunk.samples(channel: 0).enumerated() where value > 0.3 {
                heard[chunk.startingFrame + Int64(i)] = value
            }
        }
        #expect(heard.keys.sorted() == [inside, after], "\(edit), \(shape): captured at \(heard.keys.sorted())")
    }

    /// A stall (cycles the server skipped) counts as crossfade frames
    /// passing: after a stall of 200 frames 100 frames into a crossfade of
    /// 512, the next frame is k = 300, not k = 100.
    @Test func aStallCountsAsCrossfadeFramesPassing() throws {
        let one = try AudioClip(channels: [[1]], sampleRate: 48000)
        let renderer = try OfflineRenderer(outputChannels: 1)
        try renderer.setPlayspec([PlayspecEntry(clip: one, playAt: 0, repeatInterval: 1, gains: [1])])
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 100)
        // From a constant 1 to silence: the output is the old side's weight, (X − k)/X.
        try renderer.setPlayspec([], crossfade: Crossfade(frames: 512, shape: .linear))
        let first = try renderer.render(frames: 100)[0]
        #expect(first[0] == 1 && first[99] == Float(512 - 99) / 512)
        let afterStall = try renderer.render(frames: 100, input: nil, clockStep: 200)[0]
        #expect(renderer.position == 500)
        #expect(afterStall[0] == Float(512 - 300) / 512, "k after the stall: \(512 - afterStall[0] * 512)")
        // The rest of the 512 frames plays out: k = 400 … 511 in the next cycle.
        let last = try renderer.render(frames: 200)[0]
        #expect(last[111] == Float(1) / 512 && last[112] == 0)
    }

    // MARK: Envelopes

    /// The envelope's rules at their edges, independent of the reference
    /// model: held before its first point and after its last, linear in
    /// amplitude between (a ramp from 1 to 0 halves at its middle), one gain
    /// per output, on the timeline or restarting with every repetition, and
    /// multiplying the entry's gains and fades.
    @Test func envelopesHoldInterpolateAndFollowTheirTimeBase() throws {
        let one = try AudioClip(channels: [[Float](repeating: 1, count: 400)], sampleRate: 48000)
        let renderer = try OfflineRenderer(outputChannels: 2)
        try renderer.setPlayspec([
            // Timeline frames: output 0 ramps down over [100, 200], output 1 up.
            PlayspecEntry(clip: one, playAt: 0, gains: [1, 0.5],
                          envelope: GainEnvelope([.init(frame: 100, gains: [1, 0]), .init(frame: 200, gains: [0, 1])],
                                                 timeBase: .timeline)),
        ])
        try renderer.setTransportRolling(true)
        let timeline = try renderer.render(periods: [64, 64, 64, 64, 64, 64, 64])
        #expect(timeline[0][0] == 1 && timeline[0][100] == 1 && timeline[0][150] == 0.5 && timeline[0][200] == 0 && timeline[0][399] == 0)
        #expect(timeline[1][0] == 0 && timeline[1][150] == 0.25 && timeline[1][200] == 0.5 && timeline[1][399] == 0.5)

        // Occurrence frames restart with each repetition; a fade multiplies in.
        let repeating = try OfflineRenderer(outputChannels: 1)
        try repeating.setPlayspec([
            PlayspecEntry(clip: one, frames: 0..<100, playAt: 0, repeatInterval: 100, gains: [1], fadeIn: 16,
                          envelope: GainEnvelope([.init(frame: 0, gain: 0.5), .init(frame: 64, gain: 1)])),
        ])
        try repeating.setTransportRolling(true)
        let occurrences = try repeating.render(frames: 300)[0]
        for start in [0, 100, 200] {
            #expect(occurrences[start] == 0, "the fade-in starts each occurrence at 0")
            #expect(occurrences[start + 8] == 0.28125, "fade ½ × envelope 0.5625")
            #expect(occurrences[start + 32] == 0.75 && occurrences[start + 70] == 1)
        }
    }

    // MARK: Validation

    struct Invalid: Sendable, CustomTestStringConvertible {
        let name: String
        let entry: @Sendable (AudioClip) -> PlayspecEntry
        let reason: String
        var testDescription: String { name }
    }

    static let invalid: [Invalid] = [
        Invalid(name: "negative fade-in", entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1], fadeIn: -1) },
                reason: "must not be negative"),
        Invalid(name: "negative fade-out", entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1], fadeOut: -5) },
                reason: "must not be negative"),
        Invalid(name: "fades longer than the crop",
                entry: { PlayspecEntry(clip: $0, frames: 0..<100, playAt: 0, gains: [1, 1], fadeIn: 60, fadeOut: 41) },
                reason: "exceed the 100 frames of one occurrence"),
        Invalid(name: "fades longer than the repeat interval",
                entry: { PlayspecEntry(clip: $0, frames: 0..<100, playAt: 0, repeatInterval: 50, gains: [1, 1],
                                       fadeIn: 30, fadeOut: 21) },
                reason: "exceed the 50 frames of one occurrence"),
        Invalid(name: "empty envelope",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1], envelope: GainEnvelope([])) },
                reason: "has no points"),
        Invalid(name: "repeated envelope frame",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 10, gain: 1), .init(frame: 10, gain: 0)])) },
                reason: "frames must increase"),
        Invalid(name: "decreasing envelope frames",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 0, gain: 1), .init(frame: 20, gain: 1),
                                                               .init(frame: 19, gain: 0)], timeBase: .timeline)) },
                reason: "point 2 is at frame 19, not after point 1"),
        Invalid(name: "NaN envelope gain",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 0, gains: [1, .nan])])) },
                reason: "gains must be finite"),
        Invalid(name: "infinite envelope gain",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 0, gain: 1), .init(frame: 5, gain: -.infinity)])) },
                reason: "gains must be finite"),
        Invalid(name: "three envelope gains for two outputs",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 0, gains: [1, 1, 1])])) },
                reason: "give 1 (every output) or 2 (one per output)"),
        Invalid(name: "envelope points of different widths",
                entry: { PlayspecEntry(clip: $0, playAt: 0, gains: [1, 1],
                                       envelope: GainEnvelope([.init(frame: 0, gains: [1, 1]), .init(frame: 5, gain: 1)])) },
                reason: "point 1 has 1 gains, point 0 has 2"),
    ]

    /// Each bad fade or envelope is refused with ``AMIOError/invalidPlayspec(entry:reason:)``
    /// naming the entry, whichever call carries it; nothing is queued (the
    /// next change takes the next id, the playing playspec carries on).
    @Test(arguments: invalid)
    func invalidFadesAndEnvelopesAreRefusedAndNothingIsQueued(_ testCase: Invalid) throws {
        let renderer = try OfflineRenderer(outputChannels: 2)
        let clip = try rampClip(frames: 100)
        let playing: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1])]
        try renderer.setTransportRolling(true)
        let first = try renderer.setPlayspec(playing)
        _ = try renderer.render(frames: 10)
        let bad = Playspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1]), testCase.entry(clip)])
        let calls: [(String, () throws -> Void)] = [
            ("schedulePlayspecChange", { _ = try renderer.schedulePlayspecChange(bad, insertAt: 0, startFrom: 0) }),
            ("setPlayspec", { _ = try renderer.setPlayspec(bad) }),
            ("a crossfaded setPlayspec", { _ = try renderer.setPlayspec(bad, crossfade: 64) }),
        ]
        for (name, call) in calls {
            let error = #expect(throws: AMIOError.self, "\(name)") { try call() }
            guard case let .invalidPlayspec(entry, reason) = error else {
                Issue.record("\(testCase.name), \(name): \(String(describing: error))")
                continue
            }
            #expect(entry == 1, "\(testCase.name): the error names entry \(entry)")
            #expect(reason.contains(testCase.reason), "\(testCase.name): \(reason)")
        }
        let after = try renderer.render(frames: 10)
        #expect(after[0] == (11...20).map(Float.init), "the playing playspec carries on")
        let next = try renderer.setPlayspec(playing)
        #expect(next.id == first.id + 1, "nothing was queued in between")
    }

    /// The same fades at their limits are accepted: they fill the occurrence
    /// (cut at the repeat interval) exactly.
    @Test func fadesThatFillTheOccurrenceExactlyAreAccepted() throws {
        let renderer = try OfflineRenderer(outputChannels: 2)
        let clip = try rampClip(frames: 100)
        let change = try renderer.setPlayspec([
            PlayspecEntry(clip: clip, frames: 0..<100, playAt: 0, gains: [1, 1], fadeIn: 60, fadeOut: 40),
            PlayspecEntry(clip: clip, frames: 0..<100, playAt: 0, repeatInterval: 50, gains: [1, 1], fadeIn: 30, fadeOut: 20),
            PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1], fadeIn: 100),
        ])
        _ = try renderer.render(frames: 1)
        #expect(change.currentResult == .applied(atFrame: 0))
    }

    /// A crossfade outside 0 … ``Crossfade/maximumFrames`` is refused with
    /// ``AMIOError/invalidArgument(name:reason:)`` by all three calls and
    /// queues nothing; the maximum itself is accepted.
    @Test(arguments: [-1, Crossfade.maximumFrames + 1, Int.min, Int.max])
    func aCrossfadeOutOfRangeIsRefusedAndNothingIsQueued(frames: Int) throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let clip = try rampClip(frames: 100)
        let playing: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: [1])]
        try renderer.setTransportRolling(true)
        let first = try renderer.setPlayspec(playing)
        _ = try renderer.render(frames: 10)
        let crossfade = Crossfade(frames: frames)
        let calls: [(String, () throws -> Void)] = [
            ("schedulePlayspecChange", { _ = try renderer.schedulePlayspecChange(playing, insertAt: 0, startFrom: 50, crossfade: crossfade) }),
            ("setPlayspec", { _ = try renderer.setPlayspec([], crossfade: crossfade) }),
            ("setPosition", { try renderer.setPosition(50, crossfade: crossfade) }),
        ]
        for (name, call) in calls {
            let error = #expect(throws: AMIOError.self, "\(name)") { try call() }
            guard case let .invalidArgument(argument, reason) = error else {
                Issue.record("\(name): \(String(describing: error))")
                continue
            }
            #expect(argument == "crossfade" && reason.contains("\(frames)"), "\(name): \(argument): \(reason)")
        }
        let after = try renderer.render(frames: 10)[0]
        #expect(after == (11...20).map(Float.init), "no seek, no new playspec: the timeline carries on")
        let next = try renderer.setPlayspec(playing, crossfade: Crossfade(frames: Crossfade.maximumFrames))
        #expect(next.id == first.id + 1, "nothing was queued in between")
        try renderer.setPosition(0, crossfade: Crossfade(frames: Crossfade.maximumFrames))
        _ = try renderer.render(frames: 1)
        #expect(next.currentResult == .applied(atFrame: 20))
    }

    // MARK: Releasing the old playspec

    /// Whether the samples of a clip are still alive: the engine keeps a
    /// playspec (and so its clips) until the realtime side has retired it.
    final class Watched {
        weak var storage: ClipStorage?
        let value: Float
        init(_ clip: AudioClip, value: Float) {
            storage = clip.storage
            self.value = value
        }
        var isAlive: Bool { storage != nil }
    }

    /// A playspec of a constant `value`: a clip of one frame, repeated every
    /// frame, watched.
    static func constant(_ value: Float) throws -> (Playspec, Watched) {
        let clip = try AudioClip(channels: [[value]], sampleRate: 48000)
        return ([PlayspecEntry(clip: clip, playAt: 0, repeatInterval: 1, gains: [1])], Watched(clip, value: value))
    }

    /// Hundreds of crossfaded changes in a row (replacements, loop jumps and
    /// crossfaded seeks; some cut short by the next change 40 frames into
    /// their crossfade, some in bursts applied in one cycle): every one
    /// applies, the output is the crossfade of the two constants it joins,
    /// and each replaced playspec stays alive exactly while its tail plays
    /// and is released when the tail ends or is cut short: none leaks, none
    /// is freed while the realtime side may still read it.
    @Test func crossfadedChangesReleaseTheOldPlayspecWhenItsTailEnds() throws {
        let capacity = 4, crossfade = Crossfade(frames: 96, shape: .linear)
        let renderer = try OfflineRenderer(outputChannels: 1, changeCapacity: capacity)
        try renderer.setTransportRolling(true)
        var watched: [Watched] = []
        var handles: [PlayspecChange] = []
        // What plays, and the replaced playspec a running crossfade still plays underneath.
        var current: Watched?, tail: Watched?
        for round in 0..<300 {
            let kind = round % 4
            // Now and then a burst of three, applied in one cycle.
            let burst = round % 25 == 24 ? capacity - 1 : 1
            var old: Float = current?.value ?? 0
            for _ in 0..<burst {
                // Each change ends the crossfade under way, releasing its tail.
                tail = nil
                old = current?.value ?? 0
                if kind == 3 {
                    // A crossfaded seek: its old side plays the current playspec on.
                    try renderer.setPosition(renderer.position + 5000, crossfade: crossfade)
                    continue
                }
                let (playspec, watch) = try Self.constant(Float(watched.count + 1))
                watched.append(watch)
                if kind == 2 {
                    let position = renderer.position
                    handles.append(try renderer.schedulePlayspecChange(playspec, insertAt: position, startFrom: position + 1000,
                                                                       crossfade: crossfade))
                } else {
                    handles.append(try renderer.setPlayspec(playspec, crossfade: crossfade))
                }
                tail = current
                current = watch
            }
            let frames = round % 3 == 0 ? 40 : 128
            let output = try renderer.render(frames: frames)[0]
            let fading = frames < crossfade.frames
            if !fading { tail = nil }
            let expected = Set([current, tail].compactMap { $0 }.map(ObjectIdentifier.init))
            let alive = Set(watched.filter(\.isAlive).map(ObjectIdentifier.init))
            #expect(alive == expected, "round \(round): \(watched.filter(\.isAlive).map(\.value)) alive, not \([current, tail].compactMap { $0?.value })")
            // The last frame: k = frames − 1 of the crossfade, or the new constant alone.
            if let current {
                let k = Double(frames - 1)
                let sample = fading ? Float(k / 96) * current.value + Float((96 - k) / 96) * old : current.value
                #expect(abs(output[frames - 1] - sample) <= 1e-5 * abs(sample),
                        "round \(round): \(output[frames - 1]), not \(sample)")
            }
        }
        _ = try renderer.render(frames: 200)
        #expect(handles.count > 220)
        #expect(handles.allSatisfy { if case .applied = $0.currentResult { true } else { false } })
        #expect(watched.filter(\.isAlive).map(\.value) == [current!.value], "only the playing playspec is left")
        #expect(renderer.core.lostNotices == 0)
    }

    /// As many crossfaded changes as the change queue holds (N), applied in
    /// one cycle while a crossfade from the cycle before still runs, the
    /// last of them ending inside that cycle: each change is applied (N
    /// notices) and each of the N + 1 crossfades ended in the cycle releases
    /// the playspec it replaced (N + 1 notices). The engine's notice ring
    /// must hold all 2N + 1, or a handle never resolves or a playspec is
    /// never freed.
    @Test(arguments: [4, 64, 256])
    func aFullQueueOfCrossfadedChangesInOneCycleLosesNoNotice(capacity: Int) throws {
        let crossfade = Crossfade(frames: 32, shape: .linear)
        let renderer = try OfflineRenderer(outputChannels: 1, changeCapacity: capacity)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 1)
        var watched: [Watched] = []
        func change() throws -> PlayspecChange {
            let (playspec, watch) = try Self.constant(Float(watched.count + 1))
            watched.append(watch)
            return try renderer.setPlayspec(playspec, crossfade: crossfade)
        }
        let first = try change()
        _ = try renderer.render(frames: 1)
        let second = try change()
        _ = try renderer.render(frames: 10)  // its crossfade (from the first) still runs
        #expect(first.currentResult == .applied(atFrame: 1) && second.currentResult == .applied(atFrame: 2))
        let burst = try (0..<capacity).map { _ in try change() }
        let output = try renderer.render(frames: 64)[0]  // the last crossfade ends at frame 32
        #expect(output[63] == Float(watched.count), "the last playspec plays alone")
        #expect(burst.allSatisfy { $0.currentResult == .applied(atFrame: 12) },
                "\(burst.map { String(describing: $0.currentResult) })")
        #expect(renderer.core.lostNotices == 0, "the engine lost \(renderer.core.lostNotices) notices")
        #expect(watched.filter(\.isAlive).map(\.value) == [Float(watched.count)], "leaked: \(watched.filter(\.isAlive).map(\.value).dropLast())")
    }
}
