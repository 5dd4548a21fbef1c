@testable import AMIO
import Testing

/// Joining consecutive input chunks for consumers that take them in large
/// pieces (``AudioInterface/inputChunks(minimumFrames:bufferingChunks:)``),
/// checked on the broadcaster itself with chunks made up for it.
@Suite struct CoarseDeliveryTests {
    /// A chunk of `frames` frames, 2 channels, sample value = channel × 10^6 + played frame.
    static func chunk(at playedAt: Int64, frames: Int, startingFrame: Int64? = nil, playspec: UInt64 = 1,
                      rolling: Bool = true, dropped: Int = 0) -> InputAudioChunk {
        let samples = (0..<2).flatMap { channel in (0..<frames).map { Float(channel * 1_000_000) + Float(playedAt) + Float($0) } }
        return InputAudioChunk(startingFrame: startingFrame ?? playedAt, playspecID: playspec, wasTransportRolling: rolling,
                               frameCount: frames, channelCount: 2, cycleFrameTime: playedAt, cycleTime: UInt64(playedAt) * 10,
                               droppedFramesBefore: dropped, samples: samples, playedAt: playedAt)
    }

    static func deliveries(of chunks: [InputAudioChunk], minimumFrames: Int) async throws -> [InputAudioChunk] {
        let broadcaster = Broadcaster<InputAudioChunk>(account: InputAudioChunk.dropAccounting, weight: InputAudioChunk.dropWeight,
                                                      coalescing: InputAudioChunk.coalescing)
        var consumer = broadcaster.subscribe(bufferLimit: 1000, minimumFrames: minimumFrames)
        for chunk in chunks { broadcaster.broadcast(chunk) }
        broadcaster.finish()
        var received: [InputAudioChunk] = []
        while let chunk = try await consumer.next() { received.append(chunk) }
        return received
    }

    @Test func consecutiveChunksAreJoinedPlanarUntilTheyHoldEnough() async throws {
        let chunks = (0..<10).map { Self.chunk(at: Int64($0) * 256, frames: 256) }
        let received = try await Self.deliveries(of: chunks, minimumFrames: 1000)
        // 4 chunks make 1024 ≥ 1000; the last two are held, then sent on finish.
        #expect(received.map(\.frameCount) == [1024, 1024, 512])
        #expect(received.map(\.startingFrame) == [0, 1024, 2048])
        #expect(received.map(\.cycleTime) == [0, 10240, 20480])
        for chunk in received {
            for channel in 0..<2 {
                let expected = (0..<chunk.frameCount).map { Float(channel * 1_000_000) + Float(chunk.playedAt) + Float($0) }
                #expect(Array(chunk.samples(channel: channel)) == expected)
            }
        }
    }

    @Test func aChunkThatDoesNotContinueSendsWhatWasHeldFirst() async throws {
        let chunks = [
            Self.chunk(at: 0, frames: 256),
            Self.chunk(at: 256, frames: 256),
            Self.chunk(at: 512, frames: 256, startingFrame: 9000, playspec: 2),   // a swap with a jump
            Self.chunk(at: 768, frames: 256, startingFrame: 9256, playspec: 2),
            Self.chunk(at: 1280, frames: 256, startingFrame: 9768, playspec: 2, dropped: 256),   // a loss
            Self.chunk(at: 1536, frames: 256, startingFrame: 5, playspec: 2, rolling: false),
            Self.chunk(at: 1792, frames: 256, startingFrame: 5, playspec: 2, rolling: false),   // stopped: the same frame
        ]
        let received = try await Self.deliveries(of: chunks, minimumFrames: 100_000)
        #expect(received.map(\.frameCount) == [512, 512, 256, 512])
        #expect(received.map(\.startingFrame) == [0, 9000, 9768, 5])
        #expect(received.map(\.droppedFramesBefore) == [0, 0, 256, 0])
        // The invariant holds across the joined chunks of one segment.
        #expect(received[2].startingFrame == received[1].endFrame + Int64(received[2].droppedFramesBefore))
    }

    @Test func withoutAMinimumEveryChunkComesAsCaptured() async throws {
        let chunks = (0..<5).map { Self.chunk(at: Int64($0) * 64, frames: 64) }
        for minimum in [0, 1] {
            let received = try await Self.deliveries(of: chunks, minimumFrames: minimum)
            #expect(received.map(\.frameCount) == [64, 64, 64, 64, 64])
        }
    }
}
