@testable import AMIO
import Testing

/// Plays the part of a JACK server around an offline renderer: each cycle's
/// input is made from what the engine played, the way the server routes it.
/// With it, stalls, period changes and latency changes can be made exactly
/// where a test wants them.
struct LoopEmulator {
    enum Path {
        /// The input of a cycle is the previous executed cycle's output, as
        /// jackd gives a client fed from its own outputs; in the first cycle
        /// after a period change the resized buffer holds none of it (jackd
        /// clears it; `stale` here, which must never be captured).
        case feedback
        /// The input at absolute frame A is what was played at A − frames
        /// (port latency); a frame that was never played (a stall) is silence.
        case delay(Int)
        /// A loop through another client that delays by this many frames of
        /// the cycles that ran (jack_latent_client's delay line), broken by
        /// the server with one cycle: the input of a cycle is the client's
        /// output of the previous cycle.
        case throughClient(Int)
        /// A device monitor, as PipeWire's sink: the input of a cycle is what
        /// the device received one server cycle (of this cycle's length)
        /// earlier; silence if the engine did not run then.
        case monitor
    }

    static let stale: Float = -7

    let renderer: OfflineRenderer
    /// The route the signal takes; setting it does not tell the engine (a
    /// test publishes the new latency when the driver would).
    var path: Path
    private(set) var chunks: [InputAudioChunk] = []
    /// Absolute frames (the server's clock) of what channel 0 played.
    private var played: [Int64: Float] = [:]
    /// Before the first cycle the buffer holds silence.
    private var previousOutput: [Float]? = nil
    private var clock: Int64 = 0

    /// Routes `renderer`'s output back to its input along `path` and
    /// publishes the latency of that path, as the JACK driver would.
    init(_ renderer: OfflineRenderer, path: Path) {
        self.renderer = renderer
        self.path = path
        switch path {
        case .feedback: renderer.publishLatencyForTesting(external: 0, feedbackCycles: 1)
        case let .delay(frames): renderer.publishLatencyForTesting(external: frames, feedbackCycles: 0)
        case .monitor: renderer.publishLatencyForTesting(external: 0, feedbackCycles: 0, periods: 1)
        case let .throughClient(frames): renderer.publishLatencyForTesting(external: frames, feedbackCycles: 1)
        }
    }

    /// Everything the engine played, in the order the cycles ran (what a
    /// client on the loop sees: it knows nothing of stalls).
    private var executed: [Float] = []

    /// One cycle of `frames`, after the server skipped `stall` frames.
    mutating func cycle(_ frames: Int, stall: Int = 0) throws {
        clock += Int64(stall)
        var input = [Float](repeating: 0, count: frames)
        switch path {
        case .feedback:
            let previous = previousOutput ?? [Float](repeating: 0, count: frames)
            for i in 0..<frames { input[i] = previous.count == frames ? previous[i] : Self.stale }
        case let .delay(delay):
            for i in 0..<frames { input[i] = played[clock + Int64(i) - Int64(delay)] ?? 0 }
        case .monitor:
            for i in 0..<frames { input[i] = played[clock + Int64(i) - Int64(frames)] ?? 0 }
        case let .throughClient(delay):
            // The client ran the previous cycle (as long as this one) on
            // what was played `delay` executed frames before it.
            let start = executed.count - frames - delay
            for i in 0..<frames where start + i >= 0 && start + i < executed.count { input[i] = executed[start + i] }
        }
        let output = try renderer.render(frames: frames, input: [input], clockStep: Int32(stall))[0]
        for (i, value) in output.enumerated() { played[clock + Int64(i)] = value }
        executed += output
        previousOutput = output
        clock += Int64(frames)
        chunks += renderer.takeInputChunks()
    }

    /// The chunks captured while the transport rolled.
    var rolling: [InputAudioChunk] { chunks.filter(\.wasTransportRolling) }
}

/// Every captured frame of a ramp (value = timeline frame + 1) carries its
/// own label; silence is allowed only where `silenceAllowed` says.
func expectTrueLabels(_ chunks: [InputAudioChunk], silenceAllowed: (Int64) -> Bool = { _ in false },
                      sourceLocation: SourceLocation = #_sourceLocation) {
    for chunk in chunks {
        for (i, value) in chunk.samples(channel: 0).enumerated() {
            let frame = chunk.startingFrame + Int64(i)
            if value == 0 && silenceAllowed(frame) { continue }
            if value != Float(frame + 1) {
                Issue.record("frame \(frame) is labelled but holds \(value) (timeline frame \(Int64(value) - 1))",
                             sourceLocation: sourceLocation)
                return
            }
        }
    }
}

