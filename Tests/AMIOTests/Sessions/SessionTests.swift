@testable import AMIO
import Foundation
import Testing

/// The example sessions shipped in Examples/Sessions.
/// The repository's root: this file is Tests/AMIOTests/Sessions/SessionTests.swift.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let exampleSessions = repositoryRoot.appendingPathComponent("Examples/Sessions")

@Suite struct AudioTimeTests {
    @Test(arguments: [
        ("1.5", Int64(72_000)), ("90", 4_320_000), ("2:30", 7_200_000), ("1:02:03.5", 178_728_000),
        ("0:00.0001", 5), ("48000s", 48_000), ("0s", 0),
    ])
    func parsesSoxAndPastreamTimes(text: String, frames: Int64) throws {
        #expect(try AudioTime(parsing: text).frames(atSampleRate: 48000) == frames)
    }

    @Test(arguments: ["", "abc", "-1", "1:60", "1:2:3:4", "12xs", "-5s", "1::2", "nan", "inf",
                      "0x1p1", "1e3", "+5", "5.", "1:75", "1:.5", "1:2:75", "1:75:00", "\u{661}", " 1 s", "1\n"])
    func rejectsWhatIsNotATime(text: String) {
        #expect(throws: AMIOError.self) { try AudioTime(parsing: text) }
    }

    @Test(arguments: [(" 2.5\t", 2.5), (".5", 0.5), ("1:5", 65), ("100:00", 6000), ("1:02:03", 3723), ("007", 7)])
    func acceptsTheSchemasGrammar(text: String, seconds: Double) throws {
        #expect(try AudioTime(parsing: text) == .seconds(seconds))
    }

    /// Huge times and products are typed errors naming the value and the limit, never a trap.
    @Test func framesNeverTrap() throws {
        let limit = TimelineLimit.limit
        #expect(try AudioTime.frames(limit).frames(atSampleRate: 48000) == limit)
        #expect(try AudioTime.seconds(TimelineLimit.maximumSeconds).frames(atSampleRate: 768_000) <= limit)
        for (time, rate) in [(AudioTime.seconds(1e300), 48000), (.seconds(-1e300), 48000), (.seconds(.infinity), 1),
                             (.seconds(.nan), 1), (.frames(.max), 1), (.frames(.min), 1), (.frames(limit + 1), 1),
                             (.seconds(1e14), 48000), (.seconds(1), 0), (.seconds(1), -5)] {
            let error = #expect(throws: AMIOError.self) { try time.frames(atSampleRate: rate, name: "--duration") }
            guard case let .invalidArgument(name, reason)? = error else { continue }
            #expect(name == "--duration")
            #expect(reason.contains("2^62") || reason.contains("finite") || reason.contains("below 1 Hz"), "\(reason)")
        }
        let huge = #expect(throws: AMIOError.self) { try AudioTime(parsing: "99999999999:00:00") }
        #expect("\(huge!)".contains("'99999999999:00:00' is beyond the timeline limit of 6004799503160.661 s"))
        #expect(throws: AMIOError.self) { try AudioTime(parsing: "4611686018427387905s") }
        #expect(try AudioTime(parsing: "4611686018427387904s") == .frames(limit))
        #expect(throws: AMIOError.self) { try AudioTime(seconds: -1, name: "start") }
        #expect(throws: AMIOError.self) { try AudioTime(seconds: 1e300, name: "start") }
        #expect(throws: AMIOError.self) { try TimelineLimit.sum(limit, 1, name: "end") }
        #expect(throws: AMIOError.self) { try TimelineLimit.sum(.max, .max, name: "end") }
        #expect(throws: AMIOError.self) { try TimelineLimit.product(3_000_000_000, 3_000_000_000, name: "repeats") }
        #expect(try TimelineLimit.product(4096, 1 << 40, name: "samples") == 1 << 52)
    }
}

