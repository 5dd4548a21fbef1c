@testable import AMIO
import Testing

/// ≥ 500 seeded random playspecs (with random fades, fade shapes and gain
/// envelopes of both time bases, one gain or one per output), changes,
/// replacements, seeks (each with a random crossfade, 0 included) and
/// transport commands, rendered through the offline driver in random period
/// splits, against the per-sample reference model: the output within 1e-6
/// and every change's outcome exactly.
@Suite struct ReferenceModelTests {
    static let sampleRate = 48000

    func randomClip(_ rng: inout SeededGenerator, channels: Int) throws -> AudioClip {
        let frames = Int.random(in: 1...300, using: &rng)
        let data = (0..<channels).map { _ in (0..<frames).map { _ in Float.random(in: -1...1, using: &rng) } }
        return try AudioClip(channels: data, sampleRate: Self.sampleRate)
    }

    func randomPlayspec(_ rng: inout SeededGenerator, outputs: Int, clips: [AudioClip]) -> Playspec {
        var playspec = Playspec()
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let clip = clips.randomElement(using: &rng)!
            let a = Int.random(in: 0..<clip.frameCount, using: &rng)
            let b = Int.random(in: (a + 1)...clip.frameCount, using: &rng)
            let repeating = Bool.random(using: &rng)
            var entry = PlayspecEntry(
                clip: clip, frames: a..<b, playAt: Int64.random(in: -200...1500, using: &rng),
                repeatInterval: repeating ? Int64.random(in: 1...400, using: &rng) : 0,
                gains: (0..<outputs).map { _ in Float.random(in: -1...1, using: &rng) })
            // Fades that fit one occurrence (the crop, cut at the interval),
            // up to filling it; none in a third of the entries.
            if Int.random(in: 0..<3, using: &rng) > 0 {
                let length = entry.occurrenceLength
                entry.fadeIn = Bool.random(using: &rng) ? Int.random(in: 0...length, using: &rng) : 0
                entry.fadeOut = Bool.random(using: &rng) ? Int.random(in: 0...(length - entry.fadeIn), using: &rng) : 0
                entry.fadeShape = FadeShape.allCases.randomElement(using: &rng)!
            }
            if Bool.random(using: &rng) {
                entry.envelope = randomEnvelope(&rng, outputs: outputs, entry: entry)
            }
            playspec.append(entry)
        }
        return playspec
    }

    /// 1 … 5 breakpoints around where `entry` sounds (some before and after
    /// it), one gain or one per output.
    func randomEnvelope(_ rng: inout SeededGenerator, outputs: Int, entry: PlayspecEntry) -> GainEnvelope {
        let timeBase = GainEnvelope.TimeBase.allCases.randomElement(using: &rng)!
        let span: ClosedRange<Int64> = timeBase == .occurrence
            ? -50...(Int64(entry.occurrenceLength) + 50)
            : (entry.playAt - 100)...(entry.playAt + 1200)
        let count = Int.random(in: 1...5, using: &rng)
        let frames = Set((0..<count).map { _ in Int64.random(in: span, using: &rng) }).sorted()
        let width = Bool.random(using: &rng) ? 1 : outputs
        return GainEnvelope(frames.map { frame in
            GainEnvelope.Point(frame: frame, gains: (0..<width).map { _ in Float.random(in: -1...1, using: &rng) })
        }, timeBase: timeBase)
    }

    /// 0 (an exact cut) in a third of the commands, else 1 … 700 frames in any shape.
    func randomCrossfade(_ rng: inout SeededGenerator) -> Crossfade {
        guard Int.random(in: 0..<3, using: &rng) > 0 else { return .none }
        return Crossfade(frames: Int.random(in: 1...700, using: &rng), shape: FadeShape.allCases.randomElement(using: &rng)!)
    }

    @Test(arguments: 0..<500)
    func offlineEngineMatchesReference(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 17)
        let outputs = [1, 2, 6].randomElement(using: &rng)!
        let clips = try (0..<3).map { _ in try randomClip(&rng, channels: [1, 2, 6].randomElement(using: &rng)!) }
        let totalFrames = Int.random(in: 500...2500, using: &rng)

        var periods: [Int] = []
        while periods.reduce(0, +) < totalFrames {
            periods.append(min(Int.random(in: 1...1000, using: &rng), totalFrames - periods.reduce(0, +)))
        }
        var cycleStarts: [Int] = []
        var acc = 0
        for period in periods { cycleStarts.append(acc); acc += period }

        // The transport starts and the first change starts the playspec at
        // frame 0; then changes jump about, playspecs are replaced, the
        // timeline is sought and the transport stops and starts.
        var calls: [ReferenceMixer.Call] = [
            .init(command: .roll(true), visibleFrom: 0),
            .init(command: .change(randomPlayspec(&rng, outputs: outputs, clips: clips), insertAt: 0, startFrom: 0,
                                   superseding: false, crossfade: randomCrossfade(&rng)), visibleFrom: 0),
        ]
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            let command: ReferenceMixer.Command
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<6:
                command = .change(randomPlayspec(&rng, outputs: outputs, clips: clips),
                                  insertAt: Int64.random(in: -100...2500, using: &rng),
                                  startFrom: Int64.random(in: -300...2000, using: &rng),
                                  superseding: Int.random(in: 0..<5, using: &rng) == 0,
                                  crossfade: randomCrossfade(&rng))
            case 6: command = .replace(randomPlayspec(&rng, outputs: outputs, clips: clips), crossfade: randomCrossfade(&rng))
            case 7, 8: command = .seek(Int64.random(in: -200...2500, using: &rng), crossfade: randomCrossfade(&rng))
            default: command = .roll(Bool.random(using: &rng))
            }
            calls.append(.init(command: command, visibleFrom: cycleStarts.randomElement(using: &rng)!))
        }
        // Stable: calls visible from the same cycle keep the order they were made in.
        calls = calls.enumerated().sorted { ($0.element.visibleFrom, $0.offset) < ($1.element.visibleFrom, $1.offset) }
            .map(\.element)

        let renderer = try OfflineRenderer(sampleRate: Self.sampleRate, outputChannels: outputs)
        var handles: [PlayspecChange] = []
        var next = 0
        var output = [[Float]](repeating: [], count: outputs)
        for (index, period) in periods.enumerated() {
            while next < calls.count && calls[next].visibleFrom <= cycleStarts[index] {
                switch calls[next].command {
                case let .change(playspec, insertAt, startFrom, superseding, crossfade):
                    handles.append(try renderer.schedulePlayspecChange(
                        playspec, insertAt: insertAt, startFrom: startFrom, supersedingPending: superseding,
                        crossfade: crossfade))
                case let .replace(playspec, crossfade): handles.append(try renderer.setPlayspec(playspec, crossfade: crossfade))
                case let .seek(frame, crossfade): try renderer.setPosition(frame, crossfade: crossfade)
                case let .roll(rolling): try renderer.setTransportRolling(rolling)
                }
                next += 1
            }
            let block = try renderer.render(frames: period)
            for channel in 0..<outputs { output[channel] += block[channel] }
        }

        let reference = ReferenceMixer(outputChannels: outputs).render(frames: totalFrames, calls: calls)
        var worst: Float = 0
        for channel in 0..<outputs {
            for frame in 0..<totalFrames {
                worst = max(worst, abs(output[channel][frame] - reference.output[channel][frame]))
            }
        }
        #expect(worst <= 1e-6, "seed \(seed): max difference \(worst)")
        // Every change resolved exactly as the model says: applied at the same
        // frame, superseded, skipped by the same seek, or still pending.
        #expect(handles.count == reference.outcomes.count)
        for (handle, expected) in zip(handles, reference.outcomes) {
            #expect(handle.currentResult == expected,
                    "seed \(seed): change \(handle.id) is \(String(describing: handle.currentResult)), not \(String(describing: expected))")
        }
    }
}
