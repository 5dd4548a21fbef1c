@testable import AMIO
import CAMIO
import Testing

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

    /// A stall is a run of cycles that missed their deadline, counted once
    /// however long the run (jackd catches up after a stop with a second of
    /// late cycles); a server's own step at a period change is none.
    @Test func stallsAreCountedOncePerRunOfMissedCycles() throws {
        let renderer = try rampRenderer()
        func cycle(_ frames: Int = 256, clockStep: Int32 = 0, late: Bool = false) throws {
            if late { camio_engine_mark_late_cycle(renderer.core.engine) }
            _ = try renderer.render(frames: frames, input: [[Float](repeating: 0, count: frames)], clockStep: clockStep)
        }
        for _ in 0..<8 { try cycle() }
        #expect(renderer.core.stalls == 0)
        try cycle(clockStep: 256)                                          // a skipped cycle
        #expect(renderer.core.stalls == 1)
        try cycle(clockStep: 512)                                          // more skipped at once after it: the same stall
        for _ in 0..<20 { try cycle(late: true) }                          // and a burst of late ones
        #expect(renderer.core.stalls == 1)
        try cycle()
        try cycle(late: true)                                              // a new one
        #expect(renderer.core.stalls == 2)
        try cycle()
        camio_engine_mark_late_output(renderer.core.engine)               // the last cycle ended late
        try cycle()
        #expect(renderer.core.stalls == 3)
        try cycle()
        try cycle(1024, clockStep: 1024)                                   // PipeWire skips one cycle of a new quantum
        try cycle(256, clockStep: Int32(256 - 2 * 1024))                   // jackd steps by new − old
        #expect(renderer.core.stalls == 3, "a period change is no stall")
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
/// commands around a loop: beside each input channel that carries the
/// ramp, a second one carries the server clock at which each captured sample
/// was played, so it shows that every played frame is captured once or
/// counted lost, and the ramp shows every label true. With two paths of
/// different delays, both clock channels must name the same played frame at
/// every sample of every chunk.
@Suite struct CapturePropertyTests {
    /// Long enough for any position a case reaches; made once (building a
    /// clip of millions of frames in a debug build costs more than a case).
    static let ramp = Result { try rampClip(frames: 1_200_000) }

    @Test(arguments: 0..<300)
    func everyPlayedFrameIsCapturedOnceOrCountedAndLabelledTrue(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 104_729 &+ 3)
        // A loop of port latency is never shorter than a period (the input
        // cannot hold what the same cycle is about to play): at least 4096.
        let path: LoopEmulator.Path = Bool.random(using: &rng) ? .feedback : .delay(5000)
        try run(seed: seed, paths: [path], rng: &rng)
    }

    @Test(arguments: 0..<200)
    func channelsOfDifferentDelaysStayInLine(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7_919 &+ 11)
        let candidates: [LoopEmulator.Path] = [.feedback, .delay(5000), .throughClient(700), .monitor, .delay(4096)]
        let first = candidates.randomElement(using: &rng)!
        let second = candidates.filter { $0 != first }.randomElement(using: &rng)!
        try run(seed: seed, paths: [first, second], rng: &rng)
    }

    private func run(seed: Int, paths: [LoopEmulator.Path], rng: inout SeededGenerator) throws {
        let routes = paths.flatMap { path in
            [LoopEmulator.Route(path: path, signal: .output(0)), LoopEmulator.Route(path: path, signal: .playedClock)]
        }
        let renderer = try OfflineRenderer(inputChannels: routes.count, outputChannels: 2)
        let ramp = try Self.ramp.get()
        // Output 0 plays the ramp (timeline frame + 1); output 1 plays a
        // constant 1 so the loop shows which input frames carry output at all.
        let one = try AudioClip(channels: [[1]], sampleRate: 48000)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: ramp, playAt: 0, gains: [1, 0]),
                                             PlayspecEntry(clip: one, frames: 0..<1, playAt: 0, repeatInterval: 1, gains: [0, 1])],
                                            insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        var loop = LoopEmulator(renderer, routes: routes, origin: 100_000)
        var period = [16, 64, 256, 1024].randomElement(using: &rng)!
        for _ in 0..<Int.random(in: 20...120, using: &rng) {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: period = [1, 16, 100, 256, 1024, 4096].randomElement(using: &rng)!
            case 1: try renderer.setPosition(Int64.random(in: 0...100_000, using: &rng))
            case 2: try renderer.setTransportRolling(Bool.random(using: &rng))
            case 3:
                let delay = Int.random(in: 4096...9000, using: &rng)
                for index in loop.routes.indices {
                    if case .delay = loop.routes[index].path { loop.routes[index].path = .delay(delay) }
                }
                loop.publish()
            case 4, 5: try loop.cycle(period, stall: Int.random(in: 1...3000, using: &rng))
            default: break
            }
            try loop.cycle(period)
        }
        // Long enough for the longest delay to come round (and the skew between two).
        while loop.clock < 100_000 + 20_000 { try loop.cycle(256) }
        let chunks = loop.chunks
        #expect(!chunks.isEmpty, "seed \(seed) \(paths): nothing captured, \(camio_engine_dropped_input_frames(renderer.core.engine)) frames lost")
        let rampChannels = stride(from: 0, to: routes.count, by: 2), clockChannels = stride(from: 1, to: routes.count, by: 2)
        var expectedClock: Int64? = nil
        for chunk in chunks {
            // The server clock + 1 at which each captured frame was played:
            // the same on every clock channel (0 on one that carried the
            // silence before the first cycle).
            var clocks = [Float](repeating: 0, count: chunk.frameCount)
            for channel in clockChannels {
                for (i, clock) in chunk.samples(channel: channel).enumerated() where clock != 0 {
                    if clocks[i] != 0 && clocks[i] != clock {
                        Issue.record("seed \(seed) \(paths): frame \(chunk.startingFrame + Int64(i)) holds played clock \(clocks[i]) on one channel, \(clock) on channel \(channel)")
                        return
                    }
                    clocks[i] = clock
                }
            }
            guard let first = clocks.first, first != 0 else { continue } // the silence before the first cycle
            if let expectedClock {
                let jump = Int64(first) - expectedClock
                if jump != Int64(chunk.droppedFramesBefore) {
                    Issue.record("seed \(seed) \(paths): played clock jumps by \(jump) before a chunk reporting \(chunk.droppedFramesBefore) lost")
                    return
                }
            }
            for i in clocks.indices.dropFirst() where clocks[i] != clocks[i - 1] + 1 {
                Issue.record("seed \(seed) \(paths): played clock not contiguous inside a chunk")
                return
            }
            expectedClock = Int64(clocks.last!) + 1
            guard chunk.wasTransportRolling else { continue }
            for channel in rampChannels {
                for (i, value) in chunk.samples(channel: channel).enumerated()
                where loop.played(output: 1, atClock: Int64(clocks[i]) - 1) == 1 {
                    let frame = chunk.startingFrame + Int64(i)
                    if value != Float(frame + 1) {
                        Issue.record("seed \(seed) \(paths): channel \(channel) frame \(frame) labelled, but \(value) was playing")
                        return
                    }
                }
            }
        }
        #expect(!chunks.contains { chunk in (0..<chunk.channelCount).contains { chunk.samples(channel: $0).contains(LoopEmulator.stale) } },
                "stale buffer captured")
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

