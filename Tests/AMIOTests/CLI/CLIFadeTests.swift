@testable import AMIO
import Foundation
import Testing

/// Fades, envelopes and crossfades through `amio`: `render` bounces a
/// session's fades and envelopes to exactly the samples the engine's rules
/// give; `play --fade-in/--fade-out` and `mix --crossfade` refuse what does
/// not fit with a usage error; `mix --loop A B --crossfade X` plays the
/// crossfaded jumps the offline renderer computes, sample for sample.
@Suite struct CLIFadeOfflineTests {
    @Test func renderBouncesASessionsFadesAndEnvelopesToTheExpectedSamples() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try SessionFadeTests.writeDC(in: directory)
        let session = try SessionFadeTests.session(SessionFadeTests.renderedEntries, loop: #""loop": {"crossfade": 0.01},"#,
                                                   in: directory)
        let output = directory.appendingPathComponent("fades.wav")
        let result = try amio(["render", session.url.path, output.path, "--encoding", "float", "-q"])
        #expect(result.status == 0 && result.err.isEmpty, "\(result.err)")
        let (file, samples) = try readAll(output)
        #expect(file.channelCount == 2 && file.sampleRate == 48000)
        let (playspec, length) = try await session.playspec(sampleRate: 48000)
        try SessionFadeTests.expectReference(rendered: samples, playspec: playspec, length: length)
        // By hand, the first entry's equal-power fade-in: s(p / 480) × 0.8 × 0.5 on the left.
        for p in [0, 1, 120, 240, 479] {
            #expect(abs(samples[0][p] - Float(0.4 * sin(Double(p) / 480 * Double.pi / 2))) < 1e-7, "frame \(p)")
        }
        // At another rate the fades keep their times: 0.01 s is 441 frames at 44.1 kHz.
        let slow = directory.appendingPathComponent("fades-44k.wav")
        #expect(try amio(["render", session.url.path, slow.path, "--rate", "44100", "--encoding", "float", "-q"]).status == 0)
        let (_, resampled) = try readAll(slow)
        let (slowPlayspec, slowLength) = try await session.playspec(sampleRate: 44100)
        #expect(slowPlayspec[0].fadeIn == 441 && slowPlayspec[0].fadeOut == 882)
        try SessionFadeTests.expectReference(rendered: resampled, playspec: slowPlayspec, length: slowLength)
    }

    @Test func theFadesExampleRendersAsTheAPIDoes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent("fades.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("fades.json"), to: session)
        let output = directory.appendingPathComponent("fades.wav")
        let result = try amio(["render", session.path, output.path, "--encoding", "float", "-q"])
        #expect(result.status == 0, "\(result.err)")
        let api = try await Session(contentsOf: session).render()
        let (file, samples) = try readAll(output)
        #expect(file.frameCount == 6 * 48000 && samples[0] == api.samples(channel: 0) && samples[1] == api.samples(channel: 1))
        // The pad fades in from silence and the hats' envelope starts at 0: the bounce starts silent.
        #expect(samples[0][0] == 0 && samples[1][0] == 0)
        // The hats end on the left: the envelope's last point is [1, 0], so nothing of them is on the right in the last
        // quarter second but the pad (exponential fade-out to 0) and the lead (over by 4.5 s).
        #expect(samples[1].suffix(100).allSatisfy { abs($0) < 1e-3 })
    }

    struct UsageError: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var message: String
        var status: Int32 = 64
        var testDescription: String { arguments.joined(separator: " ") }
    }

    /// Found before a server is asked: the TIMEs, the shapes, fades in
    /// seconds longer than a file, a crossfade without a loop; and a session's
    /// fades longer than its entry (65, at render).
    static let usageErrors: [UsageError] = [
        UsageError(arguments: ["play", "CLIP", "--fade-in", "0.6", "--fade-out", "0.5"],
                   message: "amio: invalid --fade-in: --fade-in 0.6 + --fade-out 0.5 are 1.1 s, longer than CLIP (0:01.00)\n"),
        UsageError(arguments: ["play", "CLIP", "CLIP", "--fade-out", "1.25"],
                   message: "amio: invalid --fade-out: --fade-out 1.25 is 1.25 s, longer than CLIP (0:01.00)\n"),
        UsageError(arguments: ["play", "CLIP", "--fade-in", "soon"], message: "'soon' is not a TIME"),
        UsageError(arguments: ["play", "CLIP", "--fade-out", "1e300s"], message: "invalid --fade-out: '1e300s' is beyond the timeline limit"),
        UsageError(arguments: ["play", "CLIP", "--fade-in", "0.1", "--fade-shape", "cosine"],
                   message: "'cosine' is not a fade shape: linear, equalPower, exponential"),
        UsageError(arguments: ["mix", "SESSION", "--crossfade", "0.01"],
                   message: "amio: --crossfade and --crossfade-shape are for the loop's jump: give --loop A B too\n"),
        UsageError(arguments: ["mix", "SESSION", "--crossfade-shape", "linear"], message: "give --loop A B too"),
        UsageError(arguments: ["mix", "SESSION", "--loop", "0", "1", "--crossfade", "99999999999:00:00"],
                   message: "invalid --crossfade: 359999999996400 s at 768000 Hz is beyond the timeline limit"),
        UsageError(arguments: ["mix", "SESSION", "--loop", "0", "1", "--crossfade-shape", "smooth"], message: "'smooth' is not a fade shape"),
        UsageError(arguments: ["render", "FADES", "/tmp/x.wav"],
                   message: "entries[1].fadeIn: fadeIn 9 s (432000 frames) is longer than one occurrence of the entry at 48000 Hz "
                       + "(19200 frames: the crop)", status: 65),
    ]

    @Test(arguments: usageErrors)
    func fadesThatCannotBeAreRefusedBeforeAnythingPlays(_ call: UsageError) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = directory.appendingPathComponent("clip.wav")
        try AudioClip(channels: [[Float](repeating: 0.1, count: 48000)], sampleRate: 48000).write(to: clip, encoding: .float)
        let session = directory.appendingPathComponent("drum-loop.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("drum-loop.json"), to: session)
        let fades = directory.appendingPathComponent("fades.json")
        let drumLoop = try String(contentsOf: session, encoding: .utf8)
        let old = #""repeat": 1,   "gains": [0.9"#
        #expect(drumLoop.contains(old), "drum-loop.json changed")
        try Data(drumLoop.replacingOccurrences(of: old, with: #""repeat": 1, "fadeIn": 9, "gains": [0.9"#).utf8).write(to: fades)
        let arguments = call.arguments.map { ["CLIP": clip.path, "SESSION": session.path, "FADES": fades.path][$0] ?? $0 }
        // No server is named that runs: what is found here is found before one is asked.
        let result = try amio(arguments + (call.arguments[0] == "render" ? [] : ["--server", "amio-no-such-server"]))
        let message = call.message.replacingOccurrences(of: "CLIP", with: clip.path)
        #expect(result.status == call.status && result.err.contains(message), "\(result.err)")
        let lines = result.err.split(separator: "\n")
        #expect(lines.first?.hasPrefix("amio: ") == true && lines.count == (call.status == 64 ? 2 : 1), "\(result.err)")
        if call.status == 64 { #expect(lines.last?.hasPrefix("usage: amio \(call.arguments[0]) ") == true) }
    }
}

extension JackTests {
    @Suite(.jackServer(period: 256))
    struct CLIFades {
        /// What is known only at the server's rate: fades in frames longer
        /// than a file, or than what plays of it from --start; a crossfade
        /// longer than the loop, from the option or the session.
        @Test func fadesThatDoNotFitAtTheServersRateAreUsageErrors() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 4800).write(to: clip, encoding: .float)
            let drum = exampleSessions.appendingPathComponent("drum-loop.json").path
            let session = directory.appendingPathComponent("long-crossfade.json")
            try Data(try String(contentsOf: URL(fileURLWithPath: drum), encoding: .utf8)
                .replacingOccurrences(of: #""length": "0:08","#, with: #""length": "0:08", "loop": {"crossfade": 1},"#).utf8)
                .write(to: session)
            for (arguments, message) in [
                (["play", clip.path, "--fade-in", "2400s", "--fade-out", "2401s"],
                 "invalid --fade-in: --fade-in 2400s + --fade-out 2401s are 4801 frames at 48000 Hz, longer than \(clip.path) (4800 frames)"),
                (["play", clip.path, "--loop", "--fade-out", "4801s"],
                 "invalid --fade-out: --fade-out 4801s is 4801 frames at 48000 Hz, longer than \(clip.path) (4800 frames)"),
                (["play", clip.path, clip.path, "--start", "0.09", "--fade-in", "0.05"],
                 "invalid --fade-in: --fade-in 0.05 is 2400 frames at 48000 Hz, longer than the 480 frames of \(clip.path) that play from --start 0.09"),
                (["mix", drum, "--loop", "0", "0.5", "--crossfade", "0.6"],
                 "invalid --crossfade: 0.6 is 28800 frames, longer than the loop: A to B is 24000 frames"),
                (["mix", drum, "--loop", "0", "0.5", "--crossfade", "16777217s"],
                 "invalid --crossfade: 16777217s is 16777217 frames at 48000 Hz; a crossfade is at most 16777216 frames (2^24)"),
                (["mix", session.path, "--loop", "0", "0.5"],
                 "invalid --loop: A to B is 24000 frames, shorter than the session's loop crossfade of 48000 frames; give a shorter --crossfade"),
            ] {
                let result = try amio(arguments + ["--server", server.name, "--client-name", "fade-limits"])
                #expect(result.status == 64 && result.err.hasPrefix("amio: \(message)\nusage: amio \(arguments[0]) "),
                        "\(arguments): \(result.err)")
            }
            // What fits plays: the whole file faded, and --start's part with its own fade-in.
            for arguments in [["play", clip.path, "--fade-in", "2400s", "--fade-out", "2400s"],
                              ["play", clip.path, clip.path, "--start", "0.09", "--fade-in", "240s", "--fade-out", "0.005"],
                              ["mix", session.path, "--start", "7.5"]] {
                let result = try amio(arguments + ["--server", server.name, "--client-name", "fade-plays", "-q"])
                #expect(result.status == 0 && result.err.isEmpty, "\(arguments): \(result.err)")
            }
        }

        /// `play A B --start S --fade-in I --fade-out O`, recorded by a second
        /// amio: the first file fades in where --start enters it (as sox's
        /// `trim S fade I`), each file fades out at its end and the second
        /// fades in at its start, sample for sample as the engine's rules give.
        @Test(.enabled(if: JackServer.kind == .jackd, "records from system:capture_1/2, which the headless PipeWire has not"))
        func playFadesEachFileFromWhereItStarts() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let ramp = try AudioClip(channels: [(0..<4800).map { 0.25 + 0.5 * Float($0) / 4800 }], sampleRate: 48000)
            let file = directory.appendingPathComponent("ramp.wav")
            try ramp.write(to: file, encoding: .float)
            let take = directory.appendingPathComponent("take.wav")
            let recorder = try startAmio(["record", take.path, "--server", server.name, "--client-name", "fade-rec", "--duration", "1.5",
                                          "--encoding", "float", "--from", "system:capture_1", "system:capture_2"])
            defer { recorder.kill9() }
            #expect(try await waitForPort("fade-rec:in_2", server: server.name))
            let play = try amio(["play", file.path, file.path, "--start", "0.05", "--fade-in", "240s", "--fade-out", "0.01",
                                 "--fade-shape", "equalPower", "--gain", "-6", "--to", "fade-rec:in_1", "fade-rec:in_2",
                                 "--server", server.name, "--client-name", "fade-play"])
            #expect(play.status == 0 && play.err.contains("played 0:00.15"), "\(play.err)")
            let recording = try recorder.waitForExit(within: 60)
            #expect(recording.status == 0, "\(recording.err)")
            let xruns = (play.err.firstMatch(of: /xruns (\d+)/).flatMap { Int($0.1) } ?? 0)
                + (recording.err.firstMatch(of: /(\d+) xruns/).flatMap { Int($0.1) } ?? 0)
            let gain = Float(pow(10, -6.0 / 20))
            let entries = [
                PlayspecEntry(clip: ramp, frames: 2400..<4800, playAt: 0, gains: [gain, gain], fadeIn: 240, fadeOut: 480,
                              fadeShape: .equalPower),
                PlayspecEntry(clip: ramp, playAt: 2400, gains: [gain, gain], fadeIn: 240, fadeOut: 480, fadeShape: .equalPower),
            ]
            let expected = (0..<7200).map { frame in entries.reduce(Float(0)) { $0 + SessionFadeTests.expected($1, output: 0, frame: Int64(frame)) } }
            #expect(expected[0] == 0 && expected[1] > 0 && expected[2399] > 0 && expected[2400] == 0, "a fade from and to silence")
            let samples = try readAll(take).samples
            // The first sound is frame 1 of the play: frame 0 of a fade-in is silent.
            guard let heard = samples[0].firstIndex(where: { $0 != 0 }), heard >= 1, heard + 7199 <= samples[0].count else {
                Issue.record("the take does not hold the play: \(play.err) \(recording.err)")
                return
            }
            for channel in 0..<2 {
                let got = Array(samples[channel][(heard - 1)..<(heard + 7199)])
                let mismatches = zip(got, expected).filter { $0 != $1 }.count
                #expect(mismatches == 0 || xruns > 0, "channel \(channel): \(mismatches) frames differ, no xrun reported")
            }
        }

        /// `mix --loop A B --crossfade X`, recorded by a second amio: from its
        /// first sample on, the take holds what the offline renderer gives for
        /// the same jumps (each scheduled once the last has applied, as mix
        /// does), every crossfaded jump included. The options win over the
        /// session's loop crossfade, each for what it gives (a length keeps
        /// the session's shape).
        @Test(.enabled(if: JackServer.kind == .jackd, "records from system:capture_1/2, which the headless PipeWire has not"),
              arguments: [(["--crossfade", "0.05"], Crossfade(frames: 2400, shape: .exponential)),
                          (["--crossfade", "1200s", "--crossfade-shape", "equalPower"], Crossfade(frames: 1200, shape: .equalPower)),
                          (["--crossfade-shape", "linear"], Crossfade(frames: 960, shape: .linear)),
                          ([], Crossfade(frames: 960, shape: .exponential))])
        func mixPlaysTheLoopWithItsCrossfade(options: [String], crossfade: Crossfade) async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            // A ramp that never reaches 0, so the take's first sound is the mix's first frame.
            let ramp = (0..<48000).map { 0.25 + 0.5 * Float($0) / 48000 }
            try AudioClip(channels: [ramp, ramp.map { -$0 }], sampleRate: 48000)
                .write(to: directory.appendingPathComponent("ramp.wav"), encoding: .float)
            let url = directory.appendingPathComponent("loop.json")
            try Data(#"""
                {"version": 1, "sampleRate": 48000, "length": 1, "loop": {"crossfade": "960s", "shape": "exponential"},
                 "clips": {"ramp": {"file": "ramp.wav"}}, "entries": [{"clip": "ramp", "gains": [0.9, 0.6]}]}
                """#.utf8).write(to: url)
            let client = "xfade-\(crossfade.frames)"
            let take = directory.appendingPathComponent("take.wav")
            let recorder = try startAmio(["record", take.path, "--server", server.name, "--client-name", "\(client)-rec",
                                          "--duration", "4", "--encoding", "float", "--from", "system:capture_1", "system:capture_2"])
            defer { recorder.kill9() }
            #expect(try await waitForPort("\(client)-rec:in_2", server: server.name))
            let mix = try ChildProcess(amioTool, ["mix", url.path, "--loop", "0", "0.25"] + options + [
                "--to", "\(client)-rec:in_1", "\(client)-rec:in_2", "--server", server.name, "--client-name", client])
            defer { mix.kill9() }
            #expect(try await waitForPort("\(client):out_1", server: server.name))
            try await Task.sleep(nanoseconds: 2_000_000_000)
            mix.send(SIGINT)
            let mixed = try mix.waitForExit(within: 20)
            #expect(mixed.status == 0, "\(mixed.err)")
            let recorded = try recorder.waitForExit(within: 60)
            #expect(recorded.status == 0, "\(recorded.err)")
            let xruns = (mixed.err.firstMatch(of: /xruns (\d+)/).flatMap { Int($0.1) } ?? 0)
                + (recorded.err.firstMatch(of: /(\d+) xruns/).flatMap { Int($0.1) } ?? 0)

            // The same loop, offline, each jump scheduled once the last has
            // applied (a little past it, as mix schedules it a period or so later).
            let session = try Session(contentsOf: url)
            if options.isEmpty { #expect(try session.loopCrossfade(sampleRate: 48000) == crossfade, "the session's own") }
            let (playspec, _) = try await session.playspec(sampleRate: 48000)
            let renderer = try OfflineRenderer(sampleRate: 48000, outputChannels: 2)
            try renderer.setPlayspec(playspec)
            try renderer.setTransportRolling(true)
            var expected: [[Float]] = [[], []]
            for pass in 0..<4 {
                let jump = try renderer.schedulePlayspecChange(playspec, insertAt: 12000, startFrom: 0, crossfade: crossfade)
                let block = try renderer.render(frames: pass == 0 ? 12100 : 12000)
                for channel in 0..<2 { expected[channel] += block[channel] }
                #expect(try await jump.result == .applied(atFrame: 12000))
            }
            // The crossfade is heard: after a jump the ramp's start fades in over it while what follows B fades out
            // under it; then the ramp from A plays alone, as a cut would give it.
            let x = crossfade.frames, s = crossfade.shape
            let middle = s.weight(at: 0.5) * (0.9 * ramp[x / 2]) + s.weight(at: 0.5) * (0.9 * ramp[12000 + x / 2])
            #expect(abs(expected[0][12000 + x / 2] - middle) < 1e-6 && expected[0][12000 + x / 2] != 0.9 * ramp[x / 2],
                    "\(expected[0][12000 + x / 2]) \(middle)")
            #expect(expected[0][12000 + x] == 0.9 * ramp[x] && expected[1][12000 + x + 1] == 0.6 * -ramp[x + 1])

            let samples = try readAll(take).samples
            guard let start = samples[0].firstIndex(where: { $0 != 0 }) else {
                Issue.record("the take is silent: \(mixed.err) \(recorded.err)")
                return
            }
            #expect(start + 48000 <= samples[0].count, "the take holds a second of the mix")
            for channel in 0..<2 {
                let got = Array(samples[channel][start..<min(samples[channel].count, start + 48000)])
                let mismatches = zip(got, expected[channel]).filter { $0 != $1 }.count
                let first = zip(got, expected[channel]).enumerated().filter { $0.element.0 != $0.element.1 }.prefix(4)
                    .map { "\($0.offset): \($0.element.0) not \($0.element.1)" }.joined(separator: ", ")
                #expect(mismatches == 0 || xruns > 0,
                        "channel \(channel): \(mismatches) frames differ from frame \(first), no xrun reported: \(mixed.err) \(recorded.err)")
            }
        }
    }
}
