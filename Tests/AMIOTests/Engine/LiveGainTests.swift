@testable import AMIO
import Testing

/// A live gain change is a swap of the same entries under a short linear
/// crossfade: a ramp, never a step, and the caller's arrangement follows.
@Suite struct LiveGainTests {
    let rate = 48000

    func constantClip(named name: String, value: Float) throws -> AudioClip {
        var clip = try AudioClip(channels: [[Float](repeating: value, count: 48000)], sampleRate: rate)
        clip.name = name
        return clip
    }

    @Test func aGainChangeRampsOverTenMillisecondsAndTheArrangementKeepsIt() throws {
        let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: 2)
        var arrangement: Playspec = [
            PlayspecEntry(clip: try constantClip(named: "drums", value: 0.5), playAt: 0, gains: [1, 1]),
            PlayspecEntry(clip: try constantClip(named: "bass", value: 0.25), playAt: 0, gains: [1, 1]),
        ]
        try renderer.setPlayspec(arrangement)
        try renderer.setTransportRolling(true)
        let before = try renderer.render(frames: 100)
        #expect(before[0].allSatisfy { $0 == 0.75 })

        let change = try renderer.setGains([0.5, 0], forEntriesMatching: { $0.clip.name == "drums" }, in: &arrangement)
        #expect(arrangement[0].gains == [0.5, 0] && arrangement[1].gains == [1, 1])
        let output = try renderer.render(frames: 1000)
        #expect(change.currentResult == .applied(atFrame: 100))
        // 10 ms at 48 kHz: 480 frames from 0.75 down to 0.5 (left) and 0.25 (right), linearly.
        for (channel, target) in [(0, Float(0.5)), (1, Float(0.25))] {
            let samples = output[channel]
            for k in 0..<480 {
                let x = Float(k) / 480
                let expected = 0.75 + (target - 0.75) * x
                #expect(abs(samples[k] - expected) < 1e-6, "channel \(channel) frame \(k): \(samples[k]), not \(expected)")
            }
            #expect(samples[480...].allSatisfy { $0 == target })
            let largestStep = zip(samples.dropFirst(), samples).map { abs($0 - $1) }.max()!
            #expect(largestStep <= (0.75 - target) / 480 + 1e-6, "a ramp, not a step: \(largestStep)")
        }
    }

    @Test func aRefusedGainChangeLeavesTheArrangementAsItWas() throws {
        let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: 2)
        var arrangement: Playspec = [PlayspecEntry(clip: try constantClip(named: "drums", value: 0.5), playAt: 0, gains: [1, 1])]
        #expect(throws: AMIOError.self) {
            try renderer.setGains([1, 1, 1], forEntriesMatching: { _ in true }, in: &arrangement)
        }
        #expect(arrangement[0].gains == [1, 1])
        #expect(throws: AMIOError.self) {
            try renderer.setGains([.nan, 1], forEntriesMatching: { _ in true }, in: &arrangement,
                                  crossfade: Crossfade(frames: 10))
        }
        #expect(arrangement[0].gains == [1, 1])
    }

    @Test func aPlayspecSetsGainsOnTheEntriesThePredicateAccepts() throws {
        var playspec: Playspec = [
            PlayspecEntry(clip: try constantClip(named: "a", value: 1), playAt: 0, gains: [1]),
            PlayspecEntry(clip: try constantClip(named: "b", value: 1), playAt: 0, gains: [1]),
            PlayspecEntry(clip: try constantClip(named: "a", value: 1), playAt: 10, gains: [1]),
        ]
        #expect(playspec.setGains([0.25]) { $0.clip.name == "a" } == 2)
        #expect(playspec.map(\.gains) == [[0.25], [1], [0.25]])
    }
}