/// The offline renderer with a ramp rolling from frame 0, input on one channel.
func rampRenderer(frames: Int = 400_000) throws -> OfflineRenderer {
    let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
    try renderer.schedulePlayspecChange([PlayspecEntry(clip: try rampClip(frames: frames), playAt: 0, gains: [1])],
                                        insertAt: 0, startFrom: 0)
    try renderer.setTransportRolling(true)
    return renderer
}

/// Capture labels stay exact when the server stalls, the period changes or
/// the latency changes: no frame labelled twice, every frame never labelled
/// counted, the chunk invariant without exceptions.
@Suite struct CaptureTimingTests {
    @Test(arguments: [LoopEmulator.Path.feedback, .delay(700), .monitor, .throughClient(1000)])
    func aStallIsCountedOnTheChunkAfterTheGapAndNowhereElse(path: LoopEmulator.Path) throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: path)
        for cycle in 0..<40 { try loop.cycle(256, stall: cycle == 20 ? 1000 : 0) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        let lost = chunks.dropFirst().map(\.droppedFramesBefore)
        // A device monitor is not labelled in the cycle after the stall (it
        // follows the server's cycles, which were unsteady), nor in the two
        // settling cycles after it: three periods more.
        // Through a latency-adding client, the frames its delay line carried
        // across the stall are not where the clock puts them: counted too.
        switch path {
        case .monitor: #expect(lost.reduce(0, +) == 1000 + 3 * 256)
        case .throughClient: #expect(lost.reduce(0, +) >= 1000 && lost.reduce(0, +) <= 1000 + 1000 + 2 * 256)
        default:
            #expect(lost.reduce(0, +) == 1000, "the stall's frames, once: \(lost.filter { $0 > 0 })")
            #expect(lost.filter { $0 > 0 }.count == 1, "reported on one chunk")
        }
        // Through port latency the frames played during the stall were never
        // played: they are silence, at the frames the stall skipped.
        expectTrueLabels(chunks, silenceAllowed: { (20 * 256)..<(20 * 256 + 1000) ~= $0 })
        #expect(renderer.position == 40 * 256 + 1000)
    }

    @Test(arguments: [[256, 1024], [256, 64], [256, 64, 1024, 2048, 256], [128, 8192, 16, 100, 4097]])
    func aPeriodChangeOnAFedBackLoopNeitherRepeatsNorHidesAFrame(periods: [Int]) throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .feedback)
        for period in periods { for _ in 0..<12 { try loop.cycle(period) } }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
        let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
        // Each change loses the last cycle before it: the resized buffer of
        // the first cycle after it held none of that cycle's output.
        let expectedLoss = zip(periods, periods.dropFirst()).reduce(0) { $0 + $1.0 }
        #expect(lost == expectedLoss)
        #expect(!chunks.contains { $0.samples(channel: 0).contains(LoopEmulator.stale) }, "stale buffer captured")
        let last = chunks.last!
        let span = Int(last.endFrame - chunks.first!.startingFrame)
        #expect(span == chunks.reduce(0) { $0 + $1.frameCount } + lost, "frames + losses tile the timeline")
    }

    // (A loop of port latency is never shorter than a period: the input cannot
    // hold what the same cycle is about to play.)
    /// PipeWire changes the quantum by skipping one cycle of the new size;
    /// the sink's monitor then delivers that cycle's silence, and after it
    /// exactly what the engine played one cycle before.
    @Test(arguments: [[256, 1024], [1024, 64], [256, 64, 1024, 2048, 256]])
    func aQuantumChangeThroughASinkMonitorNeitherRepeatsNorHidesAFrame(periods: [Int]) throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .monitor)
        var previous: Int?
        var skipped: [Range<Int64>] = []
        var clock: Int64 = 0
        for period in periods {
            for cycle in 0..<12 {
                let stall = cycle == 0 && previous != nil ? period : 0
                if stall > 0 { skipped.append(clock..<(clock + Int64(stall))) }
                try loop.cycle(period, stall: stall)
                clock += Int64(stall + period)
            }
            previous = period
        }
        let chunks = loop.rolling
        expectContiguous(chunks)
        // The transport started at clock 0, timeline 0, and never jumped: a
        // timeline frame is a clock frame, and the skipped cycles are silent.
        expectTrueLabels(chunks, silenceAllowed: { frame in skipped.contains { $0.contains(frame) } })
        let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
        // Each change loses the last cycle before it (it was on the monitor
        // while the engine skipped the cycle that would have taken it in),
        // the skipped cycle itself, never played, and the first two cycles of
        // the new size, heard while the monitor settles.
        let expected = zip(periods, periods.dropFirst()).reduce(0) { $0 + $1.0 + 3 * $1.1 }
        #expect(lost == expected)
    }

    @Test(arguments: [(300, 1500), (1500, 300), (256, 5000), (5000, 256), (1000, 1001), (1001, 1000)])
    func aLatencyChangeTakesEffectAtACycleBoundaryWithoutDuplicatesOrHiddenGaps(before: Int, after: Int) throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .delay(before))
        for _ in 0..<40 { try loop.cycle(256) }
        loop.path = .delay(after)
        renderer.publishLatencyForTesting(external: after, feedbackCycles: 0)
        for _ in 0..<60 { try loop.cycle(256) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
        let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
        #expect(lost == max(0, before - after), "a shorter delay leaves exactly the difference unheard")
    }

    @Test func inputIsNotCapturedWhileThePortLatencyOfANewPeriodIsUnknown() throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .delay(512))
        renderer.publishLatencyForTesting(external: 512, feedbackCycles: 0, period: 256)
        for _ in 0..<20 { try loop.cycle(256) }
        // The period changes; the driver learns the new latency three cycles later.
        loop.path = .delay(2048)
        for _ in 0..<3 { try loop.cycle(1024) }
        renderer.publishLatencyForTesting(external: 2048, feedbackCycles: 0, period: 1024)
        for _ in 0..<10 { try loop.cycle(1024) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
        let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
        #expect(lost > 0 && lost <= 3 * 1024 + 2048, "the unlabelled cycles are counted: \(lost)")
    }

    /// A short step of the clock (it moved less than a cycle) must not be
    /// set against a real stall long after it.
    @Test func aShortClockStepIsForgivenOnceTheClockRunsSteadily() throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .feedback)
        for cycle in 0..<400 {
            let stall = cycle == 10 ? -156 : cycle == 300 ? 1000 : 0
            try loop.cycle(256, stall: stall)
        }
        #expect(renderer.position == 400 * 256 + 1000, "the stall at cycle 300 moved the timeline on by all of it")
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
        #expect(chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore } == 1000)
    }

    @Test func aFrameTimeThatStepsBackIsNoStall() throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .feedback)
        for cycle in 0..<30 { try loop.cycle(256, stall: cycle == 10 ? -100_000 : 0) }
        #expect(renderer.position == 30 * 256, "the timeline did not jump by ~4 billion frames")
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
        #expect(chunks.dropFirst().allSatisfy { $0.droppedFramesBefore == 0 })
    }

    /// jackd steps its frame time by new − old at a period change (measured
    /// +768 at 256 → 1024, −960 at 1024 → 64): no time passed, so neither
    /// the timeline nor the loss count may jump.
    @Test(arguments: [[256, 1024], [64, 1024], [1024, 64], [16, 8192, 16], [256, 64, 1024, 2048, 256]])
    func jackdsClockStepAtAPeriodChangeIsNoStall(periods: [Int]) throws {
        let renderer = try rampRenderer()
        renderer.publishLatencyForTesting(external: 0, feedbackCycles: 1)
        var previous: Int?
        for period in periods {
            for _ in 0..<4 {
                // The offline driver steps by the last period plus clockStep.
                let step = previous.map { period - $0 - $0 } ?? 0
                _ = try renderer.render(frames: period, input: [[Float](repeating: 0, count: period)], clockStep: Int32(step))
                previous = period
            }
        }
        #expect(renderer.position == Int64(periods.reduce(0, +) * 4))
    }

    /// PipeWire catching up after a stop runs cycles back to back, its frame
    /// time repeating and then stepping two periods (measured: 39 cycles in
    /// under 1 ms, the frame time advancing exactly 256 a cycle over them):
    /// the timeline keeps pace with the server's clock, it does not run ahead.
    @Test func aBurstOfCatchUpCyclesKeepsPaceWithTheServersClock() throws {
        let renderer = try rampRenderer()
        var loop = LoopEmulator(renderer, path: .monitor)
        for _ in 0..<10 { try loop.cycle(256) }
        for pair in 0..<20 {
            try loop.cycle(256, stall: -256)  // the frame time repeats
            try loop.cycle(256, stall: pair == 19 ? 0 : 256)
        }
        for _ in 0..<10 { try loop.cycle(256) }
        #expect(renderer.position == Int64(60 * 256), "the timeline ran ahead of the clock by \(renderer.position - 60 * 256)")
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks)
    }

    @Test func segmentsThatLeftTheHistoryAreCountedNeverMislabelled() throws {
        // A round trip of 200 000 frames and a seek every other 16-frame
        // cycle for the first 160 000 frames: 5000 segments inside one round
        // trip, more than the history holds.
        let renderer = try rampRenderer(frames: 1_000_000)
        var loop = LoopEmulator(renderer, path: .delay(200_000))
        for cycle in 0..<24_000 {
            if cycle % 2 == 0 && cycle < 10_000 { try renderer.setPosition(Int64(cycle) * 40) }
            try loop.cycle(16)
        }
        let chunks = loop.rolling
        expectTrueLabels(chunks)
        #expect(renderer.unlabelledInputFrames > 0, "the history overflowed and said so")
        // The first chunk labelled by a rolling segment carries the loss.
        let lost = chunks.reduce(0) { $0 + $1.droppedFramesBefore }
        #expect(lost >= renderer.unlabelledInputFrames, "every unlabelled frame is a reported loss")
        #expect(chunks.count > 100)
    }
}

