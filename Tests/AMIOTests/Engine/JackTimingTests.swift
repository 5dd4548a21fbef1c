@testable import AMIO
import CAMIO
import CRealtimeProbe
import Foundation
import Testing

/// What a take recorded through the loopback shows: the ramp on channel 0
/// says, for every file frame, which timeline frame was played; the clicks
/// on channel 1 every 4800 frames give the offsets a user would measure.
struct LoopbackTake {
    var clickOffsets: [Int64] = []
    var mislabelled: [(fileFrame: Int, heard: Int64)] = []
    var silent = 0
    var frames = 0
    /// Click frames that were heard (their ramp is there) without their click.
    var missingClicks: [Int64] = []
    /// The clicks a take of this many frames holds where none was lost.
    var clicksPlayed: Int { Int((Int64(frames) + Self.clickInterval - 1) / Self.clickInterval) }

    static let clickInterval: Int64 = 4800

    init(_ url: URL, from first: Int64) throws {
        let samples = try readAll(url).samples
        frames = samples[0].count
        for (i, value) in samples[0].enumerated() {
            if value == 0 { silent += 1; continue }
            if Int64(value) - 1 != first + Int64(i) && mislabelled.count < 5 { mislabelled.append((i, Int64(value) - 1)) }
        }
        for (i, value) in samples[1].enumerated() where value != 0 {
            let frame = first + Int64(i)
            // Offset from the nearest click a listener would pair it with.
            let nearest = (frame + Self.clickInterval / 2) / Self.clickInterval * Self.clickInterval
            clickOffsets.append(frame - nearest)
        }
        var click = (first + Self.clickInterval - 1) / Self.clickInterval * Self.clickInterval
        while click < first + Int64(frames) {
            let i = Int(click - first)
            if samples[0][i] != 0 && samples[1][i] == 0 { missingClicks.append(click) }
            click += Self.clickInterval
        }
    }
}

/// The ramp (value = timeline frame + 1) on output 0 and a click every
/// 4800 frames on output 1.
func rampAndClicks(frames: Int) throws -> Playspec {
    let click = try AudioClip(channels: [[1]], sampleRate: 48000)
    return [PlayspecEntry(clip: try rampClip(frames: frames), playAt: 0, gains: [1, 0]),
            PlayspecEntry(clip: click, playAt: 0, repeatInterval: LoopbackTake.clickInterval, gains: [0, 1])]
}

/// Starts `jack_latent_client`, a client that delays its input by `added`
/// frames, on `server`, and waits for its ports; kill the process after.
func startLatentClient(adding added: Int, on server: JackServer) async throws -> ChildProcess {
    let latent = try ChildProcess(try JackServer.locate("jack_latent_client"), ["\(added)"],
                                  environment: ProcessInfo.processInfo.environment.merging(server.environment()) { $1 },
                                  captureOutput: false)
    #expect(try await waitForPort("latent:output", server: server.name))
    return latent
}

/// jack_latent_client connects itself to the physical ports: after this only
/// the cables `io` makes feed it.
func isolateLatentClient(in io: AudioInterface) throws {
    for port in try io.ports() where port.name == "latent:input" || port.name == "latent:output" {
        for other in port.connections {
            if port.isInput { try io.disconnect(other, from: port.name) } else { try io.disconnect(port.name, from: other) }
        }
    }
}

extension JackTests {
    /// Takes recorded through a real server's loop while the server changes
    /// under them: every frame labelled true, every lost frame counted.
    @Suite struct Timing {
        /// Records `seconds` of the ramp and clicks through the loopback from
        /// timeline frame 0 while `meanwhile` changes the server, and checks
        /// the take and the chunk stream. Returns the take and its summary.
        func loopbackTake(_ server: JackServer, name: String, seconds: Int,
                          meanwhile: (AudioInterface) async throws -> Void) async throws -> (LoopbackTake, RecordingSummary) {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await openLoopback(server, channels: 2, name: name)
            // Stalls move the timeline on: the ramp reaches beyond the take.
            try io.setPlayspec(try rampAndClicks(frames: seconds * 48000 + 200_000))
            let url = directory.appendingPathComponent("\(name).wav")
            let span = Int64(seconds * 48000)
            let recording = try await io.record(to: url, encoding: .float, from: 0, until: span)
            let chunks = Task {
                var chunks: [InputAudioChunk] = []
                for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                    chunks.append(chunk)
                    if chunk.endFrame >= span { break }
                }
                return chunks
            }
            try io.setTransportRolling(true)
            try await meanwhile(io)
            let summary = try await recording.summary
            let stream = try await chunks.value
            let xruns = io.xrunCount
            await io.close()

