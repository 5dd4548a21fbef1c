@testable import AMIO
import Synchronization
import Testing

/// The playspec a collector waits for, set once it is scheduled.
final class LastPlayspec: Sendable {
    let id = Atomic<UInt64>(UInt64.max)
}

/// Opens an interface on `server` whose outputs loop back to its inputs
/// (``AudioInterface/connectLoopback(_:)``): a cable of its own on jackd,
/// which delays it one period; through the null sink and its monitor ports
/// on PipeWire, where a client's own cable carries nothing.
func openLoopback(_ server: JackServer, channels: Int = 2, name: String = "loop",
                  options: AudioInterfaceOptions = AudioInterfaceOptions()) async throws -> AudioInterface {
    let io = try await AudioInterface(clientName: name, serverName: server.name, inputChannels: channels,
                                      outputChannels: channels, connectPhysicalPorts: false, options: options)
    let cables = try io.connectLoopback()
    #expect(cables.count == (server.kind == .pipewire ? 2 * channels : channels))
    if server.kind == .pipewire { try await waitUntilTheLoopConducts(io) }
    return io
}

/// PipeWire's links carry data some cycles after `jack_connect` returns and
/// the connection is reported (its input is silence meanwhile, labelled
/// truly: nothing came round yet). Tests that count every silent frame as a
/// loss wait until a constant played on every output comes back on every
/// input, then put the interface back as it was: stopped at frame 0, silent.
func waitUntilTheLoopConducts(_ io: AudioInterface) async throws {
    let one = try AudioClip(channels: [[1]], sampleRate: io.sampleRate)
    try io.setPlayspec([PlayspecEntry(clip: one, playAt: 0, repeatInterval: 1,
                                      gains: Array(repeating: 1, count: io.outputPortNames.count))])
    try io.setTransportRolling(true)
    for try await chunk in io.inputChunks where chunk.wasTransportRolling {
        if (0..<chunk.channelCount).allSatisfy({ chunk.samples(channel: $0).allSatisfy { $0 == 1 } }) { break }
        try #require(chunk.startingFrame < 10 * 48000, "the loop did not conduct within 10 s")
    }
    try io.setTransportRolling(false)
    try io.setPosition(0)
    try io.setPlayspec([])
    // The sink's monitor still gives back the constant for a cycle or two.
    var silent = 0
    for try await chunk in io.inputChunks where !chunk.wasTransportRolling {
        silent = chunk.samples.allSatisfy { $0 == 0 } ? silent + 1 : 0
        if silent == 3 { break }
    }
}

/// Through a real jackd, the interface's outputs connected to its own inputs:
/// JACK delays that path by exactly one period, the interface compensates it,
/// so what is captured lines up with the timeline at offset 0.
extension JackTests {
@Suite struct Loopback {
    static let documentedOffset: Int64 = 0

