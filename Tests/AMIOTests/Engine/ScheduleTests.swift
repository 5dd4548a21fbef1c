@testable import AMIO
import Testing

/// A clip whose sample at frame i is `base + i`, so every output value says
/// which clip frame produced it.
func rampClip(frames: Int, base: Float = 1, channels: Int = 1, sampleRate: Int = 48000) throws -> AudioClip {
    try AudioClip(channels: (0..<channels).map { c in (0..<frames).map { base + Float($0) + Float(c) * 10000 } },
                  sampleRate: sampleRate)
}

@Suite struct ScheduleTests {
    @Test func changeTakesEffectOnTheExactSampleInsideAPeriod() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let a = try rampClip(frames: 1000, base: 1)
        let b = try rampClip(frames: 1000, base: 5001)
        try renderer.schedulePlayspecChange([PlayspecEntry(clip: a, playAt: 0, gains: [1])], insertAt: 0, startFrom: 0)
        let swap = try renderer.schedulePlayspecChange([PlayspecEntry(clip: b, playAt: 0, gains: [1])],
                                                       insertAt: 100, startFrom: 0)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 256)[0]
        #expect(out[99] == 100)      // clip a, frame 99
        #expect(out[100] == 5001)    // clip b, frame 0: the new timeline starts at 0
        #expect(out[101] == 5002)
        #expect(swap.currentResult == .applied(atFrame: 100))
        #expect(renderer.position == 156)
    }

    @Test func aChangeWhoseFrameHasPassedAppliesAtOnceWithCompensatedPosition() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let a = try rampClip(frames: 5000, base: 1)
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 300)
        let late = try renderer.schedulePlayspecChange([PlayspecEntry(clip: a, playAt: 0, gains: [1])],
                                                       insertAt: 200, startFrom: 1000)
        let out = try renderer.render(frames: 10)[0]
        #expect(late.currentResult == .applied(atFrame: 300))
        // Position 1000 + (300 − 200) = 1100 plays clip frame 1100, whose value is 1101.
        #expect(out[0] == 1101)
        #expect(renderer.position == 1110)
    }

    @Test func changesApplyInSubmissionOrderAndLoopJumpsRepeat() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let a = try rampClip(frames: 1000, base: 1)
        let spec: Playspec = [PlayspecEntry(clip: a, playAt: 0, gains: [1])]
        try renderer.schedulePlayspecChange(spec, insertAt: 0, startFrom: 0)
        // A loop [100, 200): every time the timeline reaches 200 it jumps to 100.
        let first = try renderer.schedulePlayspecChange(spec, insertAt: 200, startFrom: 100)
        let second = try renderer.schedulePlayspecChange(spec, insertAt: 200, startFrom: 100)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(periods: [64, 64, 64, 64, 64, 64])[0]
        #expect(first.currentResult == .applied(atFrame: 200))
        #expect(second.currentResult == .applied(atFrame: 200))
        #expect(out[199] == 200)
        #expect(out[200] == 101)  // first jump
        #expect(out[299] == 200)
        #expect(out[300] == 101)  // second jump
        #expect(out[383] == 184)
    }

    @Test func supersedingCancelsEveryPendingChangeAndReleasesItsClips() async throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        weak var released: ClipStorage?
        var pending: PlayspecChange!
        do {
            let doomed = try rampClip(frames: 10)
            released = doomed.storage
            pending = try renderer.schedulePlayspecChange([PlayspecEntry(clip: doomed, playAt: 0, gains: [1])],
                                                          insertAt: 10_000, startFrom: 0)
        }
        let b = try rampClip(frames: 10, base: 7)
        let winner = try renderer.schedulePlayspecChange([PlayspecEntry(clip: b, playAt: 0, gains: [1])],
                                                         insertAt: 0, startFrom: 0, supersedingPending: true)
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 16)[0]
        #expect(try await pending.result == .superseded)
        #expect(try await winner.result == .applied(atFrame: 0))
        #expect(out[0] == 7)
        #expect(released == nil, "the superseded playspec's clip must be released off the realtime thread")
    }

    @Test func retiredPlayspecsReleaseTheirClips() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        weak var released: ClipStorage?
        do {
            let old = try rampClip(frames: 10)
            released = old.storage
            try renderer.setPlayspec([PlayspecEntry(clip: old, playAt: 0, gains: [1])])
        }
        _ = try renderer.render(frames: 8)
        #expect(released != nil, "the playing playspec keeps its clip alive")
        try renderer.setPlayspec([])
        _ = try renderer.render(frames: 8)
        #expect(released == nil)
    }

    @Test func stoppedTransportIsSilentAndStill() throws {
        let renderer = try OfflineRenderer(outputChannels: 2)
        let a = try rampClip(frames: 1000)
        try renderer.setPlayspec([PlayspecEntry(clip: a, playAt: 0, gains: [1, 0.5])])
        let stopped = try renderer.render(frames: 128)
        #expect(stopped.allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(renderer.position == 0)
        #expect(!renderer.isTransportRolling)
        try renderer.setPosition(500)
        try renderer.setTransportRolling(true)
        let rolling = try renderer.render(frames: 4)
        #expect(rolling[0] == [501, 502, 503, 504])
        #expect(rolling[1] == [250.5, 251, 251.5, 252])
        try renderer.setTransportRolling(false)
        _ = try renderer.render(frames: 4)
        #expect(renderer.position == 504)
    }

    @Test func seeksDoNotWaitBehindAPendingChange() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let a = try rampClip(frames: 100_000)
        try renderer.setPlayspec([PlayspecEntry(clip: a, playAt: 0, gains: [1])])
        let later = try renderer.schedulePlayspecChange([], insertAt: 50_000, startFrom: 0)
        try renderer.setTransportRolling(true)
        try renderer.setPosition(1000)
        let out = try renderer.render(frames: 4)[0]
        #expect(out[0] == 1001)
        #expect(later.currentResult == nil)
    }

    @Test func monoClipsFeedEveryOutputAndMultichannelClipsMapByIndex() throws {
        let renderer = try OfflineRenderer(outputChannels: 3)
        let mono = try rampClip(frames: 4, base: 1)
        let stereo = try rampClip(frames: 4, base: 100, channels: 2)
        try renderer.setPlayspec([
            PlayspecEntry(clip: mono, playAt: 0, gains: [1, 2, 3]),
            PlayspecEntry(clip: stereo, playAt: 0, gains: [1, 1, 1]),
        ])
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 4)
        #expect(out[0] == [101, 103, 105, 107])           // mono + stereo ch 0
        #expect(out[1] == [10102, 10105, 10108, 10111])   // 2×mono + stereo ch 1
        #expect(out[2] == [3, 6, 9, 12])                  // 3×mono; the stereo clip has no channel 2
    }

    @Test func overlapsAddWithoutClamping() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let loud = try AudioClip(channels: [[0.9, 0.9]], sampleRate: 48000)
        try renderer.setPlayspec([PlayspecEntry(clip: loud, playAt: 0, gains: [1]),
                                  PlayspecEntry(clip: loud, playAt: 1, gains: [1])])
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 3)[0]
        #expect(abs(out[1] - 1.8) < 1e-6)
    }

    @Test func repeatsRestartAndCutAnOccurrenceLongerThanTheInterval() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let a = try rampClip(frames: 10)
        try renderer.setPlayspec([PlayspecEntry(clip: a, frames: 2..<8, playAt: 3, repeatInterval: 4, gains: [1])])
        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 16)[0]
        // Crop 2..<8 (values 3…8) cut to 4 frames, restarting every 4 from frame 3.
        #expect(out == [0, 0, 0, 3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6, 3])
    }

    @Test func fullChangeQueueIsATypedError() throws {
        let renderer = try OfflineRenderer(outputChannels: 1, changeCapacity: 4)
        for _ in 0..<4 { try renderer.schedulePlayspecChange([], insertAt: 1 << 40, startFrom: 0) }
        #expect(throws: AMIOError.changeQueueFull(capacity: 4)) {
            try renderer.schedulePlayspecChange([], insertAt: 0, startFrom: 0)
        }
    }
}

@Suite struct PeriodSizeTests {
    /// Every period JACK may use gives the same output as one long render.
    @Test(arguments: [16, 17, 64, 1000, 4096, 8192])
    func anyPeriodRendersTheSameOutput(period: Int) throws {
        func render(_ periods: [Int]) throws -> [[Float]] {
            let renderer = try OfflineRenderer(outputChannels: 2)
            let clip = try rampClip(frames: 5000, channels: 2)
            try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, frames: 10..<4000, playAt: 77, repeatInterval: 6000, gains: [1, -1])],
                                                insertAt: 0, startFrom: 0)
            try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 0, gains: [0.5, 2])], insertAt: 9_999, startFrom: 3)
            try renderer.setTransportRolling(true)
            return try renderer.render(periods: periods)
        }
        let total = 8192 * 3
        let reference = try render([total])
        let split = try render(Array(repeating: period, count: total / period) + (total % period == 0 ? [] : [total % period]))
        #expect(split == reference)
    }
}
