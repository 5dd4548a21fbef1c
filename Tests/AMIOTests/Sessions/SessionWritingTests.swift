@testable import AMIO
import Foundation
import Testing

/// Sessions built in Swift and written to files: what `write(to:)` writes,
/// `Session(contentsOf:)` reads back equal, for the examples, for a session
/// with every field and awkward values, and for seeded random sessions
/// (`AMIO_ROUNDTRIP_SEED`, `AMIO_ROUNDTRIP_COUNT` reproduce a run; both are
/// printed). The initialiser refuses what a file is refused for, by the same
/// messages.
@Suite struct SessionWritingTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["AMIO_ROUNDTRIP_SEED"].flatMap { UInt64($0) } ?? 20_261_210
    static let count = ProcessInfo.processInfo.environment["AMIO_ROUNDTRIP_COUNT"].flatMap { Int($0) } ?? 300

    /// Writes `session` to `url`, reads it back, and checks it is equal (but
    /// for its url) and that writing it again gives the same bytes.
    func expectRoundTrip(_ session: Session, to url: URL, _ label: String = "",
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        try session.write(to: url)
        let text = try Data(contentsOf: url)
        let readBack = try Session(contentsOf: url)
        var expected = session
        expected.url = url
        #expect(readBack == expected, "\(label)\n\(String(decoding: text, as: UTF8.self).prefix(3000))", sourceLocation: sourceLocation)
        try readBack.write(to: url)
        #expect(try Data(contentsOf: url) == text, "\(label): writing what was read back changes the text", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["drum-loop.json", "multitrack.json", "fades.json"])
    func theExampleSessionsReadBackAsWritten(name: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent(name), to: url)
        let session = try Session(contentsOf: url)
        try expectRoundTrip(session, to: url)
        #expect(try String(contentsOf: url, encoding: .utf8).contains(#""file": "audio/"#), "clips in the folder stay relative")
        // Written elsewhere, the clips keep their files (by absolute paths, outside the new folder).
        let elsewhere = directory.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try expectRoundTrip(session, to: elsewhere.appendingPathComponent(name))
        #expect(try String(contentsOf: elsewhere.appendingPathComponent(name), encoding: .utf8)
            .contains(#""file": "\#(directory.standardizedFileURL.path)/audio/"#))
        // What is written is valid by the schema.
        let validator = SchemaValidator(root: try SchemaTests.loadSchema())
        #expect(validator.validate(try JSONValue.parse(try Data(contentsOf: url))).isEmpty)
    }

    /// The layout Docs/Session-Format.md shows: fields in its order, one line a clip and an entry.
    @Test func theWrittenTextIsTheDocumentedLayout() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("song.json")
        let session = try Session(
            url: url, outputs: 2, sampleRate: 48000, length: .seconds(8),
            clips: [
                Session.Clip(name: "take", file: URL(fileURLWithPath: "/srv/takes/guitar.flac"), crop: Session.Crop(start: .seconds(0.5))),
                Session.Clip(name: "kick", file: directory.appendingPathComponent("audio/./kick.wav"), generator: Session.Generator(kind: "kick")),
            ],
            entries: [
                Session.Entry(clip: "kick", repeatEvery: .seconds(1), gains: [0.70794576, 0.9]),
                Session.Entry(clip: "take", start: .seconds(2.5), crop: Session.Crop(start: .frames(24000), end: .time(.seconds(4))),
                              gains: [0.8, 0.8]),
            ])
        try session.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == """
            {
              "version": 1,
              "outputs": 2,
              "sampleRate": 48000,
              "length": 8,
              "clips": {
                "kick": { "file": "audio/kick.wav", "generate": { "kind": "kick", "seconds": 0.4, "frequency": 440, "channels": 1 } },
                "take": { "file": "/srv/takes/guitar.flac", "crop": [0.5, "end"] }
              },
              "entries": [
                { "clip": "kick", "start": 0, "repeat": 1, "gains": [0.70794576, 0.9] },
                { "clip": "take", "start": 2.5, "crop": ["24000s", 4], "gains": [0.8, 0.8] }
              ]
            }

            """)
        #expect(session.clips["kick"]?.file == directory.appendingPathComponent("audio/kick.wav"), "kept standardized")
        let empty = try Session(url: url)
        try empty.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "{\n  \"version\": 1,\n  \"outputs\": 2,\n  \"clips\": {},\n  \"entries\": []\n}\n")
    }

    /// Fades, an envelope and a loop: one line an entry still, each field in the format's order.
    @Test func fadesEnvelopesAndTheLoopAreWrittenInTheDocumentedLayout() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("fades.json")
        let session = try Session(
            url: url, outputs: 2, sampleRate: 48000, length: .seconds(6), loop: Session.Loop(crossfade: .seconds(0.02)),
            clips: [Session.Clip(name: "pad", file: directory.appendingPathComponent("audio/pad.wav"))],
            entries: [
                Session.Entry(clip: "pad", crop: Session.Crop(end: .time(.seconds(6))), gains: [0.25, 0.25],
                              fadeIn: .seconds(1.5), fadeOut: .frames(96000), fadeShape: .exponential),
                Session.Entry(clip: "pad", repeatEvery: .seconds(0.5), gains: [1, 1], fadeOut: .seconds(0),
                              envelope: Session.Envelope([Session.Envelope.Point(at: .seconds(0), gain: 0),
                                                          Session.Envelope.Point(at: .frames(24000), gains: [0.5, 1])],
                                                         timeBase: .timeline)),
            ])
        try session.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == """
            {
              "version": 1,
              "outputs": 2,
              "sampleRate": 48000,
              "length": 6,
              "loop": { "crossfade": 0.02, "shape": "equalPower" },
              "clips": {
                "pad": { "file": "audio/pad.wav" }
              },
              "entries": [
                { "clip": "pad", "start": 0, "crop": [0, 6], "fadeIn": 1.5, "fadeOut": "96000s", "shape": "exponential", "gains": [0.25, 0.25] },
                { "clip": "pad", "start": 0, "repeat": 0.5, "fadeOut": 0, "envelope": { "timeBase": "timeline", "points": [{ "at": 0, "gain": 0 }, { "at": "24000s", "gain": [0.5, 1] }] }, "gains": [1, 1] }
              ]
            }

            """)
        try expectRoundTrip(session, to: url)
    }

    /// Every field the format has, with the values most likely to come back different.
    @Test func aSessionWithEveryFieldAndAwkwardValuesReadsBackAsWritten() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let limit = TimelineLimit.limit
        let names = ["plain", "with \"quotes\" and \\ backslash", "line\nbreak\ttab\u{1}\u{1F}", "é e\u{301} \u{1F3B5} 日本", "", "end", "$schema"]
        var clips: [Session.Clip] = []
        for (index, name) in names.enumerated() {
            let kind = Session.Generator.kinds[index % Session.Generator.kinds.count]
            clips.append(Session.Clip(
                name: name,
                file: index % 2 == 0 ? directory.appendingPathComponent("audio dir/\(index) \u{1F3B5} \"x\".wav")
                    : URL(fileURLWithPath: "/srv/elsewhere/\(index).flac"),
                crop: [nil, Session.Crop(), Session.Crop(start: .frames(limit - 1), end: .time(.frames(limit))),
                       Session.Crop(start: .seconds(.leastNonzeroMagnitude), end: .time(.seconds(TimelineLimit.maximumSeconds)))][index % 4],
                generator: index == 1 ? nil : Session.Generator(kind: kind, seconds: [600, 1e-9, 0.1][index % 3],
                                                                 frequency: [24000, 1e-300, 440.5][index % 3], channels: 1 + index % 8)))
        }
        clips.append(Session.Clip(name: "a folder", file: URL(fileURLWithPath: "/srv/audio/", isDirectory: true)))
        let gains: [[Float]] = [
            [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude],
            [0, -0.0, 1.0 / 3], [Float(pow(10, -3.0 / 20)), 1e-30, -7], [1, 1, 1],
        ]
        let session = try Session(
            url: directory.appendingPathComponent("every.json"), outputs: 3, sampleRate: 44100, length: .frames(limit),
            loop: Session.Loop(crossfade: .frames(limit), shape: .exponential), clips: clips,
            entries: names.enumerated().map { index, name in
                Session.Entry(clip: name.isEmpty ? "plain" : name,
                              start: [.seconds(0), .frames(0), .seconds(TimelineLimit.maximumSeconds), .frames(1 << 60)][index % 4],
                              repeatEvery: [nil, .frames(1), .seconds(1e-6), .seconds(0.1)][index % 4],
                              crop: index % 3 == 0 ? nil : Session.Crop(start: .frames(1), end: index % 2 == 0 ? .end : .time(.seconds(1))),
                              gains: gains[index % gains.count],
                              fadeIn: [nil, .frames(0), .seconds(.leastNonzeroMagnitude), .frames(limit)][index % 4],
                              fadeOut: [.seconds(TimelineLimit.maximumSeconds), nil, .frames(1), .seconds(1.0 / 3)][index % 4],
                              fadeShape: FadeShape.allCases[index % 3],
                              envelope: index % 2 == 0 ? nil : Session.Envelope(
                                  [Session.Envelope.Point(at: .frames(0), gains: gains[index % gains.count]),
                                   Session.Envelope.Point(at: .seconds(1e-300), gain: -.greatestFiniteMagnitude),
                                   Session.Envelope.Point(at: .frames(limit), gains: [0, -0.0, .leastNonzeroMagnitude])],
                                  timeBase: GainEnvelope.TimeBase.allCases[index / 2 % 2]))
            })
        try expectRoundTrip(session, to: session.url)
        // Written beside a folder of the same name's prefix, the clips are not taken for its own.
        let sibling = directory.appendingPathComponent("audio")
        try FileManager.default.createDirectory(at: sibling, withIntermediateDirectories: true)
        try expectRoundTrip(session, to: sibling.appendingPathComponent("copy.json"))
    }

    /// Seeded random sessions, each valid by construction, read back as written.
    @Test func randomSessionsReadBackAsWritten() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        print("session round trip: seed \(Self.seed), \(Self.count) sessions (AMIO_ROUNDTRIP_SEED, AMIO_ROUNDTRIP_COUNT)")
        var rng = SplitMix(seed: Self.seed)
        for index in 0..<Self.count {
            let label = "session \(index) (seed \(Self.seed))"
            let url = directory.appendingPathComponent("s\(index).json")
            let session: Session
            do { session = try Self.randomSession(&rng, url: url, folder: directory) } catch {
                Issue.record("\(label): a valid session is refused: \(error)")
                continue
            }
            try expectRoundTrip(session, to: url, label)
        }
    }

    /// A session made of random valid parts.
    static func randomSession(_ rng: inout SplitMix, url: URL, folder: URL) throws(AMIOError) -> Session {
        let outputs = rng.pick([1, 2, 3, 8, 64])
        let sampleRate: Int? = rng.pick([nil, 1, 8000, 44100, 48000, 96000, 768_000, 1 + rng.below(768_000)])
        func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        func seconds() -> Double {
            switch rng.below(5) {
            case 0: 0
            case 1: Double(rng.below(4000)) / 8
            case 2: TimelineLimit.maximumSeconds
            default: min(TimelineLimit.maximumSeconds, unit() * pow(10, Double(rng.below(24)) - 11))
            }
        }
        func frames() -> Int64 {
            rng.below(3) == 0 ? Int64(rng.next() >> 2) % (TimelineLimit.limit + 1) : Int64(rng.below(10_000_000))
        }
        // Frames only where the session gives a rate.
        func time() -> AudioTime { sampleRate != nil && rng.below(2) == 0 ? .frames(frames()) : .seconds(seconds()) }
        func positiveTime() -> AudioTime {
            let time = time()
            return time == .seconds(0) || time == .frames(0) ? .seconds(0.5) : time
        }
        func crop() -> Session.Crop? {
            guard rng.below(3) == 0 else { return nil }
            let start = time()
            if rng.below(3) == 0 { return Session.Crop(start: start, end: .end) }
            for _ in 0..<10 {
                let crop = Session.Crop(start: start, end: .time(positiveTime()))
                if crop.endIsAfterStart(countingFramesAt: sampleRate ?? 1) { return crop }
            }
            return Session.Crop(start: start, end: .end)
        }
        func name() -> String {
            let pieces = ["a", "kick", "Ω", "\u{1F3B5}", " ", "\"", "\\", "/", ".", "\n", "e\u{301}", "0", "end"]
            return (0..<rng.below(4)).map { _ in rng.pick(pieces) }.joined()
        }
        var clips: [Session.Clip] = []
        for index in 0..<rng.below(6) {
            let file = rng.below(3) == 0 ? URL(fileURLWithPath: "/srv/\(name())-\(index).wav")
                : folder.appendingPathComponent(rng.pick(["", "audio/", "a b/c/"]) + "\(name())-\(index).wav")
            let generator = rng.below(2) == 0 ? nil : Session.Generator(
                kind: rng.pick(Session.Generator.kinds), seconds: rng.below(2) == 0 ? nil : max(1e-9, unit() * 600),
                frequency: max(1e-9, unit() * 24000), channels: 1 + rng.below(8))
            clips.append(Session.Clip(name: "\(name())#\(index)", file: file, crop: crop(), generator: generator))
        }
        func gain() -> Float {
            let bits = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            return rng.below(2) == 0 && bits.isFinite ? bits : Float(unit() * 4 - 2)
        }
        /// Points each after the last (at the session's rate), one gain or one per output each.
        func envelope() -> Session.Envelope? {
            guard rng.below(3) == 0 else { return nil }
            var points: [Session.Envelope.Point] = []
            for _ in 0..<(1 + rng.below(6)) {
                let at = time()
                guard points.last.map({ $0.time.isBefore(at, countingFramesAt: sampleRate ?? 1) }) ?? true else { continue }
                points.append(Session.Envelope.Point(at: at, gains: (0..<(rng.below(2) == 0 ? 1 : outputs)).map { _ in gain() }))
            }
            if points.isEmpty { points = [Session.Envelope.Point(at: .seconds(0), gain: gain())] }
            return Session.Envelope(points, timeBase: rng.pick(GainEnvelope.TimeBase.allCases))
        }
        var entries: [Session.Entry] = []
        if !clips.isEmpty {
            for _ in 0..<rng.below(12) {
                let gains = (0..<outputs).map { _ -> Float in
                    let bits = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
                    return rng.below(2) == 0 && bits.isFinite ? bits : Float(unit() * 4 - 2)
                }
                entries.append(Session.Entry(clip: rng.pick(clips).name, start: time(),
                                             repeatEvery: rng.below(3) == 0 ? positiveTime() : nil, crop: crop(), gains: gains,
                                             fadeIn: rng.below(3) == 0 ? time() : nil, fadeOut: rng.below(3) == 0 ? time() : nil,
                                             fadeShape: rng.pick(FadeShape.allCases), envelope: envelope()))
            }
        }
        let repeats = entries.contains { $0.repeatEvery != nil }
        return try Session(url: url, outputs: outputs, sampleRate: sampleRate,
                           length: repeats || rng.below(2) == 0 ? time() : nil,
                           loop: rng.below(3) == 0 ? Session.Loop(crossfade: time(), shape: rng.pick(FadeShape.allCases)) : nil,
                           clips: clips, entries: entries)
    }

    /// The initialiser checks by the rules of a file, and names the JSON path the value would have.
    @Test func theInitialiserRefusesWhatAFileIsRefusedFor() throws {
        let url = URL(fileURLWithPath: "/srv/song.json")
        let kick = Session.Clip(name: "kick", file: URL(fileURLWithPath: "/srv/kick.wav"))
        func failure(_ make: () throws(AMIOError) -> Session) -> (String, String)? {
            let error = #expect(throws: AMIOError.self) { _ = try make() }
            guard case let .invalidSession(path, location, reason)? = error, path == url.path else { return nil }
            return (location, reason)
        }
        let cases: [(String, String, () throws(AMIOError) -> Session)] = [
            ("entries[0].gains", "3 gains given for 2 outputs", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1, 1])]) }),
            ("entries[1].clip", "no clip named 'snare' (clips: kick)", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1]), Session.Entry(clip: "snare", gains: [1, 1])]) }),
            ("entries[0].start", "'24000s' is a time in frames, which count at the session's sampleRate, and the session gives none", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", start: .frames(24000), gains: [1, 1])]) }),
            ("entries[0].gains[1]", "nan is not a finite gain; JSON holds only finite numbers", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, .nan])]) }),
            ("entries[0].start", "inf is not a finite number; JSON holds only finite numbers", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", start: .seconds(.infinity), gains: [1, 1])]) }),
            ("entries[0].start", "-1 is negative: expected a time of 0 or more seconds", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", start: .seconds(-1), gains: [1, 1])]) }),
            ("entries[0].repeat", "must be longer than 0", { () throws(AMIOError) in
                try Session(url: url, length: .seconds(1), clips: [kick],
                            entries: [Session.Entry(clip: "kick", repeatEvery: .seconds(0), gains: [1, 1])]) }),
            ("length", "required when an entry repeats", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", repeatEvery: .seconds(1), gains: [1, 1])]) }),
            ("length", "'4611686018427387905s' is beyond the timeline limit of 2^62 frames", { () throws(AMIOError) in
                try Session(url: url, sampleRate: 48000, length: .frames(TimelineLimit.limit + 1)) }),
            ("outputs", "0 is outside 1...4096", { () throws(AMIOError) in try Session(url: url, outputs: 0) }),
            ("sampleRate", "768001 is outside 1...768000", { () throws(AMIOError) in try Session(url: url, sampleRate: 768_001) }),
            ("clips.kick", "two clips are named 'kick'", { () throws(AMIOError) in try Session(url: url, clips: [kick, kick]) }),
            ("clips.kick.crop", "the end is not after the start", { () throws(AMIOError) in
                try Session(url: url, clips: [Session.Clip(name: "kick", file: kick.file, crop: Session.Crop(start: .seconds(2), end: .time(.seconds(1))))]) }),
            ("clips.kick.generate.kind", "'banjo' is not one of click, kick, snare, hat, tone, take", { () throws(AMIOError) in
                try Session(url: url, clips: [Session.Clip(name: "kick", file: kick.file, generator: Session.Generator(kind: "banjo"))]) }),
            ("clips.kick.generate.seconds", "601 is outside the seconds allowed: more than 0, at most 600", { () throws(AMIOError) in
                try Session(url: url, clips: [Session.Clip(name: "kick", file: kick.file, generator: Session.Generator(kind: "kick", seconds: 601))]) }),
            ("clips.kick.generate.channels", "9 is outside 1...8", { () throws(AMIOError) in
                try Session(url: url, clips: [Session.Clip(name: "kick", file: kick.file, generator: Session.Generator(kind: "kick", channels: 9))]) }),
            ("entries[0].fadeIn", "-0.5 is negative", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], fadeIn: .seconds(-0.5))]) }),
            ("entries[0].fadeOut", "'480s' is a time in frames, which count at the session's sampleRate, and the session gives none", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], fadeOut: .frames(480))]) }),
            ("entries[0].envelope.points", "an envelope has at least one point", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], envelope: Session.Envelope([]))]) }),
            ("entries[0].envelope.points[1].at", "1 s is not after point 0 at 2 s: points must come in order", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], envelope: Session.Envelope(
                    [Session.Envelope.Point(at: .seconds(2), gain: 1), Session.Envelope.Point(at: .seconds(1), gain: 0)]))]) }),
            ("entries[0].envelope.points[0].gain", "3 gains given for 2 outputs", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], envelope: Session.Envelope(
                    [Session.Envelope.Point(at: .seconds(0), gains: [1, 1, 1])]))]) }),
            ("entries[0].envelope.points[0].gain", "nan is not a finite gain", { () throws(AMIOError) in
                try Session(url: url, clips: [kick], entries: [Session.Entry(clip: "kick", gains: [1, 1], envelope: Session.Envelope(
                    [Session.Envelope.Point(at: .seconds(0), gain: .nan)]))]) }),
            ("loop.crossfade", "inf is not a finite number", { () throws(AMIOError) in
                try Session(url: url, loop: Session.Loop(crossfade: .seconds(.infinity))) }),
            ("entries", "65537 entries; a session holds at most 65536", { () throws(AMIOError) in
                try Session(url: url, outputs: 1, clips: [kick],
                            entries: Array(repeating: Session.Entry(clip: "kick", gains: [1]), count: Session.maximumEntries + 1)) }),
        ]
        for (location, reason, make) in cases {
            let found = failure(make)
            #expect(found?.0 == location && found?.1.hasPrefix(reason) == true, "\(location): \(String(describing: found))")
        }
    }

    /// A session changed after it was made is checked again when written; nothing is written when it fails.
    @Test func writeRefusesWhatWouldNotReadBack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("changed.json")
        let made = try Session(url: url, clips: [Session.Clip(name: "kick", file: directory.appendingPathComponent("kick.wav"))],
                               entries: [Session.Entry(clip: "kick", gains: [1, 1])])
        func failure(_ change: (inout Session) -> Void) -> (String, String)? {
            var session = made
            change(&session)
            let error = #expect(throws: AMIOError.self) { try session.write(to: url) }
            #expect(!FileManager.default.fileExists(atPath: url.path))
            guard case let .invalidSession(path, location, reason)? = error, path == url.path else { return nil }
            return (location, reason)
        }
        let renamed = failure { $0.clips["kick"]?.name = "snare" }
        #expect(renamed?.0 == "clips.kick" && renamed?.1.hasPrefix("the clip is named 'snare' but kept as 'kick'") == true)
        let remote = failure { $0.clips["kick"]?.file = URL(string: "https://example.com/kick.wav")! }
        #expect(remote?.0 == "clips.kick.file" && remote?.1 == "'https://example.com/kick.wav' is not a file URL")
        let loud = failure { $0.entries[0].gains = [1, .infinity] }
        #expect(loud?.0 == "entries[0].gains[1]" && loud?.1.hasPrefix("inf is not a finite gain") == true)
        let missing = failure { $0.entries[0].clip = "hat" }
        #expect(missing?.0 == "entries[0].clip")
        let later = failure { $0.version = 2 }
        #expect(later?.0 == "version" && later?.1.contains("a later format version") == true)
        let noRate = failure { $0.entries[0].start = .frames(1) }
        #expect(noRate?.0 == "entries[0].start")
        let silentPoint = failure { $0.entries[0].envelope = Session.Envelope([Session.Envelope.Point(at: .seconds(0), gain: -.infinity)]) }
        #expect(silentPoint?.0 == "entries[0].envelope.points[0].gain" && silentPoint?.1.hasPrefix("-inf is not a finite gain") == true)
        let endless = failure { $0.loop = Session.Loop(crossfade: .seconds(.nan)) }
        #expect(endless?.0 == "loop.crossfade")
        // A folder that does not exist is a file error, and leaves nothing behind.
        let nowhere = directory.appendingPathComponent("no/such/folder/s.json")
        let error = #expect(throws: AMIOError.self) { try made.write(to: nowhere) }
        guard case let .fileError(path, problem, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(path == nowhere.path && problem == .writeFailed)
    }

    // MARK: The documentation's examples, compiled and run

    /// Each Swift example in Docs/Session-Format.md and in the DocC comments
    /// of Sources/AMIO/Sessions is one of the functions below, line for line
    /// (imports aside), so every one compiles, and runs here.
    @Test func theDocumentedExamplesAreTheOnesBelow() throws {
        func lines(_ text: some StringProtocol) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
        }
        let here = lines(try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8))
        var sources: [(String, String)] = [("Docs/Session-Format.md", try String(contentsOf: repositoryRoot.appendingPathComponent("Docs/Session-Format.md"), encoding: .utf8))]
        let folder = repositoryRoot.appendingPathComponent("Sources/AMIO/Sessions")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            // DocC comments without their slashes.
            let comments = text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.hasPrefix("///") ? String(trimmed.dropFirst(3).drop(while: { $0 == " " })) : nil
            }
            sources.append((name, comments.joined(separator: "\n")))
        }
        var examples = 0
        for (name, text) in sources {
            for block in text.components(separatedBy: "```swift\n").dropFirst() {
                guard let code = block.components(separatedBy: "```").first else { continue }
                let wanted = lines(code)
                examples += 1
                let found = here.indices.contains { start in here[start...].starts(with: wanted) }
                #expect(found, "\(name): this example is not among the compiled ones: \(wanted.joined(separator: "\n"))")
            }
        }
        #expect(examples >= 4)
    }

    @Test func theDocumentedExamplesRun() async throws {
        for name in ["song", "click.json", "click.wav"] {
            try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent(name))
        }
        defer {
            for name in ["song", "click.json", "click.wav"] {
                try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent(name))
            }
        }
        try initialiserExample()
        try await sessionFormatExample()
        try writeExample()
        try audioTimeExample()
        try loopCrossfadeExample()
        try await fadesExample()
    }

    func initialiserExample() throws {
        let folder = URL(fileURLWithPath: "/tmp/song")
        let session = try Session(
            url: folder.appendingPathComponent("song.json"), outputs: 2, sampleRate: 48000, length: .seconds(8),
            clips: [Session.Clip(name: "kick", file: folder.appendingPathComponent("audio/kick.wav"),
                                 generator: Session.Generator(kind: "kick"))],
            entries: [Session.Entry(clip: "kick", start: .frames(24000), repeatEvery: .seconds(1), gains: [0.9, 0.9])])
        #expect(session.entries[0].start == .frames(24000))
    }

    func sessionFormatExample() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("song")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let session = try Session(
            url: folder.appendingPathComponent("song.json"), outputs: 2, sampleRate: 48000, length: .frames(96000),
            clips: [Session.Clip(name: "kick", file: folder.appendingPathComponent("audio/kick.wav"),
                                 generator: Session.Generator(kind: "kick"))],
            entries: [Session.Entry(clip: "kick", start: .frames(0), repeatEvery: .frames(24000), gains: [0.9, 0.9])])
        try session.write(to: session.url)
        let again = try Session(contentsOf: session.url)
        print(again == session)   // true

        // The frames count at the session's 48 kHz: at 44.1 kHz the kick repeats every 22050 frames.
        let (playspec, length) = try await session.playspec(sampleRate: 44100)
        print(playspec[0].repeatInterval, length)   // 22050 88200
        #expect(again == session && playspec[0].repeatInterval == 22050 && length == 88200)
        // The layout the format shows is what this example writes.
        let format = try String(contentsOf: repositoryRoot.appendingPathComponent("Docs/Session-Format.md"), encoding: .utf8)
        let shown = format.components(separatedBy: "## Sessions in Swift").last?.components(separatedBy: "```json\n").dropFirst().first?
            .components(separatedBy: "```").first
        #expect(try String(contentsOf: session.url, encoding: .utf8) == shown)
    }

    func writeExample() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("click.json")
        let click = Session.Clip(name: "click", file: url.deletingLastPathComponent().appendingPathComponent("click.wav"),
                                 generator: Session.Generator(kind: "click"))
        let session = try Session(url: url, clips: [click], entries: [Session.Entry(clip: "click", gains: [1, 1])])
        try session.write(to: url)
        print(try Session(contentsOf: url) == session)   // true
        #expect(try Session(contentsOf: url) == session)
    }

    func loopCrossfadeExample() throws {
        let session = try Session(url: URL(fileURLWithPath: "/tmp/loop.json"), loop: Session.Loop(crossfade: .seconds(0.01)))
        let fade = try session.loopCrossfade(sampleRate: 44100)   // 441 frames, equal power
        #expect(fade == Crossfade(frames: 441, shape: .equalPower))
        #expect(try Session(url: session.url).loopCrossfade(sampleRate: 44100) == .none)
    }

    func fadesExample() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("song")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pad = Session.Clip(name: "pad", file: folder.appendingPathComponent("audio/pad.wav"),
                               generator: Session.Generator(kind: "tone", seconds: 4, frequency: 220))
        let swell = Session.Envelope([Session.Envelope.Point(at: .seconds(0), gain: 0),
                                      Session.Envelope.Point(at: .seconds(2), gains: [1, 0.5])])
        let session = try Session(
            url: folder.appendingPathComponent("pad.json"), sampleRate: 48000, loop: Session.Loop(crossfade: .frames(480)),
            clips: [pad],
            entries: [Session.Entry(clip: "pad", gains: [0.5, 0.5], fadeIn: .seconds(0.5), fadeOut: .frames(48000),
                                    fadeShape: .equalPower, envelope: swell)])
        let (playspec, _) = try await session.playspec(sampleRate: 44100)
        print(playspec[0].fadeIn, playspec[0].fadeOut, playspec[0].envelope!.points[1].frame)   // 22050 44100 88200
        #expect(playspec[0].fadeIn == 22050 && playspec[0].fadeOut == 44100 && playspec[0].envelope!.points[1].frame == 88200)
        #expect(playspec[0].envelope!.points[0].gains == [0, 0], "one gain becomes one per output beside a point with one per output")
        #expect(try session.loopCrossfade(sampleRate: 44100).frames == 441)
    }

    func audioTimeExample() throws {
        let frames = try AudioTime.frames(24000).frames(atSampleRate: 44100, countingFramesAt: 48000)  // 22050
        #expect(frames == 22050)
    }
}