    @Test(arguments: [16, 32, 256, 1024, 8192])
    func impulsesArriveAtTheirTimelineFrameAcrossSeeksLoopsAndChanges(period: Int) async throws {
        try await JackServer.with(period: period) { server in
            let io = try await openLoopback(server)
            #expect(io.periodFrames == period)
            #expect(io.latency.roundTrip == period, "a self-connection costs one period")

            // Channel 0 carries a ramp whose value is its timeline frame + 1, so
            // every captured sample says which frame it was played at; channel 1
            // carries impulses.
            let ramp = try rampClip(frames: 60_000)
            let impulse = try AudioClip(channels: [[1]], sampleRate: 48000)
            func spec(impulses: [Int64], gain: Float = 1) -> Playspec {
                Playspec([PlayspecEntry(clip: ramp, playAt: 0, gains: [1, 0])]
                    + impulses.map { PlayspecEntry(clip: impulse, playAt: $0, gains: [0, gain]) })
            }
            // Collects until the last playspec has sounded past frame 34 000
            // (not merely any timeline: on a slow machine the first one may
            // pass 34 000 before the seek is made).
            let last = LastPlayspec()
            let collector = Task {
                var chunks: [InputAudioChunk] = []
                for try await chunk in io.inputChunks {
                    chunks.append(chunk)
                    if chunk.wasTransportRolling && chunk.startingFrame > 34_000
                        && chunk.playspecID == last.id.load(ordering: .acquiring) { break }
                    if chunk.startingFrame > 500_000 { break }  // the change never came: the checks below say so
                }
                return chunks
            }
            try await Task.sleep(nanoseconds: 20_000_000)
            let start = try io.schedulePlayspecChange(spec(impulses: [6000, 21000, 30500]), insertAt: 0, startFrom: 0)
            try io.setTransportRolling(true)
            #expect(try await start.result == .applied(atFrame: 0))
            #expect(await eventually { io.position > 8000 })
            try io.setPosition(20_000)                                   // a seek
            let loop = try io.schedulePlayspecChange(spec(impulses: [6000, 21000, 30500]),
                                                     insertAt: 24_000, startFrom: 30_000) // a loop jump
            let change = try io.schedulePlayspecChange(spec(impulses: [33_000], gain: 0.5),
                                                       insertAt: 32_000, startFrom: 32_000) // a new playspec
            last.id.store(change.playspecID, ordering: .releasing)
            // On its frame; after a stall (an xrun on a loaded machine at 32
            // frames) the timeline may have skipped past it, and a change
            // whose frame passed applies at once, later.
            for (handle, frame) in [(loop, Int64(24_000)), (change, Int64(32_000))] {
                let result = try await handle.result
                if case let .applied(at) = result, at > frame, io.xrunCount > 0 { continue }
                #expect(result == .applied(atFrame: frame), "xruns \(io.xrunCount)")
            }
            let chunks = try await collector.value

            var impulses: [Int64: Float] = [:]
            var rampSamples = 0
            var silentPlayed: [Int64] = []
            // Frames JACK skipped in a stall: the timeline moved on without playing them.
            var gaps: [Range<Int64>] = []
            // Usually they lie between the previous chunk and this one; when a
            // seek, a jump or a stopped transport came in between, they are the
            // frames just before this chunk.
            for (previous, chunk) in zip(chunks, chunks.dropFirst()) where chunk.droppedFramesBefore > 0 {
                let lost = Int64(chunk.droppedFramesBefore)
                gaps.append(previous.endFrame <= chunk.startingFrame && chunk.startingFrame - previous.endFrame <= lost
                    ? previous.endFrame ..< chunk.startingFrame
                    : max(0, chunk.startingFrame - lost) ..< chunk.startingFrame)
            }
            for chunk in chunks where chunk.wasTransportRolling {
                let ramp = chunk.samples(channel: 0), clicks = chunk.samples(channel: 1)
                for i in 0..<chunk.frameCount {
                    let frame = chunk.startingFrame + Int64(i)
                    let value = ramp[ramp.startIndex + i]
                    if value != 0 {
                        if Int64(value) - 1 != frame + Self.documentedOffset {
                            Issue.record("period \(period): heard frame \(Int64(value) - 1) at \(frame)")
                            return
                        }
                        rampSamples += 1
                    } else if frame < 60_000 {
                        silentPlayed.append(frame)   // labelled played, yet the ramp was not heard
                    }
                    if clicks[clicks.startIndex + i] != 0 { impulses[frame] = clicks[clicks.startIndex + i] }
                }
                if chunk.startingFrame >= 32_000 { #expect(chunk.playspecID == change.playspecID) }
            }
            let expected: [Int64: Float] = [6000: 1, 21000: 1, 30500: 1, 33000: 0.5]
            for (frame, value) in expected where impulses[frame] == nil {
                #expect(gaps.contains { $0.contains(frame) }, "period \(period): impulse at \(frame) missing and not in a reported gap")
                _ = value
            }
            for (frame, value) in impulses {
                #expect(expected[frame] == value, "period \(period): unexpected impulse \(value) at \(frame)")
            }
            let lost = gaps.reduce(0) { $0 + $1.count }
            print("period \(period): \(impulses.count)/4 impulses at offset \(Self.documentedOffset), \(rampSamples) ramp frames heard, "
                  + "\(lost) lost in gaps \(gaps), xruns \(io.xrunCount), dropped \(io.droppedInputFrames)")
            // The seek, the jump and the change cover about 16 000 timeline
            // frames: each was heard or is a reported loss (at 16 frames on a
            // loaded machine a third may be lost), and most were heard, so the
            // labels above were checked, not merely skipped.
            #expect(silentPlayed.isEmpty, "period \(period): \(silentPlayed.count) frames labelled played but silent, from \(silentPlayed.prefix(3))")
            #expect(rampSamples + lost > 15_000, "frames neither heard nor reported lost")
            #expect(rampSamples > 8_000)
            await io.close()
        }
    }

    /// The JACK driver plays exactly what the offline driver renders.
    @Test func jackOutputEqualsOfflineRender() async throws {
        try await JackServer.with(period: 128) { server in
            let io = try await openLoopback(server, channels: 2)
            var rng = SeededGenerator(seed: 42)
            let clip = try AudioClip(channels: (0..<2).map { _ in (0..<3000).map { _ in Float.random(in: -1...1, using: &rng) } },
                                     sampleRate: 48000)
            let playspec: Playspec = [
                PlayspecEntry(clip: clip, frames: 100..<2900, playAt: 500, repeatInterval: 4000, gains: [0.7, -0.3]),
                PlayspecEntry(clip: clip, frames: 0..<1000, playAt: 1234, gains: [0.25, 1]),
            ]
            let frames = 20_000
            let collector = Task {
                var captured = [[Float]](repeating: [Float](repeating: .nan, count: frames), count: 2)
                var lost = 0
                for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                    if chunk.startingFrame > 0 { lost += Int(chunk.droppedFramesBefore) }
                    for channel in 0..<2 {
                        for (i, v) in chunk.samples(channel: channel).enumerated() {
                            let frame = Int(chunk.startingFrame) + i
                            if (0..<frames).contains(frame) { captured[channel][frame] = v }
                        }
                    }
                    if chunk.endFrame >= Int64(frames) { break }
                }
                return (captured, lost)
            }
            try await Task.sleep(nanoseconds: 20_000_000)
            try io.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
            try io.setTransportRolling(true)
            let (captured, lost) = try await collector.value
            await io.close()

            let renderer = try OfflineRenderer(outputChannels: 2)
            try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
            try renderer.setTransportRolling(true)
            let rendered = try renderer.render(periods: Array(repeating: 1000, count: frames / 1000))
            // A cycle JACK skipped (a stall) moves the timeline on unplayed: those
            // frames are missing from the capture. Every frame that was played matches.
            var compared = 0
            for channel in 0..<2 {
                let missing = captured[channel].count(where: \.isNaN)
                #expect(missing <= lost, "channel \(channel): \(missing) frames neither captured nor reported lost (\(lost))")
                for frame in 0..<frames where !captured[channel][frame].isNaN {
                    if captured[channel][frame] != rendered[channel][frame] {
                        Issue.record("channel \(channel) frame \(frame): \(captured[channel][frame]) != \(rendered[channel][frame])")
                        return
                    }
                    compared += 1
                }
            }
            #expect(compared > frames, "most frames were captured, so most were compared")
        }
    }