/// All changes take effect in submission order; seeks and transport commands
/// never wait behind a change pending for a later frame.
@Suite struct ChangeOrderTests {
    @Test func aSeekAfterADueChangeIsAppliedAfterIt() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let ramp = try rampClip(frames: 20_000)
        let jump = try renderer.schedulePlayspecChange([PlayspecEntry(clip: ramp, playAt: 0, gains: [1])],
                                                       insertAt: 0, startFrom: 5000)
        try renderer.setPosition(1000)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 64)[0]
        #expect(jump.currentResult == .applied(atFrame: 0))
        #expect(renderer.position == 1064, "submission order: the jump to 5000, then the seek to 1000")
        #expect(out[0] == 1001)
    }

    @Test func aSeekDoesNotWaitBehindAChangeForALaterFrame() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let later = try renderer.schedulePlayspecChange([], insertAt: 1_000_000, startFrom: 0)
        try renderer.setTransportRolling(true)
        try renderer.setPosition(300)
        _ = try renderer.render(frames: 64)
        #expect(renderer.position == 364)
        #expect(later.currentResult == nil, "still pending: its frame is ahead")
    }

    @Test func aSeekPastAPendingLoopJumpSkipsItAndOneBeforeItKeepsIt() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let ramp = try rampClip(frames: 20_000)
        let spec: Playspec = [PlayspecEntry(clip: ramp, playAt: 0, gains: [1])]
        try renderer.schedulePlayspecChange(spec, insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 64)
        let passed = try renderer.schedulePlayspecChange(spec, insertAt: 2000, startFrom: 500)
        let ahead = try renderer.schedulePlayspecChange(spec, insertAt: 12_000, startFrom: 100)
        try renderer.setPosition(10_000)
        var out = try renderer.render(frames: 64)[0]
        #expect(passed.currentResult == .skipped(seekTo: 10_000), "never fired late")
        #expect(renderer.position == 10_064)
        #expect(out[0] == 10_001)
        #expect(ahead.currentResult == nil)
        // The change ahead of the new position fires on its frame.
        for _ in 0..<40 { out = try renderer.render(frames: 64)[0] }
        #expect(ahead.currentResult == .applied(atFrame: 12_000))
    }

    @Test func aSeekBackBeforeAPendingChangeKeepsItPending() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 5000)
        let pending = try renderer.schedulePlayspecChange([], insertAt: 6000, startFrom: 0)
        try renderer.setPosition(100)
        _ = try renderer.render(frames: 5000)
        #expect(pending.currentResult == nil)
        _ = try renderer.render(frames: 1000)
        #expect(pending.currentResult == .applied(atFrame: 6000))
    }

    @Test func transportCommandsKeepTheirPlaceAmongDueChanges() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let ramp = try rampClip(frames: 20_000)
        // Stop, then a change due now, then start: the change applies while
        // stopped (position 0 → 3000) and the start follows it.
        try renderer.setTransportRolling(false)
        let change = try renderer.schedulePlayspecChange([PlayspecEntry(clip: ramp, playAt: 0, gains: [1])],
                                                         insertAt: 0, startFrom: 3000)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 10)[0]
        #expect(change.currentResult == .applied(atFrame: 0))
        #expect(out[0] == 3001)
        #expect(renderer.position == 3010)
    }
}

