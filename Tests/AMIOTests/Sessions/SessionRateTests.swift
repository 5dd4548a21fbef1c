@testable import AMIO
import Foundation
import Testing

/// A session keeps its arrangement at any rate: its times in frames count at
/// its own `sampleRate` and are converted to the playing rate, crops
/// included, rounded to the nearest frame.
@Suite struct SessionRateTests {
    /// Writes `json` as a session beside an impulse clip: 24000 frames at
    /// 48 kHz, silent but for 1.0 at frame 12000 (where it stays when
    /// resampled: frame n lands at round(n × ratio), 11025 at 44.1 kHz).
    func impulseSession(_ json: String) throws -> (directory: URL, url: URL) {
        let directory = try temporaryDirectory()
        var samples = [Float](repeating: 0, count: 24000)
        samples[12000] = 1
        try AudioClip(channels: [samples], sampleRate: 48000)
            .write(to: directory.appendingPathComponent("impulse.wav"), encoding: .float)
        let url = directory.appendingPathComponent("impulse.json")
        try Data(json.utf8).write(to: url)
        return (directory, url)
    }

    /// Where the impulse sounds: the loudest sample within 2000 frames of each of `frames`.
    func loudest(in samples: [Float], near frames: [Int]) -> [Int] {
        frames.map { frame in
            let window = max(0, frame - 2000)..<min(samples.count, frame + 2000)
            return window.max { abs(samples[$0]) < abs(samples[$1]) }!
        }
    }