    /// A loop jump with `crossfade: 256` through the server, measured in
    /// what comes back on the inputs: the timeline starts at 2000 and jumps
    /// from B (a crest of a 997 Hz tone) back to A (a trough) in the middle
    /// of a period. Captured in the order it was played, no step around the
    /// jump is larger than the tone's own (a cut would step by ~15 times
    /// that), and the first frame labelled A is still the old side alone
    /// (tone[B]): the tail plays underneath. Impulses of the new timeline at
    /// K = A + 128 (inside the crossfade, at weight s(½)) and A + 400 (after
    /// it), which the old timeline never reached, are captured labelled K.
    @Test func aCrossfadedLoopJumpIsCapturedWithoutAClickAndOnItsFrames() async throws {
        try await JackServer.with(period: 256) { server in
            let io = try await openLoopback(server, channels: 2)
            let tone = toneSamples(997, frames: 40000)
            let own = largestStep(tone)
            let a = (1000..<20000).first { tone[$0] < -0.99 }!, b = (30000..<40000).first { tone[$0] > 0.99 }!
            let crossfade = 256
            let inside = Int64(a + 128), after = Int64(a + 400)
            let impulse = try AudioClip(channels: [[1]], sampleRate: 48000)
            let playspec: Playspec = [
                PlayspecEntry(clip: try AudioClip(channels: [tone], sampleRate: 48000), playAt: 0, gains: [1, 0]),
                PlayspecEntry(clip: impulse, playAt: inside, gains: [0, 1]),
                PlayspecEntry(clip: impulse, playAt: after, gains: [0, 1]),
            ]
            let last = LastPlayspec()
            let collector = Task {
                var chunks: [InputAudioChunk] = []
                for try await chunk in io.inputChunks {
                    chunks.append(chunk)
                    if chunk.wasTransportRolling && chunk.playspecID == last.id.load(ordering: .acquiring)
                        && chunk.startingFrame > Int64(a + 2000) { break }
                    if chunk.startingFrame > 500_000 { break }  // the jump never came: the checks below say so
                }
                return chunks
            }
            try await Task.sleep(nanoseconds: 20_000_000)
            try io.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 2000)
            let loop = try io.schedulePlayspecChange(playspec, insertAt: Int64(b), startFrom: Int64(a), crossfade: 256)
            last.id.store(loop.playspecID, ordering: .releasing)
            try io.setTransportRolling(true)
            #expect(try await loop.result == .applied(atFrame: Int64(b)))
            let chunks = try await collector.value
            let xruns = io.xrunCount
            await io.close()

            // Every captured frame in the order it was played: its label, both
            // channels, and whether frames were lost just before it (a stall).
            var frames: [(label: Int64, tone: Float, click: Float, afterGap: Bool)] = []
            for chunk in chunks where chunk.wasTransportRolling {
                let toneSamples = chunk.samples(channel: 0), clicks = chunk.samples(channel: 1)
                for i in 0..<chunk.frameCount {
                    frames.append((chunk.startingFrame + Int64(i), toneSamples[toneSamples.startIndex + i],
                                   clicks[clicks.startIndex + i], i == 0 && chunk.droppedFramesBefore > 0))
                }
            }
            // The jump: where the labels go back.
            let jump = try #require(frames.indices.dropFirst().first { frames[$0].label < frames[$0 - 1].label },
                                    "no jump back was captured (xruns \(xruns))")
            #expect(jump >= 300 && jump + crossfade + 300 <= frames.count)
            let window = max(1, jump - 300)..<min(frames.count, jump + crossfade + 300)
            let stalled = window.contains { frames[$0].afterGap }
            if stalled {
                // Frames a stall skipped were never played: there is nothing to measure across them.
                print("a stall fell around the jump (xruns \(xruns)): steps measured between played frames only")
            } else {
                #expect(frames[jump - 1].label == Int64(b - 1) && frames[jump].label == Int64(a),
                        "the jump from \(frames[jump - 1].label) to \(frames[jump].label), not from \(b - 1) to \(a)")
                #expect(frames[jump].tone == tone[b], "k = 0: the old side alone, \(frames[jump].tone) not \(tone[b])")
            }
            var largest: Float = 0
            for i in window where !frames[i].afterGap {
                largest = max(largest, abs(frames[i].tone - frames[i - 1].tone))
            }
            #expect(largest <= own, "a step of \(largest) around the jump; the tone's own is \(own)")
            #expect(abs(tone[a] - tone[b - 1]) > 5 * own, "the cut would click, or this test proves nothing")