/// Random stalls, period changes, latency changes, seeks and transport
/// commands around a loop: a second input channel carries the server clock at
/// which each captured sample was played, so it shows that every played frame
/// is captured once or counted lost, and the ramp on the first channel shows
/// every label true.
@Suite struct CapturePropertyTests {
    /// Long enough for any position a case reaches; made once (building a
    /// clip of millions of frames in a debug build costs more than a case).
    static let ramp = Result { try rampClip(frames: 1_200_000) }

    @Test(arguments: 0..<300)
    func everyPlayedFrameIsCapturedOnceOrCountedAndLabelledTrue(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 104_729 &+ 3)
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 2)
        let ramp = try Self.ramp.get()
        // Output 0 plays the ramp (timeline frame + 1); output 1 plays a
        // constant 1 so the loop shows which input frames carry output at all.
        let one = try AudioClip(channels: [[1]], sampleRate: 48000)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: ramp, playAt: 0, gains: [1, 0]),
                                             PlayspecEntry(clip: one, frames: 0..<1, playAt: 0, repeatInterval: 1, gains: [0, 1])],
                                            insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        let feedback = Bool.random(using: &rng)
        // A loop of port latency is never shorter than a period (the input
        // cannot hold what the same cycle is about to play): at least 4096.
        var loop = ClockedLoop(renderer: renderer, feedback: feedback, delay: feedback ? 0 : 5000)
        var period = [16, 64, 256, 1024].randomElement(using: &rng)!
        for _ in 0..<Int.random(in: 20...120, using: &rng) {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: period = [1, 16, 100, 256, 1024, 4096].randomElement(using: &rng)!
            case 1: try renderer.setPosition(Int64.random(in: 0...100_000, using: &rng))
            case 2: try renderer.setTransportRolling(Bool.random(using: &rng))
            case 3 where !feedback:
                loop.delay = Int.random(in: 4096...9000, using: &rng)
                renderer.publishLatencyForTesting(external: loop.delay, feedbackCycles: 0)
            case 4, 5: try loop.cycle(period, stall: Int.random(in: 1...3000, using: &rng))
            default: break
            }
            try loop.cycle(period)
        }
        let chunks = loop.chunks
        #expect(!chunks.isEmpty)
        // Channel 1: the server clock + 1 at which each captured frame was played.
        var expectedClock: Int64? = nil
        for chunk in chunks {
            let clocks = chunk.samples(channel: 1)
            guard let first = clocks.first else { continue }
            if first == 0 { continue } // the silence before the first cycle
            if let expectedClock {
                let jump = Int64(first) - expectedClock
                if jump != Int64(chunk.droppedFramesBefore) {
                    Issue.record("seed \(seed): played clock jumps by \(jump) before a chunk reporting \(chunk.droppedFramesBefore) lost")
                    return
                }
            }
            for (i, clock) in clocks.enumerated() where i > 0 && clock != clocks[clocks.startIndex + i - 1] + 1 {
                Issue.record("seed \(seed): played clock not contiguous inside a chunk")
                return
            }
            expectedClock = Int64(clocks.last!) + 1
            guard chunk.wasTransportRolling else { continue }
            let values = chunk.samples(channel: 0), played = loop.wasPlayingOutput
            for (i, value) in values.enumerated() where played(Int64(clocks[clocks.startIndex + i])) {
                let frame = chunk.startingFrame + Int64(i)
                if value != Float(frame + 1) {
                    Issue.record("seed \(seed): frame \(frame) labelled, but \(value) was playing")
                    return
                }
            }
        }
        #expect(!chunks.contains { $0.samples(channel: 1).contains(LoopEmulator.stale) }, "stale buffer captured")
    }
}

