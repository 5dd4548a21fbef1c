@testable import AMIO
import Foundation
import Testing

/// Fades, gain envelopes and the loop's crossfade in sessions: read with
/// typed errors naming the JSON path, converted to frames at the playing
/// rate (frames counting at the session's rate), and rendered to exactly
/// the samples the engine's rules give.
@Suite struct SessionFadeTests {
    static let clips = #""clips": {"a": {"file": "a.wav"}}"#

    static let badCases: [SessionTests.BadCase] = [
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "fadeIn": "soon"}]}"#,
              location: "entries[0].fadeIn", reason: "'soon' is not a time"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "fadeOut": -1}]}"#,
              location: "entries[0].fadeOut", reason: "-1 is negative"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "fadeOut": "480s"}]}"#,
              location: "entries[0].fadeOut", reason: "'480s' is a time in frames"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "shape": "cosine"}]}"#,
              location: "entries[0].shape", reason: #"expected one of "linear", "equalPower", "exponential", found the string 'cosine'"#),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "shape": 1}]}"#,
              location: "entries[0].shape", reason: "expected one of"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": "loud"}]}"#,
              location: "entries[0].envelope", reason: "expected an object, found a string"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {}}]}"#,
              location: "entries[0].envelope.points", reason: "required"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": []}}]}"#,
              location: "entries[0].envelope.points", reason: "an envelope has at least one point"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": {"at": 0, "gain": 1}}}]}"#,
              location: "entries[0].envelope.points", reason: "expected an array of points"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 1, "gain": 1}, {"at": "0:00.5", "gain": 0}]}}]}"#,
              location: "entries[0].envelope.points[1].at", reason: "0.5 s is not after point 0 at 1 s: points must come in order"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 1, "gain": 1}, {"at": 1, "gain": 0}]}}]}"#,
              location: "entries[0].envelope.points[1].at", reason: "is not after point 0"),
        .init(json: #"{"version": 1, "sampleRate": 48000, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0.5, "gain": 1}, {"at": "24000s", "gain": 0}]}}]}"#,
              location: "entries[0].envelope.points[1].at", reason: "24000s is not after point 0 at 0.5 s"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"gain": 1}]}}]}"#,
              location: "entries[0].envelope.points[0].at", reason: "required"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0}]}}]}"#,
              location: "entries[0].envelope.points[0].gain", reason: "required"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0, "gain": 1, "curve": 2}]}}]}"#,
              location: "entries[0].envelope.points[0].curve", reason: "unknown field (expected one of at, gain)"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0, "gain": [1, 2, 3]}]}}]}"#,
              location: "entries[0].envelope.points[0].gain", reason: "3 gains given for 2 outputs"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0, "gain": "+800 dB"}]}}]}"#,
              location: "entries[0].envelope.points[0].gain", reason: "beyond a 32-bit float gain"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0, "gain": [1, "loud"]}]}}]}"#,
              location: "entries[0].envelope.points[0].gain[1]", reason: "'loud' is not a gain"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 1e300, "gain": 1}]}}]}"#,
              location: "entries[0].envelope.points[0].at", reason: "beyond the timeline limit"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": "10s", "gain": 1}]}}]}"#,
              location: "entries[0].envelope.points[0].at", reason: "'10s' is a time in frames"),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"timeBase": "bar", "points": [{"at": 0, "gain": 1}]}}]}"#,
              location: "entries[0].envelope.timeBase", reason: #"expected one of "occurrence", "timeline", found the string 'bar'"#),
        .init(json: #"{"version": 1, \#(clips), "entries": [{"clip": "a", "envelope": {"points": [{"at": 0, "gain": 1}], "shape": "linear"}}]}"#,
              location: "entries[0].envelope.shape", reason: "unknown field (expected one of points, timeBase)"),
        .init(json: #"{"version": 1, "loop": 5, "entries": []}"#, location: "loop", reason: "expected an object, found a number"),
        .init(json: #"{"version": 1, "loop": {}, "entries": []}"#, location: "loop.crossfade", reason: "required"),
        .init(json: #"{"version": 1, "loop": {"crossfade": -0.01}, "entries": []}"#, location: "loop.crossfade", reason: "is negative"),
        .init(json: #"{"version": 1, "loop": {"crossfade": "480s"}, "entries": []}"#, location: "loop.crossfade",
              reason: "'480s' is a time in frames"),
        .init(json: #"{"version": 1, "loop": {"crossfade": 0.01, "shape": "smooth"}, "entries": []}"#, location: "loop.shape",
              reason: "found the string 'smooth'"),
        .init(json: #"{"version": 1, "loop": {"crossfade": 0.01, "from": 1}, "entries": []}"#, location: "loop.from",
              reason: "unknown field (expected one of crossfade, shape)"),
    ]

    @Test(arguments: badCases)
    func badFadesEnvelopesAndLoopsNameTheJSONPath(_ bad: SessionTests.BadCase) throws {
        try SessionTests().badSessionsNameTheJSONPath(bad)
    }

    /// The engine's most points is the reader's: one more is refused before
    /// any point is read (a tree in memory, so the test reads no 20 MB file).
    @Test func anEnvelopeHoldsAtMostTheEnginesPoints() throws {
        let reader = SessionReader(path: "/srv/song.json")
        let point = JSONValue.object(["at": .number(0), "gain": .number(1)])
        let many = JSONValue.object(["points": .array(Array(repeating: point, count: GainEnvelope.maximumPoints + 1))])
        #expect(throws: AMIOError.invalidSession(path: "/srv/song.json", location: "entries[0].envelope.points",
                                                 reason: "1048577 points; an envelope holds at most 1048576")) {
            try reader.envelope(many, outputs: 2, at: "entries[0].envelope")
        }
        // At the limit, the count passes and the order is what is wrong.
        let limit = JSONValue.object(["points": .array(Array(repeating: point, count: GainEnvelope.maximumPoints))])
        let error = #expect(throws: AMIOError.self) { try reader.envelope(limit, outputs: 2, at: "e") }
        #expect("\(error!)".contains("e.points[1].at: 0 s is not after point 0"), "\(error!)")
    }

    /// A session with one of each, read.
    static func session(_ entries: String, loop: String = "", in directory: URL, sampleRate: Int = 48000,
                        outputs: Int = 2, length: String = "\"19200s\"") throws -> Session {
        let url = directory.appendingPathComponent("fades.json")
        try Data(#"""
            {"version": 1, "outputs": \#(outputs), "sampleRate": \#(sampleRate), "length": \#(length), \#(loop)
             "clips": {"dc": {"file": "dc.wav"}, "tone": {"file": "tone.wav", "generate": {"kind": "tone", "seconds": 1}}},
             "entries": [\#(entries)]}
            """#.utf8).write(to: url)
        return try Session(contentsOf: url)
    }

    /// A mono clip of 4800 frames, each 0.5, at 48 kHz.
    static func writeDC(in directory: URL) throws {
        try AudioClip(channels: [[Float](repeating: 0.5, count: 4800)], sampleRate: 48000)
            .write(to: directory.appendingPathComponent("dc.wav"), encoding: .float)
    }

    @Test func fadesAndEnvelopesBecomeFramesAtThePlayingRate() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeDC(in: directory)
        let session = try Self.session(#"""
            {"clip": "dc", "fadeIn": 0.01, "fadeOut": "960s", "shape": "equalPower", "gains": [0.8, 0.4]},
            {"clip": "dc", "start": "9600s", "repeat": "2400s", "crop": ["0s", "2000s"], "fadeIn": "100s", "shape": "exponential",
             "envelope": {"points": [{"at": 0, "gain": 1}, {"at": "2000s", "gain": [0, 1]}]}, "gains": 1},
            {"clip": "dc", "start": "4800s", "envelope": {"timeBase": "timeline", "points": [{"at": "4800s", "gain": 0}, {"at": 0.15, "gain": "-6 dB"}]}, "gains": [1, 0]}
            """#, loop: #""loop": {"crossfade": "480s", "shape": "linear"},"#, in: directory)
        #expect(session.entries[0].fadeIn == .seconds(0.01) && session.entries[0].fadeOut == .frames(960))
        #expect(session.entries[0].fadeShape == .equalPower && session.entries[2].fadeShape == .linear)
        #expect(session.entries[1].envelope?.timeBase == .occurrence && session.entries[2].envelope?.timeBase == .timeline)
        #expect(session.entries[1].envelope?.points.map(\.gains) == [[1], [0, 1]])
        #expect(session.loop == Session.Loop(crossfade: .frames(480), shape: .linear))

        let (playspec, length) = try await session.playspec(sampleRate: 48000)
        #expect(length == 19200)
        #expect(playspec[0].fadeIn == 480 && playspec[0].fadeOut == 960 && playspec[0].fadeShape == .equalPower)
        #expect(playspec[0].envelope == nil && playspec[1].fadeOut == 0 && playspec[1].fadeIn == 100)
        // One gain beside a point with one per output is one per output.
        #expect(playspec[1].envelope == GainEnvelope([.init(frame: 0, gains: [1, 1]), .init(frame: 2000, gains: [0, 1])]))
        #expect(playspec[2].envelope?.timeBase == .timeline && playspec[2].envelope?.points.map(\.frame) == [4800, 7200])
        #expect(playspec[2].envelope?.points.map(\.gains) == [[0], [Float(pow(10, -6.0 / 20))]])
        #expect(try session.loopCrossfade(sampleRate: 48000) == Crossfade(frames: 480, shape: .linear))

        // At 96 kHz frames count at the session's 48 kHz, as every other time.
        let (fast, _) = try await session.playspec(sampleRate: 96000)
        #expect(fast[0].fadeIn == 960 && fast[0].fadeOut == 1920 && fast[1].fadeIn == 200)
        #expect(fast[1].envelope?.points.map(\.frame) == [0, 4000] && fast[2].envelope?.points.map(\.frame) == [9600, 14400])
        #expect(try session.loopCrossfade(sampleRate: 96000).frames == 960)
    }

    /// What fits at one rate may not at another; each failure names the value.
    @Test func limitsAtThePlayingRateNameTheValue() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeDC(in: directory)
        func failure(_ entries: String, loop: String = "", rate: Int = 48000) async throws -> (String, String)? {
            let session = try Self.session(entries, loop: loop, in: directory)
            let error = await #expect(throws: AMIOError.self) { _ = try await session.playspec(sampleRate: rate) }
            guard case let .invalidSession(_, location, reason)? = error else { return nil }
            return (location, reason)
        }
        let both = try await failure(#"{"clip": "dc", "fadeIn": 0.05, "fadeOut": "2401s", "gains": 1}"#)
        #expect(both?.0 == "entries[0]" && both?.1 == "fadeIn 0.05 s (2400 frames) + fadeOut 2401s (2401 frames) are longer than "
            + "one occurrence of the entry at 48000 Hz (4800 frames: the crop)", "\(String(describing: both))")
        let one = try await failure(#"{"clip": "dc", "repeat": "1000s", "fadeOut": "1001s", "gains": 1}"#)
        #expect(one?.0 == "entries[0].fadeOut" && one?.1 == "fadeOut 1001s (1001 frames) is longer than one occurrence of the "
            + "entry at 48000 Hz (1000 frames: the crop, cut at the repeat)", "\(String(describing: one))")
        // The clip's own crop counts, and a fade of no frames is no fade.
        let cropped = try await failure(#"{"clip": "dc", "crop": [0, "100s"], "fadeIn": 0.000001, "fadeOut": "101s", "gains": 1}"#)
        #expect(cropped?.0 == "entries[0].fadeOut", "\(String(describing: cropped))")
        // Two points a frame apart at 48 kHz are one frame at 8 kHz.
        let close = try await failure(#"{"clip": "dc", "envelope": {"points": [{"at": "0s", "gain": 1}, {"at": "1s", "gain": 0}]}, "gains": 1}"#,
                                      rate: 8000)
        #expect(close?.0 == "entries[0].envelope.points[1].at" && close?.1 == "1s is frame 0 at 8000 Hz, not after point 0 at frame 0: "
            + "points must be at least a frame apart at the playing rate", "\(String(describing: close))")
        let far = try await failure(#"{"clip": "dc", "envelope": {"points": [{"at": "2305843009213693952s", "gain": 1}]}, "gains": 1}"#)
        #expect(far?.0 == "entries[0]" && far?.1.contains("beyond ±2^60") == true, "\(String(describing: far))")
        // 2^24 frames of a 48 kHz session are 2^25 at 96 kHz: too long a crossfade there, and refused before a render.
        let long = try await failure(#"{"clip": "dc", "gains": 1}"#, loop: #""loop": {"crossfade": "16777216s"},"#, rate: 96000)
        #expect(long?.0 == "loop.crossfade" && long?.1 == "16777216s is 33554432 frames at 96000 Hz; a crossfade is at most "
            + "16777216 frames (2^24)", "\(String(describing: long))")
        #expect(try Self.session(#"{"clip": "dc", "gains": 1}"#, loop: #""loop": {"crossfade": "16777216s"},"#, in: directory)
            .loopCrossfade(sampleRate: 48000).frames == 1 << 24)
    }

    /// The reference of one entry's sample, by the engine's documented rules
    /// and in its arithmetic: `(gain × fade × envelope) × x` in Float, the
    /// fade s(p / F) at the start of an occurrence and s((L − p) / F) at its
    /// end, the envelope interpolated in Double between its breakpoints.
    static func expected(_ entry: PlayspecEntry, output: Int, frame: Int64) -> Float {
        let length = Int64(entry.occurrenceLength)
        var phase = frame - entry.playAt
        guard phase >= 0 else { return 0 }
        if entry.repeatInterval > 0 { phase %= entry.repeatInterval }
        guard phase < length, entry.repeatInterval > 0 || frame - entry.playAt < length else { return 0 }
        var weight: Float = 1
        if phase < entry.fadeIn {
            weight = entry.fadeShape.weight(at: Double(phase) / Double(entry.fadeIn))
        } else if length - phase < entry.fadeOut {
            weight = entry.fadeShape.weight(at: Double(length - phase) / Double(entry.fadeOut))
        }
        if let envelope = entry.envelope {
            let at = envelope.timeBase == .occurrence ? phase : frame
            let column = envelope.points[0].gains.count == 1 ? 0 : output
            let points = envelope.points
            let value: Float
            if let next = points.firstIndex(where: { $0.frame > at }) {
                if next == 0 {
                    value = points[0].gains[column]
                } else {
                    let first = Double(points[next - 1].gains[column])
                    let slope = (Double(points[next].gains[column]) - first) / Double(points[next].frame - points[next - 1].frame)
                    value = Float(first + slope * Double(at - points[next - 1].frame))
                }
            } else {
                value = points[points.count - 1].gains[column]
            }
            weight = entry.fadeIn > 0 || entry.fadeOut > 0 ? weight * value : value
        }
        let x = entry.clip.samples(channel: min(output, entry.clip.channelCount - 1))[entry.frames.lowerBound + Int(phase)]
        return (entry.gains[output] * weight) * x
    }

    /// The session of ``fadesAndEnvelopesBecomeFramesAtThePlayingRate()``,
    /// rendered: each frame has at most one entry sounding, so every sample is
    /// the reference's exactly; and the fades are where the file says.
    @Test func aRenderHasTheSamplesTheFadesAndEnvelopesGive() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeDC(in: directory)
        let session = try Self.session(Self.renderedEntries, in: directory)
        let rendered = try await session.render()
        let (playspec, length) = try await session.playspec(sampleRate: 48000)
        try Self.expectReference(rendered: (0..<2).map { rendered.samples(channel: $0) }, playspec: playspec, length: length)
        // By hand: an equal-power fade-in of 480 frames, then 0.8 × 0.5.
        let left = rendered.samples(channel: 0)
        // (libm's sine, to a float's precision: the engine computes its own, the same on every machine.)
        #expect(left[0] == 0 && abs(left[240] - Float(0.4 * sin(Double.pi / 4))) < 1e-7 && left[480] == 0.4 && left[4799] > 0)
        // Silent between the occurrences of the repeating entry, and at its envelope's left end.
        #expect(left[9600 + 2000 ..< 9600 + 2400].allSatisfy { $0 == 0 } && rendered.samples(channel: 1)[9600 + 1999] > 0.49)
    }

    static let renderedEntries = #"""
        {"clip": "dc", "fadeIn": 0.01, "fadeOut": "960s", "shape": "equalPower", "gains": [0.8, 0.4]},
        {"clip": "dc", "start": "9600s", "repeat": "2400s", "crop": ["0s", "2000s"], "fadeIn": "100s", "shape": "exponential",
         "envelope": {"points": [{"at": 0, "gain": 1}, {"at": "2000s", "gain": [0, 1]}]}, "gains": 1},
        {"clip": "dc", "start": "4800s", "envelope": {"timeBase": "timeline", "points": [{"at": "4800s", "gain": 0}, {"at": 0.15, "gain": "-6 dB"}]}, "gains": [1, 0]}
        """#

    /// Every sample of `rendered` is the reference's, exactly.
    static func expectReference(rendered: [[Float]], playspec: Playspec, length: Int64,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        for output in rendered.indices {
            #expect(rendered[output].count == Int(length), sourceLocation: sourceLocation)
            var wrong: [Int] = []
            for frame in 0..<Int(length) {
                let want = playspec.entries.reduce(Float(0)) { $0 + expected($1, output: output, frame: Int64(frame)) }
                if rendered[output][frame] != want { wrong.append(frame) }
            }
            let first = wrong.first.map { "frame \($0): \(rendered[output][$0])" } ?? ""
            #expect(wrong.isEmpty, "output \(output): \(wrong.count) samples differ, first at \(first)", sourceLocation: sourceLocation)
        }
    }
}