@Suite struct SessionTests {
    /// Copies an example session into a fresh folder, so generated audio lands there.
    func copyExample(_ name: String) throws -> (URL, URL) {
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent(name), to: url)
        return (directory, url)
    }

    @Test(arguments: ["drum-loop.json", "multitrack.json"])
    func exampleSessionsGenerateTheirAudioAndRender(name: String) async throws {
        let (directory, url) = try copyExample(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = try Session(contentsOf: url)
        #expect(session.outputs == 2)
        let rendered = try await session.render()
        #expect(rendered.channelCount == 2 && rendered.sampleRate == 48000)
        #expect(rendered.frameCount > 48000 * 6)
        for clip in session.clips.values { #expect(FileManager.default.fileExists(atPath: clip.file.path)) }
        let peak = (0..<2).map { rendered.samples(channel: $0).map(abs).max()! }.max()!
        #expect(peak > 0.1, "the render is not silent")
        // A second render (now from the generated files) is identical.
        let again = try await Session(contentsOf: url).render()
        #expect(again.samples(channel: 0) == rendered.samples(channel: 0))
    }

    @Test func drumLoopLengthAndPlacement() async throws {
        let (directory, url) = try copyExample("drum-loop.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = try Session(contentsOf: url)
        let (playspec, length) = try await session.playspec(sampleRate: 48000)
        #expect(length == 8 * 48000)
        #expect(playspec.count == 5)
        #expect(playspec[2].playAt == 24000 && playspec[2].repeatInterval == 48000)
        #expect(abs(playspec[2].gains[0] - 0.70795) < 1e-4, "-3 dB")
        #expect(playspec[4].frames == 0..<2400, "crop [0, 0.05] s")
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var json: String
        var location: String
        var reason: String
        var testDescription: String { location }
    }

    static let badCases: [BadCase] = [
        BadCase(json: #"{"version": 1, "entries": [], "bogus": 1}"#, location: "bogus", reason: "unknown field"),
        BadCase(json: #"{"entries": []}"#, location: "version", reason: "required"),
        BadCase(json: #"{"version": 7, "entries": []}"#, location: "version", reason: "outside 1...1"),
        BadCase(json: #"{"version": 1}"#, location: "entries", reason: "required"),
        BadCase(json: #"{"version": 1, "outputs": 2.5, "entries": []}"#, location: "outputs", reason: "whole number"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "b"}]}"#,
                location: "entries[0].clip", reason: "no clip named 'b'"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a"}, {"clip": "a", "gains": [1, 2, 3]}]}"#,
                location: "entries[1].gains", reason: "3 gains given for 2 outputs"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "gains": ["loud", 1]}]}"#,
                location: "entries[0].gains[0]", reason: "not a gain"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "start": "soon"}]}"#,
                location: "entries[0].start", reason: "not a time"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "repeat": 1}]}"#,
                location: "length", reason: "required when an entry repeats"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav", "crop": [2, 1]}}, "entries": []}"#,
                location: "clips.a.crop", reason: "not after the start"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav", "generate": {"kind": "banjo"}}}, "entries": []}"#,
                location: "clips.a.generate.kind", reason: "'banjo' is not one of"),
        BadCase(json: #"{"version": 1, "entries": [}"#, location: "entries[0]", reason: "invalid JSON at line 1, column 28: expected a value"),
        // Strict JSON: what the schema's JSON cannot hold is refused, with line and column.
        BadCase(json: "{\"version\": 1,\n \"entries\": [],\n \"version\": 1}", location: "version",
                reason: "invalid JSON at line 3, column 2: duplicate key 'version'"),
        BadCase(json: "{\"version\": 1, \"entries\": [],\n}", location: "$", reason: "line 2, column 1: a trailing ','"),
        BadCase(json: #"{"version": 1, "entries": [{"clip": "a",}]}"#, location: "entries[0]", reason: "a trailing ','"),
        BadCase(json: #"{"version": 1, "entries": [1, ]}"#, location: "entries", reason: "a trailing ',' before ']'"),
        BadCase(json: #"{"version": 1, "entries": [], "length": NaN}"#, location: "length", reason: "line 1, column 41: expected a value"),
        BadCase(json: #"{"version": 1, "entries": [], "length": 01}"#, location: "length", reason: "must not start with 0"),
        BadCase(json: #"{"version": 1, "entries": []} x"#, location: "$", reason: "after the document's end"),
        BadCase(json: "{\"version\": 1, \"entries\": [], \"a\u{1}\": 1}", location: "$", reason: "control character 0x01"),
        BadCase(json: String(repeating: "[", count: 1000), location: String(repeating: "[0]", count: 64),
                reason: "arrays and objects nest deeper than 64 levels (a session nests 5 levels)"),
        // Numbers from outside: what is expected, and the limit.
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "start": -1}]}"#,
                location: "entries[0].start", reason: "-1 is negative: expected a time of 0 or more seconds"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "start": 1e300}]}"#,
                location: "entries[0].start", reason: "1e+300 s is beyond the timeline limit of 6004799503160.661 s"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "start": 1e400}]}"#,
                location: "entries[0].start", reason: "inf is not a finite number"),
        BadCase(json: #"{"version": 1, "length": "1e18", "entries": []}"#, location: "length", reason: "'1e18' is not a time"),
        BadCase(json: #"{"version": 1, "length": "9223372036854775807s", "entries": []}"#, location: "length",
                reason: "beyond the timeline limit of 2^62 frames"),
        BadCase(json: #"{"version": 1, "length": 8, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "repeat": 3e14}]}"#,
                location: "entries[0].repeat", reason: "300000000000000 s is beyond the timeline limit"),
        BadCase(json: #"{"version": 1, "length": 8, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "repeat": "0:00"}]}"#,
                location: "entries[0].repeat", reason: "must be longer than 0"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav", "crop": [0, "99999999999:00:00"]}}, "entries": []}"#,
                location: "clips.a.crop[1]", reason: "beyond the timeline limit"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav", "generate": {"kind": "tone", "seconds": 1e300}}}, "entries": []}"#,
                location: "clips.a.generate.seconds", reason: "1e+300 is outside the seconds allowed: more than 0, at most 600"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "gains": "+800 dB"}]}"#,
                location: "entries[0].gains", reason: "beyond a 32-bit float gain"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "gains": "0x1p1 dB"}]}"#,
                location: "entries[0].gains", reason: "not a gain"),
        BadCase(json: #"{"version": 1, "sampleRate": 768001, "entries": []}"#, location: "sampleRate", reason: "768001 is outside 1...768000"),
        // Frames count at the session's rate: without one they would move with the playing rate.
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "start": "24000s"}]}"#,
                location: "entries[0].start",
                reason: "'24000s' is a time in frames, which count at the session's sampleRate, and the session gives none: "
                    + "add \"sampleRate\" (the rate the frames were counted at, such as 48000), or give the time in seconds"),
        BadCase(json: #"{"version": 1, "length": "96000s", "entries": []}"#, location: "length", reason: "'96000s' is a time in frames"),
        BadCase(json: #"{"version": 1, "clips": {"a": {"file": "a.wav", "crop": ["0s", "end"]}}, "entries": []}"#,
                location: "clips.a.crop[0]", reason: "'0s' is a time in frames"),
        BadCase(json: #"{"version": 1, "sampleRate": 48000, "clips": {"a": {"file": "a.wav", "crop": [0.03, "1000s"]}}, "entries": []}"#,
                location: "clips.a.crop", reason: "the end is not after the start"),
        BadCase(json: #"{"version": 1, "clips": {"odd name": {"file": ""}}, "entries": []}"#,
                location: #"clips["odd name"].file"#, reason: "found an empty string"),
        BadCase(json: #"{"version": 1, "$schema": 5, "entries": []}"#, location: "$schema", reason: "expected a non-empty string"),
    ]

    @Test(arguments: badCases)
    func badSessionsNameTheJSONPath(_ bad: BadCase) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.json")
        try Data(bad.json.utf8).write(to: url)
        let error = #expect(throws: AMIOError.self) { try Session(contentsOf: url) }
        guard case let .invalidSession(path, location, reason) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(path == url.path)
        #expect(location == bad.location)
        #expect(reason.contains(bad.reason), "\(reason)")
    }

    @Test func aTopLevelSchemaKeyIsAccepted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("s.json")
        try Data(#"{"$schema": "../Docs/session.schema.json", "version": 1, "entries": []}"#.utf8).write(to: url)
        #expect(try Session(contentsOf: url).entries.isEmpty)
    }

    /// A 10 MB string, key or clip name is never echoed in full: messages stay short.
    @Test(arguments: [
        #"{"version": 1, "length": "LONG", "entries": []}"#,
        #"{"version": 1, "LONG": 1, "entries": []}"#,
        #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "LONG"}]}"#,
        #"{"version": 1, "clips": {"LONG": {"file": 1}}, "entries": []}"#,
        #"{"version": 1, "clips": {"a": {"file": "a.wav", "generate": {"kind": "LONG"}}}, "entries": []}"#,
        #"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "gains": "LONG"}]}"#,
        #"{"version": 1, "entries": [], "x": "LONG"#,
    ])
    func messagesNeverEchoMuchUserData(template: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("long.json")
        try Data(template.replacingOccurrences(of: "LONG", with: String(repeating: "x", count: 10_000_000)).utf8).write(to: url)
        let error = #expect(throws: AMIOError.self) { try Session(contentsOf: url) }
        let message = "\(error!)".replacingOccurrences(of: url.path, with: "")
        #expect(message.count < 400, "\(message.prefix(500))")
        #expect(!message.contains(String(repeating: "x", count: 201)))
    }

    @Test func aSessionFileLargerThanTheLimitIsRefusedUnread() throws {
        let error = #expect(throws: AMIOError.self) { try Session(contentsOf: URL(fileURLWithPath: "/dev/zero")) }
        #expect("\(error!)".contains("larger than 64 MiB"), "\(error!)")
        #expect(throws: AMIOError.fileError(path: "/", problem: .unreadable, message: "it is a directory, not a session file")) {
            try Session(contentsOf: URL(fileURLWithPath: "/"))
        }
    }

    /// Times that parse but do not fit at the playing rate, or round to no frame, name their entry.
    @Test func framesAtThePlayingRateNameTheEntry() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("rate.json")
        let clips = #""clips": {"a": {"file": "a.wav", "generate": {"kind": "click"}}}"#
        try Data(#"{"version": 1, "length": 1, \#(clips), "entries": [{"clip": "a", "repeat": 0.000001}]}"#.utf8).write(to: url)
        await #expect(throws: AMIOError.invalidSession(path: url.path, location: "entries[0].repeat",
                                                       reason: "1e-06 is shorter than one frame at 48000 Hz")) {
            _ = try await Session(contentsOf: url).playspec(sampleRate: 48000)
        }
        // 2^61 frames is inside the timeline, but beyond where the engine lets an entry start.
        try Data(#"{"version": 1, "sampleRate": 48000, \#(clips), "entries": [{"clip": "a", "start": "2305843009213693952s"}]}"#.utf8).write(to: url)
        let error = await #expect(throws: AMIOError.self) { _ = try await Session(contentsOf: url).playspec(sampleRate: 48000) }
        guard case let .invalidSession(_, location, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(location == "entries[0]" && reason.contains("2^60"), "\(reason)")
        // A session's rate the clips cannot be resampled to names the clip's file and exits 65.
        try Data(#"{"version": 1, "sampleRate": 100, \#(clips), "entries": [{"clip": "a"}]}"#.utf8).write(to: url)
        let slow = await #expect(throws: AMIOError.self) { _ = try await Session(contentsOf: url).render() }
        guard case let .invalidSession(_, at, _)? = slow else { Issue.record("\(String(describing: slow))"); return }
        #expect(at == "clips.a.file")
    }

    @Test func renderRefusesMoreThanItsMaximum() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("long.json")
        try Data(#"{"version": 1, "length": "24:00:01", "entries": []}"#.utf8).write(to: url)
        let session = try Session(contentsOf: url)
        let output = directory.appendingPathComponent("out.wav")
        let error = await #expect(throws: AMIOError.self) { try await session.render(to: output) }
        #expect("\(error!)".contains("length: 4147248000 frames at 48000 Hz is longer than the longest render, 24 hours"), "\(error!)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
        // In memory, 2^28 samples at most.
        try Data(#"{"version": 1, "outputs": 4096, "length": "2:00", "entries": []}"#.utf8).write(to: url)
        await #expect(throws: AMIOError.self) { _ = try await Session(contentsOf: url).render() }
    }

    /// Streaming to a file gives the samples the in-memory render gives.
    @Test func renderToAFileEqualsTheInMemoryRender() async throws {
        let (directory, url) = try copyExample("multitrack.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = try Session(contentsOf: url)
        let output = directory.appendingPathComponent("out.caf")
        let (frames, rate) = try await session.render(to: output, encoding: .float)
        let memory = try await session.render()
        #expect(frames == memory.frameCount && rate == 48000)
        let (file, samples) = try readAll(output)
        #expect(file.channelCount == 2 && samples[0] == memory.samples(channel: 0) && samples[1] == memory.samples(channel: 1))
    }

    @Test func aCropOutsideItsClipNamesTheEntry() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("crop.json")
        try Data(#"{"version": 1, "clips": {"a": {"file": "a.wav", "generate": {"kind": "click"}}}, "entries": [{"clip": "a", "crop": [0, 10]}]}"#.utf8).write(to: url)
        await #expect(throws: AMIOError.invalidSession(path: url.path, location: "entries[0].crop",
                                                       reason: "frames 0..<480000 are not inside clip 'a' of 2400 frames")) {
            _ = try await Session(contentsOf: url).playspec(sampleRate: 48000)
        }
    }
}