/// A loop whose input channel 1 says, for every input frame, at which server
/// clock frame (+ 1) it was played: the oracle for "captured once or counted".
struct ClockedLoop {
    let renderer: OfflineRenderer
    let feedback: Bool
    var delay: Int
    private(set) var chunks: [InputAudioChunk] = []
    /// What output 0 played and whether output 1 sounded, by server clock −
    /// `origin` (flat arrays: a dictionary made the test ten times slower).
    private var playedRamp: [Float] = []
    private var playedSounding: [Bool] = []
    private var previous: (ramp: [Float], clocks: [Float])? = nil
    /// The server clock starts far enough above 0 that no clock value read
    /// back (down to a delay before the start) is 0 ("never played") or the
    /// stale marker.
    private let origin: Int64 = 100_000
    private var clock: Int64 = 100_000

    init(renderer: OfflineRenderer, feedback: Bool, delay: Int) {
        self.renderer = renderer
        self.feedback = feedback
        self.delay = delay
        renderer.publishLatencyForTesting(external: delay, feedbackCycles: feedback ? 1 : 0)
    }

    /// Whether the engine's output was sounding at server clock `clock` + 1
    /// (output 1 of the playspec is 1 while rolling, 0 while stopped).
    var wasPlayingOutput: (Int64) -> Bool {
        let sounding = playedSounding, origin = origin
        return { clock in
            let index = clock - 1 - origin
            return index >= 0 && index < sounding.count && sounding[Int(index)]
        }
    }