/// Input channels fed by paths of different delays are held in line: frame
/// i of every channel of a chunk was played at the same timeline frame.
@Suite struct InputAlignmentTests {
    func renderer(channels: Int, alignmentFrames: Int? = nil) throws -> OfflineRenderer {
        let renderer = try OfflineRenderer(inputChannels: channels, outputChannels: 1, inputAlignmentFrames: alignmentFrames)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: try rampClip(frames: 400_000), playAt: 0, gains: [1])],
                                            insertAt: 0, startFrom: 0)
        try renderer.setTransportRolling(true)
        return renderer
    }

    func lost(_ chunks: [InputAudioChunk]) -> Int { chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore } }

    @Test(arguments: [[LoopEmulator.Path.delay(5000), .monitor], [.feedback, .delay(700)],
                      [.throughClient(1000), .feedback], [.feedback, .delay(300), .throughClient(2000), .monitor]])
    func channelsOfDifferentDelaysLineUp(paths: [LoopEmulator.Path]) throws {
        let renderer = try renderer(channels: paths.count)
        var loop = LoopEmulator(renderer, routes: paths.map { .init(path: $0, signal: .output(0)) })
        for _ in 0..<100 { try loop.cycle(256) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks, channels: Array(paths.indices))
        #expect(lost(chunks) == 0)
        // Everything up to the most delayed channel's latest frame.
        let longest = paths.map { $0.delay.external + ($0.delay.feedbackCycles + $0.delay.periods) * 256 }.max()!
        #expect(chunks.last!.endFrame == Int64(100 * 256 - longest))
    }

    /// Frames a stall takes from either channel are lost for both, and
    /// counted once: the feedback loop has no input for the frames the stall
    /// skipped (they were never played), the delayed one none for the
    /// frames that would have arrived during it.
    @Test func aStallLosesTheUnionOfWhatEachChannelMissed() throws {
        let renderer = try renderer(channels: 2)
        var loop = LoopEmulator(renderer, routes: [.init(path: .feedback, signal: .output(0)),
                                                   .init(path: .delay(700), signal: .output(0))])
        for cycle in 0..<60 { try loop.cycle(256, stall: cycle == 30 ? 1000 : 0) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks, channels: [0, 1])
        // The stall began at 30 * 256: the delayed channel misses the 1000
        // frames played from 700 before it, the loop the 1000 skipped.
        #expect(lost(chunks) == 1700)
    }

    /// A latency change that gives one channel its own delay, and one that
    /// takes it away again: no frame twice, none missing uncounted.
    @Test func channelsMoveInAndOutOfLine() throws {
        let renderer = try renderer(channels: 2)
        var loop = LoopEmulator(renderer, routes: [.init(path: .delay(700), signal: .output(0)),
                                                   .init(path: .delay(700), signal: .output(0))])
        for _ in 0..<30 { try loop.cycle(256) }
        loop.routes[1].path = .delay(1500) // a latent client on the second input
        loop.publish()
        for _ in 0..<30 { try loop.cycle(256) }
        loop.routes[1].path = .delay(700)  // and out again
        loop.publish()
        for _ in 0..<30 { try loop.cycle(256) }
        let chunks = loop.rolling
        expectContiguous(chunks)
        expectTrueLabels(chunks, channels: [0, 1])
        // A longer delay costs nothing (the frames come later); a shorter one
        // leaves the difference unheard.
        #expect(lost(chunks) == 800)
        #expect(chunks.last!.endFrame == Int64(90 * 256 - 700))
    }

    /// Delays further apart than the frames kept to align them: the input is
    /// counted as lost, never delivered out of line.
    @Test func aSkewBeyondTheAlignmentFramesIsCountedNeverMisaligned() throws {
        let renderer = try renderer(channels: 2, alignmentFrames: 1024)
        var loop = LoopEmulator(renderer, routes: [.init(path: .feedback, signal: .output(0)),
                                                   .init(path: .delay(5000), signal: .output(0))])
        for _ in 0..<100 { try loop.cycle(256) }
        #expect(loop.chunks.isEmpty)
        #expect(camio_engine_dropped_input_frames(renderer.core.engine) > 0, "the input that could not be aligned is counted")
        // Within reach (5000 - 256 apart, 8192 kept): in line.
        let wide = try self.renderer(channels: 2, alignmentFrames: 8192)
        var inReach = LoopEmulator(wide, routes: loop.routes)
        for _ in 0..<100 { try inReach.cycle(256) }
        expectTrueLabels(inReach.rolling, channels: [0, 1])
        #expect(inReach.rolling.reduce(0) { $0 + $1.frameCount } > 100 * 256 - 5000 - 256)
    }
}

