@testable import AMIO
import CAMIO
import CRealtimeProbe
import Foundation
import Synchronization
import Testing

/// Checks that consecutive chunks tile the timeline: each starts where the
/// previous ended plus the frames reported lost before it.
func expectContiguous(_ chunks: [InputAudioChunk], sourceLocation: SourceLocation = #_sourceLocation) {
    for (previous, chunk) in zip(chunks, chunks.dropFirst()) {
        if chunk.startingFrame != previous.endFrame + Int64(chunk.droppedFramesBefore) {
            let message = "chunk at \(chunk.startingFrame) after one ending at \(previous.endFrame) "
                + "with \(chunk.droppedFramesBefore) frames reported lost"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            return
        }
    }
}

extension JackTests {
    @Suite(.jackServer(period: 256))
    struct Interface {
        @Test func noServerIsATypedError() async throws {
            let error = await #expect(throws: AMIOError.self) {
                _ = try await AudioInterface(clientName: "nobody", serverName: "amio-no-such-server-\(getpid())")
            }
            guard case let .serverUnavailable(server, status, _) = error else {
                Issue.record("wrong error \(String(describing: error))")
                return
            }
            #expect(server == "amio-no-such-server-\(getpid())")
            #expect(status.contains(.failure))
            #expect(status.contains(.serverFailed))
        }