            // The impulses: never before the jump, once each after it, on their frames.
            let before = frames[..<jump].filter { $0.click > 0.3 }.map(\.label)
            #expect(before.isEmpty, "impulses before the jump at \(before)")
            var heard: [Int64: Float] = [:]
            for frame in frames[jump...] where frame.click > 0.3 { heard[frame.label] = frame.click }
            let lost = frames[jump...].prefix(600).contains { $0.afterGap }
            #expect(heard.keys.sorted() == [inside, after] || (lost && heard.keys.allSatisfy { [inside, after].contains($0) }),
                    "impulses captured at \(heard.keys.sorted()), not at \([inside, after]) (xruns \(xruns))")
            if let value = heard[inside] { #expect(abs(value - Float(0.5).squareRoot()) < 1e-6, "inside, s(½) = sin(π/4): \(value)") }
            if let value = heard[after] { #expect(value == 1, "after: \(value)") }
        }
    }

    /// A period-size change while running is followed: same offset after it.
    @Test func periodSizeChangeIsFollowed() async throws {
        try await JackServer.with(period: 256) { server in
            let io = try await openLoopback(server, channels: 1)
            let events = Task {
                var sawPeriod = false, sawLatency = false
                for try await event in io.events {
                    if case .periodSizeChanged(512) = event { sawPeriod = true }
                    if case let .latencyChanged(latency) = event, latency.roundTrip == 512 { sawLatency = true }
                    if sawPeriod && sawLatency { return true }
                }
                return false
            }
            try await Task.sleep(nanoseconds: 20_000_000)
            // On PipeWire a client cannot set the quantum (jack_set_buffer_size
            // has no effect there), and setPeriodFrames says so; the server's
            // settings do.
            if server.kind == .jackd {
                try io.setPeriodFrames(512)
            } else {
                #expect(throws: AMIOError.self) { try io.setPeriodFrames(512) }
                try server.setPeriod(512)
            }
            #expect(try await events.value)
            #expect(await eventually { io.periodFrames == 512 && io.latency.roundTrip == 512 })
            let ramp = try rampClip(frames: 200_000)
            try io.setPlayspec([PlayspecEntry(clip: ramp, playAt: 0, gains: [1])])
            try io.setTransportRolling(true)
            var checked = 0
            for try await chunk in io.inputChunks where chunk.wasTransportRolling && chunk.startingFrame > 2048 {
                #expect(chunk.frameCount == 512)
                for (i, v) in chunk.samples(channel: 0).enumerated() where Int64(v) - 1 != chunk.startingFrame + Int64(i) {
                    Issue.record("heard frame \(Int64(v) - 1) at \(chunk.startingFrame + Int64(i))")
                    return
                }
                checked += 1
                if checked == 20 { break }
            }
            await io.close()
        }
    }
}
}
