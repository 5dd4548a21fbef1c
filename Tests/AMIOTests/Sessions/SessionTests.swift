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

    @Test(arguments: ["", "abc", "-1", "1:60", "1:2:3:4", "12xs", "-5s", "1::2", "nan", "inf"])
    func rejectsWhatIsNotATime(text: String) {
        #expect(throws: AMIOError.self) { try AudioTime(parsing: text) }
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
        BadCase(json: #"{"version": 1, "entries": [}"#, location: "$", reason: "not valid JSON"),
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