    private mutating func record(at clock: Int64, ramp: Float, sounding: Bool) {
        let index = Int(clock - origin)
        if index >= playedRamp.count {
            playedRamp += [Float](repeating: 0, count: index + 1 - playedRamp.count)
            playedSounding += [Bool](repeating: false, count: index + 1 - playedSounding.count)
        }
        playedRamp[index] = ramp
        playedSounding[index] = sounding
    }

    mutating func cycle(_ frames: Int, stall: Int = 0) throws {
        clock += Int64(stall)
        var ramp = [Float](repeating: 0, count: frames), clocks = [Float](repeating: 0, count: frames)
        if feedback {
            if let previous {
                for i in 0..<frames {
                    let carried = previous.ramp.count == frames // jackd clears a resized buffer
                    ramp[i] = carried ? previous.ramp[i] : LoopEmulator.stale
                    clocks[i] = carried ? previous.clocks[i] : LoopEmulator.stale
                }
            }
        } else {
            for i in 0..<frames {
                let at = clock + Int64(i) - Int64(delay)
                let index = Int(at - origin)
                ramp[i] = index >= 0 && index < playedRamp.count ? playedRamp[index] : 0
                clocks[i] = Float(at + 1)
            }
        }
        let output = try renderer.render(frames: frames, input: [ramp, clocks], clockStep: Int32(stall))
        for i in 0..<frames { record(at: clock + Int64(i), ramp: output[0][i], sounding: output[1][i] == 1) }
        previous = (output[0], (0..<frames).map { Float(clock + Int64($0) + 1) })
        clock += Int64(frames)
        chunks += renderer.takeInputChunks()
    }
}

/// The timeline and every frame value lie within ±2^62: larger ones are a
/// typed error before anything is queued, and no change moves the timeline
/// beyond them (the realtime thread's arithmetic cannot overflow).
@Suite struct TimelineRangeTests {
    @Test func framesBeyondTwoToThe62AreRefusedBeforeAnythingIsQueued() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let outside: [Int64] = [.max, .min, (1 << 62) + 1, -(1 << 62) - 1]
        for frame in outside {
            #expect(throws: AMIOError.self) { try renderer.setPosition(frame) }
            #expect(throws: AMIOError.self) { try renderer.schedulePlayspecChange([], insertAt: frame, startFrom: 0) }
            #expect(throws: AMIOError.self) { try renderer.schedulePlayspecChange([], insertAt: 0, startFrom: frame) }
        }
        _ = try renderer.render(frames: 16)
        #expect(renderer.position == 0, "nothing was queued")
    }

    @Test func aChangeAppliedFarFromItsFrameStaysOnTheTimeline() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        try renderer.setPosition(1 << 62)
        let change = try renderer.schedulePlayspecChange([], insertAt: -(1 << 62), startFrom: 1 << 62)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 16)
        #expect(change.currentResult == .applied(atFrame: 1 << 62))
        #expect(renderer.position == (1 << 62) + 16, "held at the timeline's end, not wrapped round")
    }
}
