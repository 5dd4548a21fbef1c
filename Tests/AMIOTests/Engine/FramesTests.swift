@testable import AMIO
import Testing

/// The two frame types and the conversions between them and from seconds.
@Suite struct FramesTests {
    @Test func secondsBecomeTimelineFramesAtTheRendererRate() throws {
        let renderer = try OfflineRenderer(sampleRate: 44100, outputChannels: 1)
        #expect(try renderer.frames(forSeconds: 0.5) == 22050)
        #expect(try renderer.frames(forSeconds: 1.0 / 3) == 14700)
        #expect(try renderer.frames(forSeconds: 0.00001) == 0, "rounded to the nearest frame")
        #expect(try renderer.frames(forSeconds: -2) == -88200, "a distance back")
    }

    @Test func aTimeThatIsNotFiniteOrLeavesTheTimelineIsATypedError() throws {
        let renderer = try OfflineRenderer(sampleRate: 48000, outputChannels: 1)
        for seconds in [Double.nan, .infinity, 1e300, -1e300] {
            #expect(throws: AMIOError.self) { try renderer.frames(forSeconds: seconds) }
        }
        let error = #expect(throws: AMIOError.self) { try renderer.frames(forSeconds: .nan) }
        guard case let .invalidArgument(name, _)? = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(name == "seconds")
    }

    /// The README's tour, offline: beats, crops, loop frames and chunk
    /// labels meet with no conversion but the documented ones, where a
    /// count goes onto the timeline and a timeline frame indexes memory.
    @Test func theTourComputesItsFramesWithTheDocumentedConversionsOnly() throws {
        let renderer = try OfflineRenderer(sampleRate: 48000, inputChannels: 1, outputChannels: 1)
        let click = try AudioClip(channels: [[1, 0.5, 0.25]], sampleRate: renderer.sampleRate)
        let beat = try renderer.frames(forSeconds: 0.5)
        let playspec: Playspec = [
            PlayspecEntry(clip: click, frames: 0..<click.frameCount, playAt: 0, repeatInterval: beat, gains: [1]),
        ]
        try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
        let loop = try renderer.schedulePlayspecChange(playspec, insertAt: 2 * beat, startFrom: beat)
        try renderer.setTransportRolling(true)
        let period: FrameCount = 4096
        var output: [Float] = []
        while renderer.position < 2 * beat {
            output += try renderer.render(frames: period)[0]
        }
        #expect(loop.currentResult == .applied(atFrame: 2 * beat))
        #expect(output[FrameCount(beat)] == 1, "a click on the beat")
        let chunks = renderer.takeInputChunks()
        let captured = chunks.reduce(0) { $0 + $1.frameCount + $1.droppedFramesBefore }
        #expect(chunks.first?.startingFrame == 0)
        #expect(chunks.last.map { $0.endFrame - chunks[0].startingFrame } == FramePosition(captured) - beat,
                "the loop took the timeline back one beat")
    }
}