/// A cycle captures all of its input, or is refused: never silently lost.
@Suite struct OfflineInputCycleTests {
    @Test func theLongestInputCycleIsCapturedWholeAndALongerOneIsRefused() throws {
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 1)
        let frames = OfflineRenderer.maximumInputPeriod
        let input = [[Float]](repeating: [Float](repeating: 0.5, count: frames), count: 2)
        _ = try renderer.render(frames: frames, input: input)
        _ = try renderer.render(frames: frames, input: input)
        let chunks = renderer.takeInputChunks()
        #expect(chunks.reduce(0) { $0 + $1.frameCount } == 2 * frames)
        #expect(chunks.allSatisfy { $0.droppedFramesBefore == 0 })
        #expect(throws: AMIOError.self) { _ = try renderer.render(frames: frames + 1) }
    }
}

/// A burst of changes is spread over cycles, in order: one cycle takes at
/// most 256 off the queue, so its cost stays bounded.
@Suite struct ChangeBurstTests {
    @Test func aBurstOfSeeksIsTakenAtMost256ACycleInOrder() throws {
        let renderer = try OfflineRenderer(outputChannels: 1, changeCapacity: 1024)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 16)
        for k in 0..<600 { try renderer.setPosition(Int64(k) * 10) }
        _ = try renderer.render(frames: 16)
        #expect(renderer.position == 255 * 10 + 16, "the 256th seek was the last of the first cycle")
        _ = try renderer.render(frames: 16)
        #expect(renderer.position == 511 * 10 + 16)
        _ = try renderer.render(frames: 16)
        #expect(renderer.position == 599 * 10 + 16, "and the rest, in order")
    }
}