            #expect(summary.ending == .reachedEnd)
            let take = try LoopbackTake(url, from: 0)
            #expect(take.frames == Int(span), "the file holds the timeline span, not \(take.frames) frames")
            #expect(take.mislabelled.isEmpty, "file frames holding other timeline frames: \(take.mislabelled)")
            #expect(take.silent == summary.droppedFrames, "every silent frame is a reported loss")
            #expect(take.clickOffsets.allSatisfy { $0 == 0 }, "click offsets \(Set(take.clickOffsets))")
            #expect(take.missingClicks.isEmpty, "clicks heard without their click: \(take.missingClicks)")
            // Losses are counted, not capped (a loaded machine loses more), but
            // most of the take is heard, so the checks above had frames to check.
            #expect(take.silent < take.frames / 2, "\(take.silent) of \(take.frames) frames lost")
            expectContiguous(stream)
            print("\(JackServer.kind) \(name): \(take.clickOffsets.count) clicks at offsets \(Set(take.clickOffsets).sorted()), "
                  + "\(summary.droppedFrames) frames lost, xruns \(xruns)")
            return (take, summary)
        }

        @Test func aTakeStaysAlignedWhileThePeriodGoes256To64To1024To2048To256() async throws {
            try await JackServer.with(period: 256) { server in
                var periods: [Int] = []
                let (take, _) = try await loopbackTake(server, name: "periods", seconds: 7) { io in
                    for (second, period) in [64, 1024, 2048, 256].enumerated() {
                        try await io.waitUntilPosition(reaches: Int64(second + 1) * 48000 + 12_345)
                        try server.setPeriod(period)
                        _ = await eventually { io.periodFrames == period }  // the buffer-size callback
                        periods.append(io.periodFrames)
                    }
                }
                #expect(periods == [64, 1024, 2048, 256], "the server's periods, as the interface saw them")
                #expect(take.clickOffsets.count > take.clicksPlayed / 2)
            }
        }

        /// A cycle that ends after the next one was due (a process thread
        /// preempted on a loaded machine) misses the server's next cycle with
        /// its output: PipeWire's sink monitor then carries silence there, or
        /// an earlier cycle, and PipeWire reports no xrun (jackd does). No
        /// such frame is labelled played: every silent frame of the take is a
        /// counted loss, and each late cycle is a stall.
        /// Late by 1.2 periods (the next cycle is not skipped, only its
        /// input is suspect) and by 2.4 (a cycle is skipped).
        @Test(arguments: [6400, 12800] as [UInt32])
        func cyclesEndingPastTheirDeadlineLabelNoSilenceAsPlayed(lateUsecs: UInt32) async throws {
            try await JackServer.with(period: 256) { server in
                camio_set_cycle_hook(amio_overrun_cycle)
                defer { camio_set_cycle_hook(nil); amio_overrun_configure(0, 0) }
                var overruns: UInt64 = 0, stalls = 0
                let (take, _) = try await loopbackTake(server, name: "overruns-\(lateUsecs)us", seconds: 4) { io in
                    try await io.waitUntilPosition(reaches: 48000)
                    let stallsBefore = io.stallCount
                    amio_overrun_configure(37, lateUsecs)   // about 5 times a second
                    try await io.waitUntilPosition(reaches: 3 * 48000)
                    overruns = amio_overrun_count()
                    amio_overrun_configure(0, 0)
                    _ = await eventually { io.stallCount - stallsBefore >= Int(overruns) }
                    stalls = io.stallCount - stallsBefore
                }
                #expect(overruns >= 5, "cycles made late")
                // Each is a stall of its own (36 steady cycles lie between two);
                // a loaded machine may add its own.
                #expect(stalls >= Int(overruns), "stalls seen")
                print("\(JackServer.kind) overruns-\(lateUsecs)us: \(overruns) cycles made late, \(stalls) stalls seen")
                #expect(take.clickOffsets.count > take.clicksPlayed / 2)
            }
        }

        @Test func xrunsFromAStoppedServerKeepTheTakeAligned() async throws {
            try await JackServer.with(period: 256) { server in
                var xruns: [Int] = []
                let (take, _) = try await loopbackTake(server, name: "server-stops", seconds: 5) { io in
                    for second in 1...3 {
                        try await io.waitUntilPosition(reaches: Int64(second) * 48000)
                        let before = io.xrunCount
                        try server.pause(seconds: 0.2)   // SIGSTOP, then SIGCONT: the server misses its deadlines
                        _ = await eventually { io.xrunCount > before }
                        xruns.append(io.xrunCount - before)
                    }
                }
                // Each stop is an xrun, also on PipeWire, which reports none itself.
                #expect(xruns.count == 3 && xruns.allSatisfy { $0 > 0 }, "xruns from each stop: \(xruns)")
                #expect(take.clickOffsets.count > take.clicksPlayed / 2)
            }
        }