    @Test(arguments: [48000, 44100, 96000, 22050])
    func anImpulseAtAFrameTimeLandsAtTheSameMomentAtAnyRate(rate: Int) async throws {
        // A 48 kHz session: the impulse (clip frame 12000, the crop's start)
        // sounds at frame 24000 and at 1.5 s; the session lasts 96000 frames.
        let (directory, url) = try impulseSession("""
            {"version": 1, "outputs": 1, "sampleRate": 48000, "length": "96000s",
             "clips": {"impulse": {"file": "impulse.wav"}},
             "entries": [{"clip": "impulse", "start": "24000s", "crop": ["12000s", "end"]},
                         {"clip": "impulse", "start": 1.5, "crop": ["12000s", "end"]}]}
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rendered = try await Session(contentsOf: url).render(sampleRate: rate)
        #expect(rendered.sampleRate == rate)
        #expect(rendered.frameCount == 2 * rate, "96000 frames at 48 kHz are 2 s")
        let expected = [rate / 2, rate * 3 / 2]
        #expect(loudest(in: rendered.samples(channel: 0), near: expected) == expected)
        if rate == 44100 { #expect(expected == [22050, 66150]) }
    }

    @Test(arguments: [48000, 44100, 96000, 8000])
    func framesOfASessionCountAtItsSampleRate(rate: Int) async throws {
        let (directory, url) = try impulseSession("""
            {"version": 1, "outputs": 1, "sampleRate": 48000, "length": "96000s",
             "clips": {"impulse": {"file": "impulse.wav", "crop": ["4800s", "9600s"]}},
             "entries": [{"clip": "impulse", "start": "24000s", "repeat": "48000s"},
                         {"clip": "impulse", "start": 1, "crop": [0.1, "14400s"]}]}
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (playspec, length) = try await Session(contentsOf: url).playspec(sampleRate: rate)
        // Every frame time scales by rate / 48000; these are whole at each rate tested.
        func at(_ frames: Int) -> Int { frames * rate / 48000 }
        #expect(length == Int64(at(96000)))
        #expect(playspec[0].playAt == Int64(at(24000)) && playspec[0].repeatInterval == Int64(at(48000)))
        #expect(playspec[0].frames == at(4800)..<at(9600), "a clip's crop in frames counts at the session's rate")
        #expect(playspec[1].playAt == Int64(rate) && playspec[1].frames == at(4800)..<at(14400))
    }

    /// The example: 8.50 s at 48 kHz, and 8.50 s at 44.1 kHz (8.90 s when frames counted at the playing rate).
    @Test(arguments: [48000, 44100])
    func multitrackLastsAsLongAtEveryRate(rate: Int) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("multitrack.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("multitrack.json"), to: url)
        let session = try Session(contentsOf: url)
        let (playspec, length) = try await session.playspec(sampleRate: rate)
        #expect(length == Int64(rate) * 17 / 2)
        // The second lead entry: at "240000s" (5 s), from "24000s" (0.5 s) to the clip's end (4 s).
        #expect(playspec[3].playAt == 5 * Int64(rate))
        #expect(playspec[3].frames == rate / 2..<4 * rate)
        let rendered = try await session.render(sampleRate: rate)
        #expect(rendered.frameCount == rate * 17 / 2)
    }

    @Test func framesConvertBetweenRatesRoundingToTheNearest() throws {
        #expect(try AudioTime.frames(24000).frames(atSampleRate: 44100, countingFramesAt: 48000) == 22050)
        #expect(try AudioTime.frames(22050).frames(atSampleRate: 48000, countingFramesAt: 44100) == 24000)
        #expect(try AudioTime.seconds(0.5).frames(atSampleRate: 44100, countingFramesAt: 48000) == 22050, "seconds ignore the frame rate")
        // Halves away from zero, as seconds round.
        #expect(try TimelineLimit.frames(1, countedAt: 2, convertedTo: 1, name: "t") == 1)
        #expect(try TimelineLimit.frames(3, countedAt: 2, convertedTo: 1, name: "t") == 2)
        #expect(try TimelineLimit.frames(-1, countedAt: 2, convertedTo: 1, name: "t") == -1)
        #expect(try TimelineLimit.frames(1, countedAt: 3, convertedTo: 1, name: "t") == 0)
        #expect(try TimelineLimit.frames(2, countedAt: 3, convertedTo: 1, name: "t") == 1)
        // The whole timeline converts without overflow, to a lower rate and back to the limit.
        let limit = TimelineLimit.limit
        #expect(try TimelineLimit.frames(limit, countedAt: 768_000, convertedTo: 1, name: "t") == 6_004_799_503_161)
        #expect(try TimelineLimit.frames(limit, countedAt: 7, convertedTo: 7, name: "t") == limit)
        #expect(try TimelineLimit.frames(-limit, countedAt: 2, convertedTo: 1, name: "t") == -limit / 2)
        for (frames, from, to) in [(limit, 1, 2), (limit / 2 + 1, 1, 2), (Int64.max, 1, 1), (Int64.min, 2, 1), (limit, 1, 768_000),
                                   (1, 0, 48000), (1, 48000, 0), (1, -1, 1)] {
            let error = #expect(throws: AMIOError.self) { try TimelineLimit.frames(frames, countedAt: from, convertedTo: to, name: "start") }
            guard case let .invalidArgument(name, reason)? = error else { continue }
            #expect(name == "start" && (reason.contains("2^62") || reason.contains("below 1 Hz")), "\(reason)")
        }
    }

    /// Seeded random frames and rates: the conversion is the exact quotient, rounded half up.
    @Test func framesConvertExactlyForRandomValues() throws {
        var rng = SplitMix(seed: 0x4A7E)
        for _ in 0..<20000 {
            let from = 1 + rng.below(768_000), to = 1 + rng.below(768_000)
            // Below 2^40 frames, 2·frames·rate fits Int64 and gives the exact rounding.
            let frames = Int64(rng.below(1 << 40))
            let exact = (2 * frames * Int64(to) + Int64(from)) / (2 * Int64(from))
            #expect(try TimelineLimit.frames(frames, countedAt: from, convertedTo: to, name: "t") == exact, "\(frames) at \(from) → \(to)")
            // Near the limit, within a frame of the real quotient, or refused.
            let large = TimelineLimit.limit - Int64(rng.below(1 << 40))
            let real = Double(large) * Double(to) / Double(from)
            if let converted = try? TimelineLimit.frames(large, countedAt: from, convertedTo: to, name: "t") {
                #expect(abs(Double(converted) - real) <= max(1, real * 1e-15) && converted <= TimelineLimit.limit)
            } else {
                #expect(real > Double(TimelineLimit.limit) * (1 - 1e-15))
            }
        }
    }

    /// What cannot be played at a rate is an error naming the entry, never a wrong arrangement.
    @Test func timesThatDoNotFitThePlayingRateNameTheEntry() async throws {
        let (directory, url) = try impulseSession("{}")
        defer { try? FileManager.default.removeItem(at: directory) }
        func failure(_ json: String, rate: Int) async throws -> (String, String)? {
            try Data(json.utf8).write(to: url)
            let error = await #expect(throws: AMIOError.self) { _ = try await Session(contentsOf: url).playspec(sampleRate: rate) }
            guard case let .invalidSession(_, location, reason)? = error else { return nil }
            return (location, reason)
        }
        let clips = #""clips": {"impulse": {"file": "impulse.wav"}}"#
        // One frame at 48 kHz is a sixth of one at 8 kHz: the crop rounds to nothing.
        let empty = try await failure(#"{"version": 1, "sampleRate": 48000, \#(clips), "entries": [{"clip": "impulse", "crop": ["0s", "2s"]}]}"#, rate: 8000)
        #expect(empty?.0 == "entries[0].crop" && empty?.1 == "frames 0..<0: the crop is shorter than one frame at 8000 Hz")
        let short = try await failure(
            #"{"version": 1, "sampleRate": 48000, "length": 1, \#(clips), "entries": [{"clip": "impulse", "repeat": "2s"}]}"#, rate: 8000)
        #expect(short?.0 == "entries[0].repeat" && short?.1 == "2s is shorter than one frame at 8000 Hz")
        // 2^62 frames at 48 kHz fit the timeline; at 96 kHz they are twice as many.
        let beyond = try await failure(
            #"{"version": 1, "sampleRate": 48000, \#(clips), "entries": [{"clip": "impulse", "start": "4611686018427387904s"}]}"#, rate: 96000)
        #expect(beyond?.0 == "entries[0].start" && beyond?.1.contains("beyond the timeline limit of ±2^62 frames at 96000 Hz") == true,
                "\(String(describing: beyond))")
        // A crop past the clip's end at the playing rate names the entry.
        let outside = try await failure(#"{"version": 1, "sampleRate": 48000, \#(clips), "entries": [{"clip": "impulse", "crop": ["0s", "24001s"]}]}"#,
                                        rate: 44100)
        #expect(outside?.0 == "entries[0].crop" && outside?.1 == "frames 0..<22051 are not inside clip 'impulse' of 22050 frames")
    }

    /// A session whose rate is taken away after it was read cannot guess one for its frames.
    @Test func framesWithoutARateAreRefusedAtPlayTimeToo() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("multitrack.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("multitrack.json"), to: url)
        var session = try Session(contentsOf: url)
        session.sampleRate = nil
        let error = await #expect(throws: AMIOError.self) { _ = try await session.playspec(sampleRate: 48000) }
        guard case let .invalidSession(_, location, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(location == "entries[3].crop[0]" && reason.hasPrefix("'24000s' is a time in frames"), "\(location): \(reason)")
    }

    /// A crop's ends in seconds and in frames compare at the session's rate.
    @Test func aCropMixingSecondsAndFramesComparesAtTheSessionsRate() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("crop.json")
        func read(_ crop: String, rate: Int) throws -> Session {
            try Data(#"{"version": 1, "sampleRate": \#(rate), "clips": {"a": {"file": "a.wav", "crop": \#(crop)}}, "entries": []}"#.utf8)
                .write(to: url)
            return try Session(contentsOf: url)
        }
        // 1000 frames are 0.0208 s at 48 kHz, but 0.0013 s at 768 kHz.
        #expect(try read(#"[0.01, "1000s"]"#, rate: 48000).clips["a"]?.crop == Session.Crop(start: .seconds(0.01), end: .time(.frames(1000))))
        #expect(throws: AMIOError.invalidSession(path: url.path, location: "clips.a.crop", reason: "the end is not after the start")) {
            try read(#"[0.03, "1000s"]"#, rate: 48000)
        }
        #expect(throws: AMIOError.invalidSession(path: url.path, location: "clips.a.crop", reason: "the end is not after the start")) {
            try read(#"["480s", 0.01]"#, rate: 48000)
        }
        #expect(try read(#"["480s", 0.01]"#, rate: 96000).clips["a"]?.crop?.start == .frames(480))
    }
}