        @Test func aSecondServerInOneProcessIsRefused() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "first", serverName: server.name, connectPhysicalPorts: false)
            await #expect(throws: AMIOError.self) {
                _ = try await AudioInterface(clientName: "second", serverName: server.name + "-other")
            }
            await io.close()
        }

        /// A cable made while the bridge is busy (a consumer's job holds its
        /// thread) leaves input labelled at once: `connect` measures the graph
        /// after JACK's notice of the new cable, which comes asynchronously
        /// and stops the labelling. Measured before it, the engine captured
        /// nothing until the bridge measured again, and a take started right
        /// after the connect on a loaded machine lost its first periods.
        @Test func aConnectLeavesTheLatencyMeasuredWhileTheBridgeIsBusy() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "busy-bridge", serverName: server.name, inputChannels: 2,
                                              outputChannels: 2, connectPhysicalPorts: false)
            let holding = Task(executorPreference: io.inputExecutor) { _ = usleep(1_500_000) }
            try await Task.sleep(nanoseconds: 100_000_000)
            let cable = try #require(try io.connectLoopback().last)
            #expect(io.session.measuredLatencyIsCurrent, "after connectLoopback")
            try io.disconnect(cable.source, from: cable.destination)
            #expect(io.session.measuredLatencyIsCurrent, "after disconnect")
            try io.connect(cable.source, to: cable.destination)
            #expect(io.session.measuredLatencyIsCurrent, "after connect")
            await holding.value
            await io.close()
        }

        /// A task on the input executor that keeps yielding shares the bridge
        /// with the drains: input still arrives, to a consumer elsewhere and
        /// to one on the same executor. (The bridge once ran the jobs its
        /// jobs queued before it drained again, so such a task kept it.)
        @Test func aTaskYieldingOnTheInputExecutorLeavesInputFlowing() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "yielding", serverName: server.name, inputChannels: 1,
                                              outputChannels: 1, connectPhysicalPorts: false)
            let stop = Atomic<Bool>(false)
            let yields = Task(executorPreference: io.inputExecutor) { () -> Int in
                var count = 0
                while !stop.load(ordering: .relaxed) {
                    await Task.yield()
                    count += 1
                }
                return count
            }
            func chunks(_ wanted: Int, on executor: (any TaskExecutor)?) async -> Int {
                let counting = Task(executorPreference: executor) { () -> Int in
                    var count = 0
                    do {
                        for try await _ in io.inputChunks {
                            count += 1
                            if count == wanted { break }
                        }
                    } catch {}
                    return count
                }
                // Generous: in a full run the parallel suites can keep the
                // global executor from running a consumer for many seconds.
                // (Starved, the bridge delivered nothing at all.)
                let deadline = Task {
                    try await Task.sleep(nanoseconds: 90_000_000_000)
                    counting.cancel()
                }
                defer { deadline.cancel() }
                return await counting.value
            }
            try await Task.sleep(nanoseconds: 100_000_000)
            #expect(await chunks(20, on: nil) == 20, "chunks to a consumer on the global executor")
            #expect(await chunks(20, on: io.inputExecutor) == 20, "chunks to a consumer on the input executor")
            stop.store(true, ordering: .relaxed)
            #expect(await yields.value > 0)
            await io.close()
        }

        @Test func inputChunksAreContiguousForTenSeconds() async throws {
            let server = try JackServer.suite
            let io = try await openLoopback(server, channels: 2, name: "contiguous")
            let ramp = try rampClip(frames: 600_000)
            try io.setPlayspec([PlayspecEntry(clip: ramp, playAt: 0, gains: [1, 0.5])])
            try io.setTransportRolling(true)
            var chunks: [InputAudioChunk] = []
            for try await chunk in io.inputChunks where chunk.wasTransportRolling && chunk.startingFrame >= 0 {
                chunks.append(chunk)
                if chunk.endFrame >= 480_000 { break }
            }
            await io.close()
            expectContiguous(chunks)
            let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
            let frames = chunks.reduce(0) { $0 + $1.frameCount }
            #expect(Int64(frames + lost) == chunks.last!.endFrame - chunks.first!.startingFrame, "frames add up")
            #expect(lost <= io.droppedInputFrames, "every loss this consumer saw was the engine's")
            // Every frame that arrived is the frame that was played. A wrong
            // one is reported with its chunk and neighbours, to tell a server's
            // missed cycle from a labelling error.
            for (index, chunk) in chunks.enumerated() {
                let wrong = chunk.samples(channel: 0).enumerated().filter { Int64($1) - 1 != chunk.startingFrame + Int64($0) }
                guard let first = wrong.first else { continue }
                let around = chunks[max(0, index - 2)...min(chunks.count - 1, index + 2)].map {
                    "[\($0.startingFrame)+\($0.frameCount), lost before \($0.droppedFramesBefore), cycle frame time \($0.cycleFrameTime), "
                        + "first \($0.samples(channel: 0).first ?? .nan)]"
                }
                let message = "heard \(first.element) at \(chunk.startingFrame + Int64(first.offset)); \(wrong.count) of the "
                    + "chunk's \(chunk.frameCount) frames wrong; xruns \(io.xrunCount); chunks around: \(around.joined(separator: " "))"
                Issue.record(Comment(rawValue: message))
                return
            }
            print("10 s contiguity: \(chunks.count) chunks, \(frames) frames, \(lost) lost in stalls, xruns \(io.xrunCount)")
        }

        @Test func aStalledConsumerLosesOnlyItsOwnChunksAndCountsThemExactly() async throws {
            let server = try JackServer.suite
            let io = try await openLoopback(server, channels: 1, name: "stalled")
            try io.setTransportRolling(true)
            let fast = Task {
                var chunks: [InputAudioChunk] = []
                for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                    chunks.append(chunk)
                    if chunks.count == 400 { break }
                }
                return chunks
            }
            var slow: [InputAudioChunk] = []
            for try await chunk in io.inputChunks(bufferingChunks: 8) where chunk.wasTransportRolling {
                slow.append(chunk)
                if slow.count == 5 { try await Task.sleep(nanoseconds: 500_000_000) }  // falls behind on purpose
                if slow.count == 40 { break }
            }
            let fastChunks = try await fast.value
            await io.close()

            expectContiguous(slow)
            expectContiguous(fastChunks)
            let slowLost = slow.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
            let fastLost = fastChunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
            #expect(slowLost >= 48_000 / 2 - 8 * 256 - 256, "half a second, less what the buffer held, was lost")
            #expect(fastLost <= io.droppedInputFrames, "the fast consumer lost nothing beyond the engine's own losses")
            #expect(slow.count == 40)
        }

        @Test func engineRingOverflowIsCountedAndReported() async throws {
            let server = try JackServer.suite
            var options = AudioInterfaceOptions()
            options.inputRingFrames = 1000
            await #expect(throws: AMIOError.self, "a ring smaller than two of the largest periods") {
                _ = try await AudioInterface(clientName: "tiny-ring", serverName: server.name, inputChannels: 1,
                                             connectPhysicalPorts: false, options: options)
            }
            options.inputRingFrames = 16384
            // This consumer must lose nothing itself: its losses would be reported beside the engine's.
            options.consumerBufferLimit = 1 << 20
            let io = try await openLoopback(server, channels: 1, name: "overflow", options: options)
            let capacity = io.inputRingCapacity
            #expect(capacity >= 16384 && capacity < 4 * 16384, "the ring holds \(capacity) frames")
            // Losses before this test's chunks (on PipeWire, while the sink's
            // monitor settled as openLoopback waited for the loop) are not its.
            let before = io.droppedInputFrames
            try io.setTransportRolling(true)
            var chunks: [InputAudioChunk] = []
            var stalled = false
            var engineLost = 0, reported = 0, framesAfterStall = 0
            for try await chunk in io.inputChunks where chunk.wasTransportRolling {
                if !chunks.isEmpty { reported += chunk.droppedFramesBefore }
                if stalled { framesAfterStall += chunk.frameCount }
                chunks.append(chunk)
                if chunks.count == 10 && !stalled {
                    stalled = true
                    // The bridge thread sleeps for longer than the ring holds; it fills.
                    let stall = capacity * 1_000_000 / io.sampleRate + 300_000
                    io.stallBridgeForTesting(microseconds: stall)
                    try await Task.sleep(nanoseconds: UInt64(stall + 100_000) * 1000)
                    io.stallBridgeForTesting(microseconds: 0)
                }
                // Past what the ring held through the stall, to the chunk that
                // reports the last loss (the stall may have hit the bridge twice).
                engineLost = io.droppedInputFrames - before
                if stalled && framesAfterStall > capacity + 24_000 && reported > 0 && reported == engineLost { break }
                try #require(chunks.count < 6000, "the losses were never all reported: \(reported) of \(engineLost)")
            }
            await io.close()
            expectContiguous(chunks)
            let lost = chunks.dropFirst().reduce(0) { $0 + $1.droppedFramesBefore }
            #expect(engineLost > 0)
            #expect(lost == engineLost, "each lost frame is reported exactly once")
        }

        /// After a stall the bridge wakes once for everything that piled up,
        /// not once per missed cycle.
        @Test func theBridgeCoalescesTheWakesOfAStall() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "coalesce", serverName: server.name, inputChannels: 1,
                                              outputChannels: 1, connectPhysicalPorts: false)
            let consumer = Task { for try await _ in io.inputChunks {} }
            try io.setTransportRolling(true)
            try await io.waitUntilPosition(reaches: 4800)
            let wakes = io.bridgeWakesForTesting, cycles = io.session.core.cycles
            io.stallBridgeForTesting(microseconds: 300_000)   // about 56 cycles at 256 frames
            try await Task.sleep(nanoseconds: 50_000_000)
            io.stallBridgeForTesting(microseconds: 0)
            try await Task.sleep(nanoseconds: 600_000_000)    // the stalled wake ends, the backlog drains
            let woken = io.bridgeWakesForTesting - wakes, ran = Int(io.session.core.cycles - cycles)
            consumer.cancel()
            await io.close()
            // One wake per cycle, but for the cycles of the stall, which one wake covered.
            #expect(woken <= ran - 30, "\(woken) wakes for \(ran) cycles, a 300 ms stall among them")
        }

        /// A consumer that takes input in pieces of 4096 frames gets them
        /// joined, keeps the chunk invariant, and wakes the bridge (and
        /// itself) about 16 times less often than every 256-frame period.
        @Test func coarseConsumersGetJoinedChunksAndWakeTheBridgeLessOften() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "coarse", serverName: server.name, inputChannels: 2,
                                              outputChannels: 1, connectPhysicalPorts: false)
            try io.setTransportRolling(true)
            // Out-of-range sizes are brought into range, not trusted.
            #expect(io.inputChunks(minimumFrames: .max).minimumFrames == 1 << 20)
            #expect(io.inputChunks(minimumFrames: -5).minimumFrames == 0)
            #expect(io.inputChunks(minimumFrames: 8, bufferingChunks: -1).bufferLimit == 1)
            try await io.waitUntilPosition(reaches: 4800)
            let wakes = io.bridgeWakesForTesting, cycles = io.session.core.cycles
            var chunks: [InputAudioChunk] = []
            for try await chunk in io.inputChunks(minimumFrames: 4096) {
                chunks.append(chunk)
                if chunks.count == 12 { break }
            }
            let woken = io.bridgeWakesForTesting - wakes, ran = Int(io.session.core.cycles - cycles)
            await io.close()
            expectContiguous(chunks)
            for (previous, next) in zip(chunks, chunks.dropFirst()) {
                #expect(next.playedAt == previous.playedAt + Int64(previous.frameCount + next.droppedFramesBefore))
            }
            // Pieces hold 4096 frames (16 periods), a few more when a loss or xrun broke a run.
            let full = chunks.filter { $0.frameCount == 4096 }.count
            #expect(full >= 8, "\(chunks.map(\.frameCount))")
            #expect(chunks.allSatisfy { $0.samples.count == $0.frameCount * 2 })
            #expect(woken * 4 <= ran, "\(woken) wakes in \(ran) cycles")
            print("coarse input: \(chunks.count) chunks of \(chunks.map(\.frameCount)), \(woken) bridge wakes in \(ran) cycles")
        }

        /// A consumer that prefers the input executor runs on the bridge
        /// thread, gets every chunk in line, can await a change's result
        /// there (it suspends, the bridge resolves it), and finishes on close.
        @Test func aConsumerOnTheInputExecutorRunsOnTheBridgeThread() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "onbridge", serverName: server.name, inputChannels: 1,
                                              outputChannels: 1, connectPhysicalPorts: false)
            try io.setTransportRolling(true)
            let consumer = Task(executorPreference: io.inputExecutor) { () throws -> (chunks: [InputAudioChunk], offBridge: Int, change: PlayspecChangeResult) in
                var chunks: [InputAudioChunk] = [], offBridge = 0
                for try await chunk in io.inputChunks {
                    if UInt(pthread_self()) != io.bridgeThreadForTesting { offBridge += 1 }
                    chunks.append(chunk)
                    if chunks.count == 100 { break }
                }
                let change = try io.schedulePlayspecChange([], insertAt: io.position + 512, startFrom: 0)
                let result = try await change.result
                if UInt(pthread_self()) != io.bridgeThreadForTesting { offBridge += 1 }
                return (chunks, offBridge, result)
            }
            let (chunks, offBridge, result) = try await consumer.value
            #expect(offBridge == 0, "\(offBridge) of 101 steps ran off the bridge thread")
            if case .applied = result {} else { Issue.record("the change ended \(result)") }
            expectContiguous(chunks)
            // A consumer still waiting when the interface closes finishes (elsewhere).
            let waiting = Task(executorPreference: io.inputExecutor) { () throws -> Int in
                var count = 0
                for try await _ in io.inputChunks { count += 1 }
                return count
            }
            try await Task.sleep(nanoseconds: 50_000_000)
            await io.close()
            #expect(try await waiting.value > 0)
        }

        @Test func severalConsumersEachGetEveryChunk() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "fanout", serverName: server.name, inputChannels: 1,
                                              outputChannels: 1, connectPhysicalPorts: false)
            try io.setTransportRolling(true)
            @Sendable func collect() async throws -> [InputAudioChunk] {
                var chunks: [InputAudioChunk] = []
                for try await chunk in io.inputChunks {
                    chunks.append(chunk)
                    if chunks.count == 200 { break }
                }
                return chunks
            }
            let received = Counter()
            io.inputChunkCallback = { _ in received.increment() }
            async let a = collect()
            async let b = collect()
            let (first, second) = try await (a, b)
            await io.close()
            // From the later subscription on, both saw the same chunks, one for one.
            let (early, late) = first[0].cycleFrameTime <= second[0].cycleFrameTime ? (first, second) : (second, first)
            guard let offset = early.firstIndex(where: { $0.cycleFrameTime == late[0].cycleFrameTime }) else {
                Issue.record("the later consumer's first chunk is not among the earlier one's")
                return
            }
            let common = min(early.count - offset, late.count)
            #expect(common >= 150)
            for i in 0..<common {
                let x = early[offset + i], y = late[i]
                if x.cycleFrameTime != y.cycleFrameTime || x.startingFrame != y.startingFrame || x.frameCount != y.frameCount
                    || (i > 0 && x.droppedFramesBefore != y.droppedFramesBefore) || x.samples(channel: 0) != y.samples(channel: 0) {
                    Issue.record("chunk \(i) after the later subscription differs between the consumers")
                    return
                }
            }
            #expect(received.value > 0, "the callback consumer was called")
        }

        @Test func waitsOnAStoppedTransportEndOnCancellationOrTimeoutAndChangeNothing() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "waiting", serverName: server.name, inputChannels: 0,
                                              outputChannels: 1, connectPhysicalPorts: false)
            // Stopped, the timeline never reaches the frame: only a timeout or cancellation ends these waits.
            let asked = ContinuousClock.now
            #expect(try await io.waitUntilPosition(reaches: 48_000, timeout: .milliseconds(100)) == false)
            #expect(ContinuousClock.now - asked >= .milliseconds(100))

            let change = try io.schedulePlayspecChange([], insertAt: 1 << 40, startFrom: 0)
            let positionWaiter = Task { try await io.waitUntilPosition(reaches: 48_000) }
            let changeWaiter = Task { try await change.result }
            try await Task.sleep(for: .milliseconds(50))
            let cancelled = ContinuousClock.now
            positionWaiter.cancel()
            changeWaiter.cancel()
            await #expect(throws: AMIOError.cancelled) { try await positionWaiter.value }
            await #expect(throws: AMIOError.cancelled) { try await changeWaiter.value }
            #expect(ContinuousClock.now - cancelled < PlayspecChangeTests.prompt, "both waits end when their tasks are cancelled")
            #expect(change.currentResult == nil, "the change stays pending")
            #expect(!io.isTransportRolling && io.position == 0)

            try io.setTransportRolling(true)
            let target = io.position + 4096
            #expect(try await io.waitUntilPosition(reaches: target, timeout: .seconds(20)), "a rolling timeline gets there")
            #expect(io.position >= target)
            await io.close()
            #expect(try await change.result == .cancelled, "closing resolves the change, as it would have")
            await #expect(throws: AMIOError.closed) { try await io.waitUntilPosition(reaches: 1 << 40, timeout: .seconds(5)) }
        }

        @Test func closeIsIdempotentCancelsPendingAndRefusesLaterCalls() async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "closing", serverName: server.name, connectPhysicalPorts: false)
            let pending = try io.schedulePlayspecChange([], insertAt: 1 << 40, startFrom: 0)
            let iterator = Task {
                var count = 0
                for try await _ in io.inputChunks { count += 1 }
                return count
            }
            try await Task.sleep(nanoseconds: 50_000_000)
            await io.close()
            await io.close()
            #expect(try await pending.result == .cancelled)
            #expect(try await iterator.value > 0, "the sequence finishes normally on close")
            #expect(throws: AMIOError.closed) { try io.setTransportRolling(true) }
            #expect(throws: AMIOError.closed) { try io.schedulePlayspecChange([], insertAt: 0, startFrom: 0) }
            #expect(throws: AMIOError.closed) { try io.connect("a", to: "b") }
            var afterClose = 0
            for try await _ in io.inputChunks { afterClose += 1 }
            #expect(afterClose == 0)
        }

        @Test(.enabled(if: amio_probe_interposed() != 0, "AddressSanitizer and ThreadSanitizer builds own malloc"))
        func theProcessThreadStaysRealtimeSafeWhilePlayspecsAreSwapped() async throws {
            let server = try JackServer.suite
            let io = try await openLoopback(server, channels: 2, name: "rtsafe")
            let loop = try io.ports().filter { $0.name == io.inputPortNames[1] }.flatMap(\.connections)
            let consumer = Task { for try await _ in io.inputChunks {} }
            var clips = try (0..<8).map { try rampClip(frames: 4096 + $0, channels: 1 + $0 % 2) }
            // And a clip that plays while it loads (AudioClipLoad's kind): a
            // writer publishes it a block at a time while the test runs, so
            // the process thread reads only published frames of it and
            // counts the rest (an atomic load and add, nothing else).
            let loadingFrames = 48_000
            let progress = try ClipProgress()
            let loadingSamples = try ClipStorage.allocate(frames: loadingFrames, channels: 2, zeroed: true)
            let loading = AudioClip(storage: ClipStorage(frameCount: loadingFrames, channelCount: 2, adopting: loadingSamples,
                                                         progress: progress), sampleRate: io.sampleRate)
            let writing = UnsafeSendable(loadingSamples)
            let writer = Thread {
                for block in stride(from: 0, to: loadingFrames, by: 256) {
                    let end = min(block + 256, loadingFrames)
                    for channel in 0..<2 {
                        for frame in block..<end { writing.pointer[channel * loadingFrames + frame] = Float(frame % 97) / 97 }
                    }
                    progress.publish(end)
                    usleep(5000)
                }
                progress.finish(.success(()))
            }
            writer.start()
            clips.append(loading)
            try io.setTransportRolling(true)
            #expect(await eventually { io.processThreadID != 0 })
            let tid = try ThreadFaults.kernelID(of: io.processThreadID)
            if LockedMemory.isUnlimited {
                #expect(io.session.core.memoryLocked, "the engine's memory could not be locked")
            }

            // The probe must see calls made inside shared libraries.
            amio_probe_watch(amio_probe_current_thread())
            free(strdup("counted inside libc"))
            #expect(amio_probe_count(AMIO_PROBE_ALLOCATION, false) >= 2, "the malloc interposer is not active")

            camio_set_cycle_hook(amio_probe_cycle)
            defer { camio_set_cycle_hook(nil) }
            let watched = io.processThreadID
            amio_probe_watch(watched)
            var faults = 0
            var faultsSince = try ThreadFaults.read(tid)
            let firstCycle = io.session.core.cycles
            var changes: [PlayspecChange] = []
            var round = 0
            // Fades, gain envelopes and crossfades run on the process thread
            // too: every shape, envelopes of one gain and of one per output on
            // both time bases (many points, so a period finds its segment by
            // search), crossfaded changes, replacements and seeks, some cut
            // short by the next.
            let shapes = FadeShape.allCases
            let perOutput = GainEnvelope((0..<64).map { (point: Int) -> GainEnvelope.Point in
                GainEnvelope.Point(frame: Int64(point * 61), gains: [Float(point % 5) / 4, Float(point % 3) / 2])
            }, timeBase: .occurrence)
            func envelope(_ round: Int, _ i: Int) -> GainEnvelope? {
                switch (round + i) % 3 {
                case 0: return nil
                case 1: return perOutput
                default:
                    let now = io.position
                    return GainEnvelope([.init(frame: now, gain: 1), .init(frame: now + 20_000, gain: 0.25)], timeBase: .timeline)
                }
            }
            while round < 300 || io.session.core.cycles < firstCycle + 300 {
                defer { round += 1 }
                let entries = (0..<(1 + round % 18)).map { i in
                    PlayspecEntry(clip: clips[i % clips.count], playAt: Int64(i * 100), repeatInterval: Int64(round % 3) * 5000,
                                  gains: [1, 0.5], fadeIn: (round + i) % 4 == 0 ? 0 : 300, fadeOut: (round + i) % 5 * 200,
                                  fadeShape: shapes[(round + i) % shapes.count], envelope: envelope(round, i))
                }
                let crossfade = round % 4 == 0 ? Crossfade.none : Crossfade(frames: 64 + round % 9 * 300,
                                                                              shape: shapes[round % shapes.count])
                // The timeline only moves forward (jumps and seeks ahead), so every
                // change's insertAt is reached, or passed, within a few periods.
                let insertAt = io.position + Int64(round % 700)
                if round % 9 == 4 {
                    changes.append(try io.setPlayspec(Playspec(entries), crossfade: crossfade))
                } else {
                    changes.append(try io.schedulePlayspecChange(Playspec(entries), insertAt: insertAt,
                                                                 startFrom: insertAt + Int64(round % 500),
                                                                 supersedingPending: round % 7 == 0, crossfade: crossfade))
                }
                if round % 50 == 0 { try io.setPosition(io.position + 1000) }
                if round % 50 == 25 { try io.setPosition(io.position + 3000, crossfade: 512) }
                if round == 150 {
                    // From here on in_2 takes a path of its own (jackd: a
                    // capture port; PipeWire: a cable where in_1 has a sink's
                    // monitor), so the process thread aligns the channels.
                    // The server maps new port buffers for it: the faults of
                    // those cycles are the server's, and not counted.
                    faults += try ThreadFaults.read(tid) - faultsSince
                    for source in loop { try io.disconnect(source, from: io.inputPortNames[1]) }
                    try io.connect(server.kind == .jackd ? "system:capture_1" : io.outputPortNames[1], to: io.inputPortNames[1])
                    #expect(await eventually { camio_engine_is_aligning_inputs(io.session.core.engine) }, "\(io.latency)")
                    try await Task.sleep(nanoseconds: 100_000_000)
                    faultsSince = try ThreadFaults.read(tid)
                }
                if round % 10 == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
                if changes.count > 200 { _ = try await changes.removeFirst().result }
            }
            for change in changes { _ = try await change.result }
            // The writer is done with the clip's samples before they go.
            _ = await progress.done()
            try await Task.sleep(nanoseconds: 100_000_000)
            faults += try ThreadFaults.read(tid) - faultsSince
            if LockedMemory.isUnlimited {
                #expect(io.isMemoryLocked)
                let clipsLocked = clips.allSatisfy { $0.storage.isLockedInMemory }
                #expect(clipsLocked)
            }
            #expect(io.processThreadID == watched, "JACK's process thread changed: the probe watched another")
            let found = ProbeCounts.read()
            let cycles = io.session.core.cycles - firstCycle
            amio_probe_watch(0)
            consumer.cancel()
            await io.close()
            // Allocation anywhere on the thread, libjack's own included; the
            // rest inside the engine's cycles (libjack waits and signals between them).
            #expect(found.allocations == 0, "the process thread allocated or freed \(found.allocations) times")
            #expect(found.inCycle == ProbeCounts.none, "inside its cycles the process thread called: \(found.inCycle)")
            #expect(faults == 0, "the process thread took \(faults) page faults")
            #expect(cycles >= 300)
            #expect(progress.starvedFrames > 0, "no cycle reached the loading clip before it was loaded")
            print("realtime-safety test: \(round) swaps over \(cycles) cycles, \(found), \(faults) faults, "
                + "\(progress.starvedFrames) frames of the loading clip reached before they were ready")
        }

        /// Each detector of the test above fires on a deliberately unsafe
        /// process thread: that test could fail.
        @Test(.enabled(if: amio_probe_interposed() != 0, "AddressSanitizer and ThreadSanitizer builds own malloc"),
              arguments: [CAMIO_MISBEHAVE_ALLOCATE, CAMIO_MISBEHAVE_LOCK, CAMIO_MISBEHAVE_WAIT, CAMIO_MISBEHAVE_READ,
                          CAMIO_MISBEHAVE_WRITE, CAMIO_MISBEHAVE_MAP, CAMIO_MISBEHAVE_FAULT])
        func everyDetectorCatchesAnUnsafeProcessThread(misbehaviour: camio_misbehaviour) async throws {
            let server = try JackServer.suite
            let io = try await AudioInterface(clientName: "unsafe\(misbehaviour.rawValue)", serverName: server.name,
                                              inputChannels: 1, outputChannels: 1, connectPhysicalPorts: false)
            try io.setTransportRolling(true)
            #expect(await eventually { io.processThreadID != 0 })
            let tid = try ThreadFaults.kernelID(of: io.processThreadID)
            camio_set_cycle_hook(amio_probe_cycle)
            defer { camio_set_cycle_hook(nil) }
            amio_probe_watch(io.processThreadID)
            let faultsBefore = try ThreadFaults.read(tid)
            #expect(camio_engine_misbehave_for_testing(io.session.core.engine, misbehaviour))
            let cycles = io.session.core.cycles
            // A cycle already running when the switch came counts without misbehaving.
            #expect(await eventually { io.session.core.cycles >= cycles + 30 })
            _ = camio_engine_misbehave_for_testing(io.session.core.engine, CAMIO_BEHAVE)
            let faults = try ThreadFaults.read(tid) - faultsBefore
            let found = ProbeCounts.read()
            amio_probe_watch(0)
            await io.close()
            switch misbehaviour {
            case CAMIO_MISBEHAVE_ALLOCATE: #expect(found.inCycle.allocations >= 20, "\(found)")
            case CAMIO_MISBEHAVE_LOCK: #expect(found.inCycle.locks >= 20, "\(found)")
            case CAMIO_MISBEHAVE_WAIT: #expect(found.inCycle.waits >= 80, "\(found)")
            case CAMIO_MISBEHAVE_READ, CAMIO_MISBEHAVE_WRITE: #expect(found.inCycle.io >= 20, "\(found)")
            case CAMIO_MISBEHAVE_MAP: #expect(found.inCycle.mappings >= 40, "\(found)")
            default: #expect(faults >= 20, "\(faults) faults")
            }
        }
    }

    /// Killing the server mid-run: reported as an event, the chunk sequence
    /// ends with an error, later calls throw, nothing crashes.
    @Suite struct ServerLoss {
        @Test func killingJackdMidRunIsReportedAndSurvived() async throws {
            let server = try JackServer()
            defer { server.stop() }
            let io = try await AudioInterface(clientName: "doomed", serverName: server.name, connectPhysicalPorts: false)
            let clip = try rampClip(frames: 48_000)
            let pending = try io.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1])],
                                                        insertAt: 1 << 40, startFrom: 0)
            try io.setTransportRolling(true)
            let events = Task {
                for try await event in io.events { if case .serverShutdown = event { return true } }
                return false
            }
            let chunks = Task { () -> AMIOError? in
                do throws(AMIOError) {
                    for try await _ in io.inputChunks {}
                    return nil
                } catch { return error }
            }
            try await io.waitUntilPosition(reaches: 4096)
            #expect(io.position >= 4096)
            let waiter = Task { () -> AMIOError? in
                do throws(AMIOError) {
                    try await io.waitUntilPosition(reaches: 1 << 40)
                    return nil
                } catch { return error }
            }
            server.kill9()
            let waited = await waiter.value
            guard case .serverShutdown? = waited else {
                Issue.record("a wait for a frame never reached ended with \(String(describing: waited)), not the server")
                return
            }
            let error = await chunks.value
            guard case .serverShutdown? = error else {
                Issue.record("the chunk sequence ended with \(String(describing: error))")
                return
            }
            #expect(try await events.value)
            #expect(try await pending.result == .cancelled)
            #expect(throws: AMIOError.self) { try io.setTransportRolling(false) }
            #expect(throws: AMIOError.self) { try io.schedulePlayspecChange([], insertAt: 0, startFrom: 0) }
            await io.close()
            await io.close()
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
