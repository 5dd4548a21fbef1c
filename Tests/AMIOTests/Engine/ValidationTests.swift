@testable import AMIO
import Foundation
import Testing

@Suite struct ValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable (AudioClip) -> Playspec
        let reason: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "crop past the end", make: { [PlayspecEntry(clip: $0, frames: 0..<101, playAt: 0, gains: [1, 1])] },
             reason: "lies outside the clip"),
        Case(name: "negative crop", make: { [PlayspecEntry(clip: $0, frames: -1..<5, playAt: 0, gains: [1, 1])] },
             reason: "lies outside the clip"),
        Case(name: "empty crop", make: { [PlayspecEntry(clip: $0, frames: 5..<5, playAt: 0, gains: [1, 1])] },
             reason: "is empty"),
        Case(name: "negative repeat", make: { [PlayspecEntry(clip: $0, playAt: 0, repeatInterval: -1, gains: [1, 1])] },
             reason: "repeatInterval is -1"),
        Case(name: "NaN gain", make: { [PlayspecEntry(clip: $0, playAt: 0, gains: [1, .nan])] },
             reason: "gain 1 is nan"),
        Case(name: "infinite gain", make: { [PlayspecEntry(clip: $0, playAt: 0, gains: [.infinity, 1])] },
             reason: "gain 0 is inf"),
        Case(name: "wrong gain count", make: { [PlayspecEntry(clip: $0, playAt: 0, gains: [1])] },
             reason: "1 gains given for 2 output channels"),
        Case(name: "wrong sample rate", make: { clip in
            let other = try! AudioClip(channels: [[0, 1]], sampleRate: 44100)
            return [PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1]), PlayspecEntry(clip: other, playAt: 0, gains: [1, 1])]
        }, reason: "44100 Hz"),
        Case(name: "playAt out of range", make: { [PlayspecEntry(clip: $0, playAt: .min, gains: [1, 1])] },
             reason: "beyond ±2^60"),
        Case(name: "too many entries", make: { clip in
            Playspec(Array(repeating: PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1]), count: 9))
        }, reason: "9 entries exceed the limit of 8"),
    ]

    @Test(arguments: cases)
    func invalidPlayspecIsRejectedAndThePlayingOneUntouched(_ testCase: Case) throws {
        let renderer = try OfflineRenderer(outputChannels: 2, maximumPlayspecEntries: 8)
        let clip = try rampClip(frames: 100)
        try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1, 1])])
        try renderer.setTransportRolling(true)
        let before = try renderer.render(frames: 10)
        let error = #expect(throws: AMIOError.self) {
            try renderer.schedulePlayspecChange(testCase.make(clip), insertAt: 0, startFrom: 0)
        }
        guard case let .invalidPlayspec(_, reason) = error else {
            Issue.record("\(testCase.name): \(String(describing: error))")
            return
        }
        #expect(reason.contains(testCase.reason), "\(reason)")
        let after = try renderer.render(frames: 10)
        #expect(before[0] == (1...10).map(Float.init))
        #expect(after[0] == (11...20).map(Float.init), "the playing playspec carries on")
    }

    @Test func theErrorNamesTheEntry() throws {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let clip = try rampClip(frames: 10)
        let playspec: Playspec = [PlayspecEntry(clip: clip, playAt: 0, gains: [1]),
                                  PlayspecEntry(clip: clip, frames: 0..<11, playAt: 0, gains: [1])]
        #expect(throws: AMIOError.invalidPlayspec(entry: 1, reason: "the crop 0..<11 lies outside the clip's 10 frames")) {
            try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
        }
    }

    @Test func aClipAtAnotherRateIsNamedAndTheFixSuggested() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("take-44k.wav")
        try AudioClip(channels: [[0, 0.5, 0]], sampleRate: 44100).write(to: url)
        let clip = try await AudioClip(contentsOf: url)
        let renderer = try OfflineRenderer(sampleRate: 48000, outputChannels: 1)
        #expect(throws: AMIOError.invalidPlayspec(entry: 0, reason: "clip 'take-44k.wav' is at 44100 Hz but the interface "
            + "runs at 48000 Hz; convert it with clip.resampled(to: 48000)")) {
            try renderer.setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1])])
        }
        try renderer.setPlayspec([PlayspecEntry(clip: try clip.resampled(to: 48000), playAt: 0, gains: [1])])
    }

    @Test func clipsRejectImpossibleShapes() {
        #expect(throws: AMIOError.self) { try AudioClip(interleaved: [1, 2, 3], channels: 2, sampleRate: 48000) }
        #expect(throws: AMIOError.self) { try AudioClip(channels: [[1, 2], [3]], sampleRate: 48000) }
        #expect(throws: AMIOError.self) { try AudioClip(channels: [], sampleRate: 48000) }
        #expect(throws: AMIOError.self) { try AudioClip(channels: [[1]], sampleRate: 0) }
    }

    @Test func interleavedAndPlanarClipsAgree() throws {
        let a = try AudioClip(interleaved: [1, 10, 2, 20, 3, 30], channels: 2, sampleRate: 48000)
        let b = try AudioClip(channels: [[1, 2, 3], [10, 20, 30]], sampleRate: 48000)
        #expect(a.frameCount == 3 && a.channelCount == 2)
        #expect(a.samples(channel: 0) == b.samples(channel: 0))
        #expect(a.samples(channel: 1) == b.samples(channel: 1))
        #expect(a[channel: 1, frame: 2] == 30)
    }

    @Test func rendererRejectsMismatchedInput() throws {
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 1)
        #expect(throws: AMIOError.self) { try renderer.render(frames: 4, input: [[0, 0, 0, 0]]) }
        #expect(throws: AMIOError.self) { try renderer.render(frames: 0) }
    }
}