        /// A connect JACK refuses changes nothing: capture, paused while the
        /// cable of ours was changing, resumes at once (it once stayed
        /// paused, every frame counted lost, until some other graph change).
        @Test func aRefusedConnectLeavesCaptureRunning() async throws {
            try await JackServer.with(period: 256) { server in
                let io = try await openLoopback(server, channels: 1, name: "refused")
                try io.setPlayspec([PlayspecEntry(clip: try rampClip(frames: 200_000), playAt: 0, gains: [1])])
                try io.setTransportRolling(true)
                try await io.waitUntilPosition(reaches: 4800)
                #expect(throws: AMIOError.self) { try io.connect(io.outputPortNames[0], to: "nosuch:in") }
                #expect(throws: AMIOError.self) { try io.disconnect(io.outputPortNames[0], from: "nosuch:in") }
                let from = io.position
                var heard = 0, lost = 0
                for try await chunk in io.inputChunks where chunk.wasTransportRolling && chunk.startingFrame >= from {
                    heard += chunk.samples(channel: 0).filter { $0 != 0 }.count
                    if heard > 0 { lost += Int(chunk.droppedFramesBefore) }
                    if chunk.endFrame >= from + 24_000 { break }
                }
                await io.close()
                // A paused capture loses (and counts) nearly all; a loaded
                // machine's stalls lose a few cycles, counted too.
                #expect(heard + lost >= 24_000 - 4 * 256, "\(heard) of 24000 frames after the refused calls were captured, \(lost) counted lost")
                #expect(heard >= 18_000, "\(heard) of 24000 frames after the refused calls were captured, \(lost) counted lost")
            }
        }

