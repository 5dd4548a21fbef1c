@testable import AMIO
import Testing

/// Capture labelling through the offline driver, where input and output are
/// under the test's control.
@Suite struct CaptureTests {
    /// Feeds back the previous cycle's output as input (a loopback delayed by
    /// `delay` frames) and checks the chunks line up with what was played.
    @Test(arguments: [1, 7, 64, 256])
    func chunksLineUpWithTheTimelineAcrossSwapsAndJumps(period: Int) throws {
        let delay = 300
        let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1, roundTripLatency: delay)
        // The clip's value at frame i is i + 1: the output carries its own timeline position.
        let ramp = try rampClip(frames: 100_000)
        let spec: Playspec = [PlayspecEntry(clip: ramp, playAt: 0, gains: [1])]
        let first = try renderer.schedulePlayspecChange(spec, insertAt: 0, startFrom: 0)
        let loop = try renderer.schedulePlayspecChange(spec, insertAt: 2000, startFrom: 500)
        let swap = try renderer.schedulePlayspecChange(spec, insertAt: 1200, startFrom: 5000)
        try renderer.setTransportRolling(true)

        var history = [Float](repeating: 0, count: delay)   // output not yet heard back
        var chunks: [InputAudioChunk] = []
        for _ in 0..<(5000 / period + 1) {
            let input = Array(history.prefix(period))
            let out = try renderer.render(frames: period, input: [input + [Float](repeating: 0, count: period - input.count)])[0]
            history.removeFirst(min(period, history.count))
            history += out
            chunks += renderer.takeInputChunks()
        }
        #expect(first.currentResult == .applied(atFrame: 0))
        #expect(loop.currentResult == .applied(atFrame: 2000))
        #expect(swap.currentResult == .applied(atFrame: 1200))

        var checked = 0
        for chunk in chunks where chunk.wasTransportRolling && chunk.startingFrame >= 0 {
            for (i, value) in chunk.samples(channel: 0).enumerated() {
                #expect(value == Float(chunk.startingFrame + Int64(i) + 1),
                        "frame \(chunk.startingFrame + Int64(i)) heard \(value)")
                checked += 1
            }
        }
        #expect(checked > 4000)
        // Each swap or jump splits a chunk, labelled with the playspec that was sounding.
        let ids = Set(chunks.map(\.playspecID))
        #expect(ids.isSuperset(of: [first.playspecID, loop.playspecID, swap.playspecID]))
    }

    /// A chunk's samples come from storage the engine reuses once every
    /// consumer has let go of the chunk, not from a new allocation: chunk
    /// k + pool has chunk k's storage when chunk k was dropped, where
    /// malloc would have handed it to chunk k + 1 already. A chunk still
    /// held keeps its samples (copy on write), however many come after it.
    @Test func chunkStorageIsReusedOnceLetGoAndNeverWhileHeld() throws {
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 1)
        let pool = EngineCore.reusedChunkStorages
        var addresses: [UInt] = []
        var held: [(chunk: InputAudioChunk, copy: [Float])] = []
        for cycle in 0..<(8 * pool) {
            let input = (0..<2).map { channel in (0..<256).map { Float(cycle * 512 + channel * 256 + $0) } }
            _ = try renderer.render(frames: 256, input: input)
            for chunk in renderer.takeInputChunks() {
                addresses.append(chunk.samples.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) })
                // Every third is held to the end: the others are let go at once.
                if addresses.count % 3 == 0 { held.append((chunk, Array(chunk.samples))) }
            }
        }
        #expect(addresses.count >= 6 * pool)
        var reused = 0, handedOnAtOnce = 0
        for index in 0..<(addresses.count - pool) where (index + 1) % 3 != 0 {
            if addresses[index + pool] == addresses[index] { reused += 1 }
            if addresses[index + 1] == addresses[index] { handedOnAtOnce += 1 }
        }
        #expect(reused > addresses.count / 2, "a chunk let go gives its storage to the chunk \(pool) later")
        #expect(handedOnAtOnce == 0, "and not to the next one, as a free and a malloc would")
        for (chunk, copy) in held { #expect(chunk.samples == copy, "a held chunk never changes") }
        #expect(Set(held.map { $0.chunk.samples.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }).count == held.count)
    }

    /// In the first cycles the round trip reaches back before the engine
    /// started: those frames belong to the first (stopped) segment. Every
    /// captured frame is delivered exactly once, in chunks no longer than
    /// the period. (This once looped forever on the realtime thread: an
    /// overflow in the segment arithmetic, found as a hang under load.)
    @Test(arguments: [1, 44, 256, 300, 5000])
    func captureBeforeTheFirstChangeReachesBackBeforeTheStart(roundTrip: Int) throws {
        let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1, roundTripLatency: roundTrip)
        var chunks: [InputAudioChunk] = []
        for cycle in 0..<8 {
            let input = (0..<256).map { Float(cycle * 256 + $0 + 1) }
            _ = try renderer.render(frames: 256, input: [input])
            chunks += renderer.takeInputChunks()
        }
        #expect(chunks.allSatisfy { $0.frameCount <= 256 && !$0.wasTransportRolling && $0.startingFrame == 0 })
        let heard: [Float] = chunks.flatMap { $0.samples(channel: 0) }
        let played: [Float] = (0..<(8 * 256)).map { Float($0 + 1) }
        #expect(heard == played, "every captured frame once, in order")
    }

    @Test func stoppedTransportChunksStayOnOneFrame() throws {
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 0)
        try renderer.setPosition(42)
        _ = try renderer.render(frames: 100, input: [[Float](repeating: 1, count: 100), [Float](repeating: 2, count: 100)])
        _ = try renderer.render(frames: 100)
        let chunks = renderer.takeInputChunks()
        #expect(chunks.count == 2)
        #expect(chunks.allSatisfy { !$0.wasTransportRolling && $0.startingFrame == 42 && $0.channelCount == 2 })
        #expect(chunks[0].samples(channel: 1).allSatisfy { $0 == 2 })
        #expect(chunks[1].cycleFrameTime == chunks[0].cycleFrameTime + 100)
    }
}