        @Test(.enabled(if: JackServer.kind == .jackd,
                       "jack_latent_client needs physical capture ports, which the headless PipeWire has none of"))
        func aLatentClientInsertedIntoTheLoopMidTakeKeepsTheOffsetAtZero() async throws {
            try await JackServer.with(period: 256) { server in
                let added = 1000
                let latent = try await startLatentClient(adding: added, on: server)
                defer { latent.kill9(); server.waitUntilGone(client: "latent") }
                let io = try await AudioInterface(clientName: "latent-take", serverName: server.name, inputChannels: 1,
                                                  outputChannels: 1, connectPhysicalPorts: false)
                let loop = try io.connectLoopback()
                try isolateLatentClient(in: io)
                try io.setPlayspec([PlayspecEntry(clip: try rampClip(frames: 600_000), playAt: 0, gains: [1])])
                let direct = io.latency.roundTrip
                var chunks: [InputAudioChunk] = []
                try io.setTransportRolling(true)
                for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                    chunks.append(chunk)
                    if chunk.startingFrame >= 48000 && io.latency.roundTrip == direct {
                        // Mid-take: the loop now runs through the latent client.
                        for cable in loop { try io.disconnect(cable.source, from: cable.destination) }
                        try io.connect(io.outputPortNames[0], to: "latent:input")
                        try io.connect("latent:output", to: io.inputPortNames[0])
                    }
                    if chunk.startingFrame >= 4 * 48000 { break }
                }
                let through = io.latency
                await io.close()

                #expect(through.roundTrip == direct + added, "round trip \(direct) direct, \(through) through the client")
                expectContiguous(chunks)
                var heard = 0, heardAfter = 0
                for chunk in chunks {
                    for (i, value) in chunk.samples(channel: 0).enumerated() where value != 0 {
                        let frame = chunk.startingFrame + Int64(i)
                        if Int64(value) - 1 != frame {
                            Issue.record("frame \(frame) labelled, timeline frame \(Int64(value) - 1) heard")
                            return
                        }
                        heard += 1
                        if frame > 2 * 48000 { heardAfter += 1 }
                    }
                }
                #expect(heardAfter > 48000, "the loop through the latent client is heard at offset 0")
                print("\(JackServer.kind) latent client (\(added) frames) inserted: round trip \(direct) → "
                      + "\(through.roundTrip), \(heard) frames heard at offset 0")
            }
        }

        /// One input on the direct loop, the other through a client that adds
        /// 1000 frames: each chunk's frames line up on both channels.
        @Test(.enabled(if: JackServer.kind == .jackd,
                       "jack_latent_client needs physical capture ports, which the headless PipeWire has none of"))
        func inputsOfDifferentRoundTripsLineUpInEveryChunk() async throws {
            try await JackServer.with(period: 256) { server in
                let added = 1000
                let latent = try await startLatentClient(adding: added, on: server)
                defer { latent.kill9(); server.waitUntilGone(client: "latent") }
                let io = try await AudioInterface(clientName: "aligned", serverName: server.name, inputChannels: 2,
                                                  outputChannels: 1, connectPhysicalPorts: false)
                try isolateLatentClient(in: io)
                try io.connect(io.outputPortNames[0], to: io.inputPortNames[0])
                try io.connect(io.outputPortNames[0], to: "latent:input")
                try io.connect("latent:output", to: io.inputPortNames[1])
                let latency = io.latency
                #expect(latency.inputRoundTrips == [256, 256 + added], "\(latency)")
                #expect(latency.roundTrip == 256 + added)
                try io.setPlayspec([PlayspecEntry(clip: try rampClip(frames: 600_000), playAt: 0, gains: [1])])
                var chunks: [InputAudioChunk] = []
                // jack_latent_client's delay line counts the cycles it runs: an
                // xrun that skips it (not us) moves its delay by a period, which
                // no graph shows. Frames are checked up to the first xrun.
                let xrunsBefore = io.xrunCount
                var beforeXrun: Int?
                try io.setTransportRolling(true)
                for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                    if beforeXrun == nil && io.xrunCount > xrunsBefore { beforeXrun = chunks.count }
                    chunks.append(chunk)
                    if chunk.startingFrame >= 3 * 48000 { break }
                }
                await io.close()

                expectContiguous(chunks)
                var heardOnBoth = 0
                for chunk in chunks.prefix(beforeXrun ?? chunks.count) {
                    let direct = chunk.samples(channel: 0), delayed = chunk.samples(channel: 1)
                    for i in 0..<chunk.frameCount {
                        let frame = chunk.startingFrame + Int64(i)
                        let values = [direct[direct.startIndex + i], delayed[delayed.startIndex + i]]
                        for value in values where value != 0 && Int64(value) - 1 != frame {
                            Issue.record("frame \(frame) labelled, timeline frame \(Int64(value) - 1) heard: \(values)")
                            return
                        }
                        if !values.contains(0) { heardOnBoth += 1 }
                    }
                }
                #expect(heardOnBoth > (beforeXrun == nil ? 2 * 48000 : 0), "\(heardOnBoth) frames heard in line on both inputs")
                print("\(JackServer.kind) inputs at round trips \(latency.inputRoundTrips): \(heardOnBoth) frames in line on both")
            }
        }

        /// Round trips further apart than the alignment rings hold: an event
        /// says so, and the input is counted as lost.
        @Test(.enabled(if: JackServer.kind == .jackd,
                       "jack_latent_client needs physical capture ports, which the headless PipeWire has none of"))
        func inputsBeyondTheAlignmentFramesAreReportedAndCountedAsLost() async throws {
            try await JackServer.with(period: 256) { server in
                let latent = try await startLatentClient(adding: 1000, on: server)
                defer { latent.kill9(); server.waitUntilGone(client: "latent") }
                var options = AudioInterfaceOptions()
                options.inputAlignmentFrames = 1024
                let io = try await AudioInterface(clientName: "narrow", serverName: server.name, inputChannels: 2,
                                                  outputChannels: 1, connectPhysicalPorts: false, options: options)
                // Subscribed before the cables are made: the event comes once, at the refresh after them.
                let subscribed = AsyncStream<Void>.makeStream()
                let events = Task { () -> AudioInterfaceEvent? in
                    var iterator = io.events.makeAsyncIterator()
                    subscribed.continuation.finish()
                    while let event = try await iterator.next() { if case .inputsBeyondAlignment = event { return event } }
                    return nil
                }
                for await _ in subscribed.stream {}
                try isolateLatentClient(in: io)
                try io.connect(io.outputPortNames[0], to: io.inputPortNames[0])
                try io.connect(io.outputPortNames[0], to: "latent:input")
                try io.connect("latent:output", to: io.inputPortNames[1])
                let timeout = Task { try await Task.sleep(nanoseconds: 10_000_000_000); events.cancel() }
                let event = try await events.value
                timeout.cancel()
                #expect(event == .inputsBeyondAlignment(skew: 1000 + 256, alignmentFrames: 1024))
                try io.setPlayspec([PlayspecEntry(clip: try rampClip(frames: 200_000), playAt: 0, gains: [1])])
                try io.setTransportRolling(true)
                try await io.waitUntilPosition(reaches: 48_000)
                let lost = io.droppedInputFrames
                await io.close()
                #expect(lost > 40_000, "the input that could not be aligned is counted: \(lost)")
            }
        }
    }
}
