@testable import AMIO
import Foundation
import Testing

/// The `amio` executable built next to this test binary.
let amioTool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("amio")

/// Runs `amio` with `arguments`; returns its exit status, stdout and stderr.
/// Fails after `timeout` seconds.
func amio(_ arguments: [String], environment: [String: String] = [:],
          timeout: Double = 120) throws -> (status: Int32, out: String, err: String) {
    try ChildProcess(amioTool, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        .waitForExit(within: timeout)
}

/// A running `amio` process, for commands that run until stopped.
func startAmio(_ arguments: [String]) throws -> ChildProcess {
    try ChildProcess(amioTool, arguments, captureOutput: false)
}

/// Waits until `port` shows up in the graph of `server`.
func waitForPort(_ port: String, server: String) async throws -> Bool {
    await eventually {
        let listing = (try? run("jack_lsp", ["-s", server]).output) ?? ""
        return listing.split(separator: "\n").contains { $0 == port }
    }
}

/// Waits until no port whose name starts with `prefix` is left in the graph.
func waitForPortGone(_ prefix: String, server: String) async throws -> Bool {
    await eventually {
        let listing = (try? run("jack_lsp", ["-s", server]).output) ?? ""
        return !listing.split(separator: "\n").contains { $0.hasPrefix(prefix) }
    }
}

@Suite struct CLIOfflineTests {
    @Test(arguments: ["drum-loop.json", "multitrack.json"])
    func renderEqualsTheOfflineAPIRender(name: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent(name), to: session)
        let output = directory.appendingPathComponent("bounce.wav")
        let result = try amio(["render", session.path, output.path, "--encoding", "float"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.contains("rendered"))
        let api = try await Session(contentsOf: session).render()
        let (file, samples) = try readAll(output)
        #expect(file.frameCount == api.frameCount && file.channelCount == 2)
        #expect(samples[0] == api.samples(channel: 0) && samples[1] == api.samples(channel: 1), "sample for sample")
        let info = try SoxInfo(output.path)
        #expect(info.samples == api.frameCount && info.sampleRate == 48000)
    }

    /// An hour's bounce streams to the file: the renderer's peak resident
    /// memory (read from /proc while it runs) stays far below the 660 MiB
    /// the file takes. A memory bound, asserted with generous headroom.
    @Test func anHourLongRenderRunsInBoundedMemory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent("hour.json")
        let text = try String(contentsOf: exampleSessions.appendingPathComponent("drum-loop.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"length\": \"0:08\"", with: "\"length\": \"1:00:00\"")
        try text.write(to: session, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("hour.wav")
        // Niced (nice execs amio, so the pid is the renderer's): the JACK
        // suites running beside this one must not starve.
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/nice"),
                                     ["-n", "19", amioTool.path, "render", session.path, output.path, "--encoding", "pcm16", "-q"])
        defer { child.kill9() }
        var peakKiB = 0
        while let status = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8),
              !status.contains("State:\tZ") {
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            peakKiB = max(peakKiB, line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0)
            usleep(50_000)
        }
        let result = try child.waitForExit(within: 300)
        #expect(result.status == 0, "\(result.err)")
        #expect(try SoxInfo(output.path).samples == 3600 * 48000)
        #expect(peakKiB > 0 && peakKiB < 96 * 1024, "peak resident memory \(peakKiB / 1024) MiB for a 1-hour render")
        print("1-hour 2-channel render: peak resident memory \(peakKiB / 1024) MiB")
    }

    @Test func renderHonoursRateAndFormat() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent("drum-loop.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("drum-loop.json"), to: session)
        let output = directory.appendingPathComponent("bounce.flac")
        let result = try amio(["render", session.path, output.path, "--rate", "44100", "--encoding", "pcm16", "-q"])
        #expect(result.status == 0 && result.err.isEmpty, "\(result.err)")
        let info = try SoxInfo(output.path)
        #expect(info.sampleRate == 44100 && info.samples == 8 * 44100)
    }

    struct BadCall: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var status: Int32
        var message: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let badCalls: [BadCall] = [
        BadCall(arguments: ["render"], status: 64, message: "Missing expected argument"),
        BadCall(arguments: ["frobnicate"], status: 64, message: "amio: 'frobnicate' is not a command: ports, play, record, playrec, mix, render, meter\n"),
        // A typo of a command is named as one, not as "2 unexpected arguments: 'plya', 'x.wav'".
        BadCall(arguments: ["-q", "--server", "x", "plya", "x.wav"], status: 64, message: "amio: 'plya' is not a command: ports, play, record, playrec, mix, render, meter (did you mean 'play'?)\nusage: amio [<options>] <subcommand>\n"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.wav", "--rate", "0"], status: 64, message: "--rate"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.wav", "--format", "mod"], status: 64, message: "--type 'mod' is not one of wav, w64"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.xyz"], status: 64, message: "names no file type: give -t/--type"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x"], status: 64, message: "'/tmp/x' has no extension"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.ogg", "-e", "pcm24"], status: 64, message: "--encoding pcm24 cannot be written in ogg: it takes vorbis, opus"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.wav", "-e", "mp3"], status: 64, message: "--encoding mp3 cannot be written in wav: it takes pcmU8, pcm16, pcm24, pcm32, float, double\n"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.opus", "-e", "vorbis"], status: 64, message: "--encoding vorbis cannot be written in opus: it takes opus\n"),
        BadCall(arguments: ["render", "SESSION", "-", "-t", "caf"], status: 64, message: "caf cannot be written to standard output (its header is completed at the end): "),
        BadCall(arguments: ["ports", "--client-name", String(repeating: "x", count: 64)], status: 64, message: "amio: invalid --client-name: it is 64 bytes; JACK takes 1 to 63"),
        BadCall(arguments: ["meter", "-d", "0"], status: 64, message: "--duration must be longer than 0"),
        BadCall(arguments: ["render", "SESSION", "/tmp/x.wav", "--encoding", "pcm12"], status: 64, message: "--encoding 'pcm12'"),
        BadCall(arguments: ["mix", "SESSION", "--start", "soon"], status: 64, message: "soon"),
        BadCall(arguments: ["render", "/nonexistent/session.json", "/tmp/x.wav"], status: 65, message: "missing"),
        BadCall(arguments: ["render", "BAD", "/tmp/x.wav"], status: 65, message: "entries[0].gains: 3 gains given for 2 outputs"),
        BadCall(arguments: ["render", "SESSION", "/nonexistent-dir/out.wav"], status: 74, message: "write failed"),
        BadCall(arguments: ["play", "/nonexistent/take.wav"], status: 65, message: "/nonexistent/take.wav: missing"),
        BadCall(arguments: ["ports", "--server", "amio-no-such-server"], status: 69, message: "--start-server"),
        // Numbers from the command line: range-checked before anything starts, exit 64, naming the value and the limit.
        BadCall(arguments: ["record", "/tmp/x.wav", "--duration", "1e300"], status: 64,
                message: "'1e300' is not a TIME: [[hh:]mm:]ss[.frac][t] (1:30, 90, 0.5, 5025t), frames with s (48000s, 1.7e6s), milliseconds with ms (10ms), or a sum or difference of those"),
        BadCall(arguments: ["record", "/tmp/x.wav", "--duration", "1e300s"], status: 64, message: "beyond the timeline limit of 2^62 frames"),
        BadCall(arguments: ["record", "/tmp/x.wav", "--duration", "99999999999:00:00"], status: 64,
                message: "invalid --duration: 359999999996400 s at 768000 Hz is beyond the timeline limit of ±2^62 frames"),
        BadCall(arguments: ["record", "/tmp/x.wav", "--duration", "0s"], status: 64, message: "--duration must be longer than 0"),
        BadCall(arguments: ["play", "/tmp/x.wav", "--at", "1e300"], status: 64, message: "'1e300' is not a TIME"),
        BadCall(arguments: ["play", "/tmp/x.wav", "--at", "9999999999999999999s"], status: 64, message: "beyond the timeline limit of 2^62 frames"),
        BadCall(arguments: ["play", "/tmp/x.wav", "--gain", "1000"], status: 64, message: "--gain 1000.0 is not a number of dB up to +770"),
        BadCall(arguments: ["mix", "SESSION", "--start", "1e300"], status: 64, message: "'1e300' is not a TIME"),
        BadCall(arguments: ["mix", "SESSION", "--loop", "0", "1e300"], status: 64, message: "'1e300' is not a TIME"),
        BadCall(arguments: ["mix", "SESSION", "--loop", "0", "4611686018427387905s"], status: 64, message: "beyond the timeline limit of 2^62 frames"),
        BadCall(arguments: ["meter", "--channels", "0"], status: 64, message: "--channels must be 1...64"),
        BadCall(arguments: ["record", "/tmp/x.wav", "-r", "0"], status: 64, message: "--rate must be 1...768000"),
        // Numbers from a session: exit 65, naming the file, the JSON path, the value and the limit.
        BadCall(arguments: ["render", "LENGTH", "/tmp/x.wav"], status: 65, message: "length: '1e18' is not a time"),
        BadCall(arguments: ["render", "START", "/tmp/x.wav"], status: 65,
                message: "entries[2].start: 1e+300 s is beyond the timeline limit of 6004799503160.661 s (2^62 frames at 768000 Hz)"),
        BadCall(arguments: ["render", "REPEAT", "/tmp/x.wav"], status: 65, message: "entries[1].repeat: 300000000000000 s is beyond the timeline limit"),
        BadCall(arguments: ["render", "CROP", "/tmp/x.wav"], status: 65, message: "entries[4].crop[1]: '99999999999:00:00' is beyond the timeline limit"),
        BadCall(arguments: ["render", "SECONDS", "/tmp/x.wav"], status: 65, message: "clips.kick.generate.seconds: 1e+300 is outside"),
        BadCall(arguments: ["render", "FRAMES", "/tmp/x.wav"], status: 65, message: "length: '9223372036854775807s' is beyond the timeline limit of 2^62 frames"),
        BadCall(arguments: ["render", "RATE", "/tmp/x.wav"], status: 65, message: "clips.click.file:"),
        BadCall(arguments: ["render", "TOOLONG", "/tmp/x.wav"], status: 65, message: "length: 4147248000 frames at 48000 Hz is longer than the longest render, 24 hours"),
        BadCall(arguments: ["render", "SYNTAX", "/tmp/x.wav"], status: 65, message: "clips.kick.generate: invalid JSON at line 7, column 73: a trailing ',' before '}'"),
    ]

    /// The drum-loop session with one text replaced, for the bad calls above.
    static let mutatedSessions: [String: (String, String)] = [
        "LENGTH": (#""length": "0:08""#, #""length": "1e18""#),
        "START": (#""start": 0.5,"#, #""start": 1e300,"#),
        "REPEAT": (#""repeat": 1,   "gains": [0.9"#, #""repeat": 3e14, "gains": [0.9"#),
        "CROP": (#""crop": [0, 0.05]"#, #""crop": [0, "99999999999:00:00"]"#),
        "SECONDS": (#"{ "kind": "kick" }"#, #"{ "kind": "kick", "seconds": 1e300 }"#),
        "FRAMES": (#""length": "0:08""#, #""length": "9223372036854775807s""#),
        "RATE": (#""sampleRate": 48000"#, #""sampleRate": 100"#),
        "TOOLONG": (#""length": "0:08""#, #""length": "24:00:01""#),
        "SYNTAX": (#""generate": { "kind": "kick" } },"#, #""generate": { "kind": "kick", } },"#),
    ]

    @Test(arguments: badCalls)
    func userErrorsGetTheirExitCodeAndAOneLineMessage(_ call: BadCall) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent("drum-loop.json")
        try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("drum-loop.json"), to: session)
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"version": 1, "clips": {"a": {"file": "a.wav"}}, "entries": [{"clip": "a", "gains": [1, 2, 3]}]}"#.utf8).write(to: bad)
        let drumLoop = try String(contentsOf: session, encoding: .utf8)
        var mutated: [String: String] = [:]
        for (name, (old, new)) in Self.mutatedSessions where call.arguments.contains(name) {
            #expect(drumLoop.contains(old), "\(name): drum-loop.json changed")
            let url = directory.appendingPathComponent("\(name).json")
            try Data(drumLoop.replacingOccurrences(of: old, with: new).utf8).write(to: url)
            mutated[name] = url.path
        }
        let arguments = call.arguments.map { $0 == "SESSION" ? session.path : $0 == "BAD" ? bad.path : mutated[$0] ?? $0 }
        let result = try amio(arguments)
        #expect(result.status == call.status, "\(call.arguments): \(result.err)")
        #expect(result.err.contains(call.message), "\(result.err)")
        #expect(!result.err.contains("Fatal error") && !result.err.contains("Stack dump"), "no stack traces")
        // One style: `amio: what`, and for a usage error the subcommand's usage, nothing else.
        let lines = result.err.split(separator: "\n").filter { !$0.hasPrefix("hint: ") }
        #expect(lines.first?.hasPrefix("amio: ") == true, "\(result.err)")
        if call.status == 64, let command = call.arguments.first, command != "frobnicate", command != "-q" {
            #expect(lines.count == 2 && lines[1].hasPrefix("usage: amio \(command) "), "\(result.err)")
        } else {
            #expect(lines.count <= 2, "\(result.err)")
        }
    }
}

extension JackTests {
    @Suite(.jackServer(period: 256))
    struct CLI {
        @Test(.enabled(if: JackServer.kind == .jackd, "the dummy driver's ports and latencies"))
        func portsListsTheGraph() async throws {
            let server = try JackServer.suite
            let result = try amio(["ports", "--server", server.name])
            #expect(result.status == 0, "\(result.err)")
            let lines = result.out.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("system:capture_1") && $0.contains("output") && $0.contains("physical") && $0.contains("capture 256..256") })
            #expect(lines.contains { $0.hasPrefix("system:playback_2") && $0.contains("input") && $0.contains("playback 512..512") })
            // A result that cannot reach its reader is a failure, as for ls.
            let full = try run("bash", ["-c", "'\(amioTool.path)' ports --server \(server.name) > /dev/full; echo status $?"])
            #expect(full.output.contains("status 74") && full.output.contains("amio: standard output: write failed"), "\(full.output)")
        }

        @Test func recordingAMetronomeHoldsClicksExactlyOneBeatApart() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let metro = try ChildProcess(try JackServer.locate("jack_metro"), ["-b", "120", "-n", "metro", "-D", "20"],
                                         environment: server.environment().merging(["PATH": "/usr/bin:/bin"]) { $1 },
                                         captureOutput: false)
            // jack_metro ignores SIGTERM and SIGINT.
            defer { metro.kill9() }
            #expect(try await waitForPort("metro:120_bpm", server: server.name))
            let output = directory.appendingPathComponent("metro.wav")
            let result = try amio(["record", output.path, "--server", server.name, "--channels", "1", "--duration", "3",
                                   "--encoding", "float", "--from", "metro:120_bpm", "--client-name", "metro-rec"])
            #expect(result.status == 0, "\(result.err)")
            let samples = try readAll(output).samples[0]
            #expect(samples.count == 3 * 48000)
            // Each click starts after silence: its first sample is a beat after the previous one's.
            var onsets: [Int] = []
            for i in 1..<samples.count where samples[i] != 0 && samples[i - 1] == 0 && (onsets.last.map { i - $0 > 1000 } ?? true) {
                onsets.append(i)
            }
            #expect(onsets.count >= 5, "\(onsets)")
            let gaps = zip(onsets, onsets.dropFirst()).map { $1 - $0 }
            // jack_metro counts the cycles it runs: when the server skips
            // cycles (an xrun), its next click comes that much later on the
            // clock, and the take holds those frames as reported losses. So a
            // beat is 24000 frames plus whole skipped periods, never more
            // than the take reports lost.
            let late = gaps.map { $0 - 24000 }
            let dropped = result.err.firstMatch(of: /, (\d+) dropped/).flatMap { Int($0.1) } ?? 0
            #expect(late.allSatisfy { $0 >= 0 && $0 % 256 == 0 } && late.reduce(0, +) <= dropped,
                    "clicks \(gaps) frames apart (a beat at 120 bpm is 24000), \(dropped) frames reported lost")
        }

        @Test(.enabled(if: JackServer.kind == .jackd, "records from system:capture_1/2, which the headless PipeWire has not"))
        func playingIntoASecondAmioRecordsTheSameAudio() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var rng = SeededGenerator(seed: 5)
            let noise = try AudioClip(channels: (0..<2).map { _ in (0..<48000).map { _ in Float.random(in: -0.5...0.5, using: &rng) } },
                                      sampleRate: 48000)
            let source = directory.appendingPathComponent("noise.wav")
            try noise.write(to: source, encoding: .float)
            let recorded = directory.appendingPathComponent("recorded.wav")
            let recorder = try startAmio(["record", recorded.path, "--server", server.name, "--client-name", "rec",
                                          "--duration", "4", "--encoding", "float", "--from", "system:capture_1", "system:capture_2"])
            defer { recorder.kill9() }
            #expect(try await waitForPort("rec:in_2", server: server.name))
            let play = try amio(["play", source.path, "--server", server.name, "--client-name", "player",
                                 "--to", "rec:in_1", "rec:in_2"])
            #expect(play.status == 0, "\(play.err)")
            // A period the player missed moves its output on by that much (its
            // timeline keeps pace with the clock), which it reports as an xrun.
            let playerXruns = play.err.firstMatch(of: /xruns (\d+)/).flatMap { Int($0.1) } ?? 0
            let recording = try recorder.waitForExit(within: 60)
            #expect(recording.status == 0, "amio record exited with \(recording.status)")
            // So does a period the recorder missed (a loaded machine's xrun) move its take.
            let recorderXruns = recording.err.firstMatch(of: /(\d+) xruns/).flatMap { Int($0.1) } ?? 0
            let samples = try readAll(recorded).samples
            let played = noise.samples(channel: 0)
            // The dummy capture ports are silent, so the recording is the player's output.
            // Find where the noise starts in it, then compare every frame.
            guard let start = samples[0].firstIndex(where: { $0 != 0 }) else {
                Issue.record("the recording is silent")
                return
            }
            #expect(start + 48000 <= samples[0].count)
            for channel in 0..<2 {
                let got = Array(samples[channel][start..<min(samples[channel].count, start + 48000)])
                let want = channel == 0 ? played : noise.samples(channel: 1)
                let mismatches = zip(got, want).filter { $0 != $1 && $0 != 0 }.count
                #expect(mismatches == 0 || playerXruns + recorderXruns > 0,
                        "channel \(channel): \(mismatches) frames differ, no xrun reported: \(play.err) \(recording.err)")
            }
        }

        /// Sound first: `amio play` of a file at another rate starts from its
        /// first converted segment while the rest converts, and a second amio
        /// records every frame of the whole conversion, seams included, with
        /// nothing played as silence.
        @Test(.enabled(if: JackServer.kind == .jackd, "records from system:capture_1/2, which the headless PipeWire has not"))
        func aFilePlayedWhileItConvertsIsRecordedWhole() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var rng = SeededGenerator(seed: 12)
            let seconds = 8
            let noise = try AudioClip(channels: (0..<2).map { _ in (0..<seconds * 44100).map { _ in Float.random(in: -0.5...0.5, using: &rng) } },
                                      sampleRate: 44100)
            let source = directory.appendingPathComponent("noise.flac")
            try noise.write(to: source, encoding: .pcm24)
            let converted = try await AudioClip(contentsOf: source, resamplingTo: 48000, cache: nil)
            let recorded = directory.appendingPathComponent("recorded.wav")
            let recorder = try startAmio(["record", recorded.path, "--server", server.name, "--client-name", "rec-whole",
                                          "--duration", "\(seconds + 2)", "--encoding", "float",
                                          "--from", "system:capture_1", "system:capture_2"])
            defer { recorder.kill9() }
            #expect(try await waitForPort("rec-whole:in_2", server: server.name))
            let play = try amio(["play", source.path, "--server", server.name, "--client-name", "player-whole",
                                 "--to", "rec-whole:in_1", "rec-whole:in_2"])
            #expect(play.status == 0, "\(play.err)")
            #expect(!play.err.contains("played as silence"), "\(play.err)")
            let playerXruns = play.err.firstMatch(of: /xruns (\d+)/).flatMap { Int($0.1) } ?? 0
            let recording = try recorder.waitForExit(within: 60)
            #expect(recording.status == 0, "amio record exited with \(recording.status)")
            let recorderXruns = recording.err.firstMatch(of: /(\d+) xruns/).flatMap { Int($0.1) } ?? 0
            let samples = try readAll(recorded).samples
            guard let start = samples[0].firstIndex(where: { $0 != 0 }) else {
                Issue.record("the recording is silent")
                return
            }
            #expect(start + converted.frameCount <= samples[0].count)
            for channel in 0..<2 {
                let got = Array(samples[channel][start..<min(samples[channel].count, start + converted.frameCount)])
                let mismatches = zip(got, converted.samples(channel: channel)).filter { $0 != $1 }.count
                #expect(got.count == converted.frameCount)
                #expect(mismatches == 0 || playerXruns + recorderXruns > 0,
                        "channel \(channel): \(mismatches) frames differ, no xrun reported: \(play.err) \(recording.err)")
            }
        }

        @Test func playrecRecordsWhatItPlays() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let source = directory.appendingPathComponent("ramp.wav")
            try rampClip(frames: 30000).write(to: source, encoding: .float)
            let output = directory.appendingPathComponent("response.wav")
            // Through the dummy driver's capture ports the response is silence, of exactly the stimulus' length.
            let result = try amio(["playrec", source.path, output.path, "--server", server.name])
            #expect(result.status == 0, "\(result.err)")
            #expect(try SoxInfo(output.path).samples == 30000)
        }

        @Test func meterPrintsLevels() async throws {
            let server = try JackServer.suite
            let result = try amio(["meter", "--server", server.name, "--duration", "0.5"])
            #expect(result.status == 0, "\(result.err)")
            #expect(result.out.contains("peak") && result.out.contains("rms"))
        }

        /// Ctrl-C stops a looping play, a looping mix, an open-ended record and
        /// a playrec mid-take cleanly: exit 0, the client gone, the take
        /// finalised and kept.
        @Test(arguments: ["play", "mix", "record", "playrec"])
        func ctrlCStopsCleanly(command: String) async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let session = directory.appendingPathComponent("drum-loop.json")
            try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("drum-loop.json"), to: session)
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 4800).write(to: clip, encoding: .float)
            let take = directory.appendingPathComponent("take.wav")
            let long = directory.appendingPathComponent("ten-seconds.wav")
            if command == "playrec" { try rampClip(frames: 480_000).write(to: long, encoding: .float) }
            let client = "ctrl-c-\(command)"
            let arguments: [String] = switch command {
            case "play": ["play", clip.path, "--loop"]
            case "mix": ["mix", session.path, "--loop", "0", "0.5"]
            case "playrec": ["playrec", long.path, take.path]
            default: ["record", take.path, "--encoding", "float"]
            }
            let process = try startAmio(arguments + ["--server", server.name, "--client-name", client, "-q"])
            defer { process.kill9() }
            #expect(try await waitForPort(command == "record" ? "\(client):in_1" : "\(client):out_1", server: server.name))
            try await Task.sleep(nanoseconds: 500_000_000)
            process.send(SIGINT)
            let result = try process.waitForExit(within: 20)
            #expect(result.status == 0, "\(command) did not stop cleanly on Ctrl-C")
            #expect(try await waitForPortGone("\(client):", server: server.name))
            if command == "record" || command == "playrec" {
                let kept = try SoxInfo(take.path).samples
                #expect(kept > 0 && kept < 480_000, "the take was finalised and kept: \(kept) frames")
            }
        }

        /// `kill -9` of `amio record` three seconds into a take: the file
        /// reads back (by sox, and by SwiftAMIO) all but the last half second.
        @Test func aKilledRecorderLeavesATakeOtherToolsRead() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let formats = ["wav", "w64", "rf64", "aiff", "caf", "flac"]
            let recorders = try formats.map { format in
                try startAmio(["record", directory.appendingPathComponent("take.\(format)").path, "--encoding", "pcm16",
                               "--channels", "1", "--server", server.name, "--client-name", "killed-\(format)", "-q"])
            }
            defer { for recorder in recorders { recorder.kill9() } }
            for format in formats { #expect(try await waitForPort("killed-\(format):in_1", server: server.name)) }
            try await Task.sleep(nanoseconds: 3_000_000_000)
            for recorder in recorders { recorder.kill9() }
            for format in formats {
                let url = directory.appendingPathComponent("take.\(format)")
                let clip = try await AudioClip(contentsOf: url)
                #expect(clip.frameCount >= 2 * 48000, "SwiftAMIO reads \(clip.frameCount) frames of the killed \(format) take")
                // sox has no RF64 reader here.
                if format != "rf64" {
                    let decoded = try SoxStat(url.path).samplesRead
                    #expect(decoded >= 2 * 48000, "sox reads \(decoded) frames of the killed \(format) take")
                }
                print("killed recorder: \(format) take reads back \(clip.frameCount) frames")
            }
        }

        @Test func recordingOggSaysItIsNotCrashSafe() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let take = directory.appendingPathComponent("take.ogg")
            let result = try amio(["record", take.path, "--channels", "1", "--duration", "0.2",
                                   "--server", server.name, "--client-name", "ogg-rec"])
            #expect(result.status == 0, "\(result.err)")
            #expect(result.err.contains("ogg takes do not survive a killed recorder"), "\(result.err)")
        }

        @Test func mixPlaysASessionInRealTime() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let session = directory.appendingPathComponent("multitrack.json")
            try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("multitrack.json"), to: session)
            let result = try amio(["mix", session.path, "--server", server.name, "--start", "7.5", "-q"])
            #expect(result.status == 0, "\(result.err)")
        }

        /// `amio record - | sox -t wav - …` and `sox … | amio play -`: standard output and input.
        @Test func recordingToAndPlayingFromAPipe() async throws {
            let server = try JackServer.suite
            let amio = "'\(amioTool.path)'"
            let recorded = try run("bash", ["-c", "\(amio) record - -d 0.5 -c 1 --server \(server.name) --client-name pipe-rec -q "
                + "| sox -t wav - -n stat 2>&1"])
            #expect(recorded.status == 0 && recorded.output.contains("Samples read:             24000"), "\(recorded.output)")
            let played = try run("bash", ["-c", "sox -n -r 48000 -c 2 -t wav - synth 0.3 sine 440 2>/dev/null "
                + "| \(amio) play - --server \(server.name) --client-name pipe-play"])
            #expect(played.status == 0 && played.output.contains("played 0:00.30"), "\(played.output)")
            // `-t TYPE -`, as sox users type it: the header is checked against it (it was refused: "play reads a file's type from its header").
            for type in ["wav", "flac"] {
                let typed = try run("bash", ["-c", "sox -V1 -n -t \(type) - synth 0.2 sine 440 "
                    + "| \(amio) play -t \(type) - --server \(server.name) --client-name typed-play"])
                #expect(typed.status == 0 && typed.output.contains("played 0:00.20"), "-t \(type): \(typed.output)")
            }
            // /dev/stdin and process substitution, which cannot be read twice either.
            let named = try run("bash", ["-c", "sox -V1 -n -t wav - synth 0.2 sine 440 | \(amio) play /dev/stdin --server \(server.name) "
                + "--client-name dev-stdin && \(amio) play <(sox -V1 -n -t flac - synth 0.1 sine 440) --server \(server.name) --client-name fifo"])
            #expect(named.status == 0 && named.output.contains("played 0:00.20") && named.output.contains("played 0:00.10"), "\(named.output)")
            // Headerless samples, described as sox describes them.
            let raw = try run("bash", ["-c", "sox -V1 -n -r 44100 -c 2 -e floating-point -b 32 -t raw - synth 0.25 sine 440 "
                + "| \(amio) play - -t raw -r 44100 -c 2 -e float --server \(server.name) --client-name raw-play"])
            #expect(raw.status == 0 && raw.output.contains("played 0:00.25"), "\(raw.output)")
        }

        /// Files play one after another unless `--mix`; `--start` begins inside them.
        @Test func playSequencesMixesAndStartsInside() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let short = directory.appendingPathComponent("short.wav"), long = directory.appendingPathComponent("long.wav")
            try rampClip(frames: 9600).write(to: short, encoding: .float)
            try rampClip(frames: 14400).write(to: long, encoding: .float)
            for (extra, played) in [([String](), "played 0:00.50"), (["--mix"], "played 0:00.30"),
                                    (["--start", "0.25"], "played 0:00.25"), (["--start", "4800s", "--mix"], "played 0:00.20")] {
                let result = try amio(["play", short.path, long.path, "--server", server.name, "--client-name", "seq"] + extra)
                #expect(result.status == 0 && result.err.contains(played), "\(extra): \(result.err)")
            }
        }

        /// Limits that are known once the server is: the farthest frame an
        /// entry plays, a loop's shortest length, a start past the end.
        @Test func limitsKnownAtTheServersRateAreUsageErrors() async throws {
            let server = try JackServer.suite
            let drum = exampleSessions.appendingPathComponent("drum-loop.json").path
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 4800).write(to: clip, encoding: .float)
            for (arguments, message) in [
                (["play", clip.path, "--at", "1152921504606846977s"], "invalid --at: 1152921504606846977s puts the files' end beyond frame 2^60"),
                (["mix", drum, "--loop", "0", "0.001"], "invalid --loop: A to B is 48 frames; a loop is at least 4 periods (1024 frames"),
                (["mix", drum, "--start", "100"], "invalid --start: 100 is at or after the session's end (0:08.00)"),
                // sox's `rec -r 44100`: JACK records at the server's rate, which is said (it was "Unknown option '-r'").
                (["record", directory.appendingPathComponent("take.wav").path, "-d", "1", "-c", "1", "-r", "44100"],
                 "invalid --rate: 44100 Hz is not the JACK server's rate, 48000 Hz, which amio records at"),
            ] {
                let result = try amio(arguments + ["--server", server.name, "--client-name", "limits"])
                #expect(result.status == 64 && result.err.hasPrefix("amio: \(message)"), "\(arguments): \(result.err)")
            }
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("take.wav").path), "no take is begun")
            let take = directory.appendingPathComponent("rate.wav")
            let atTheServersRate = try amio(["record", take.path, "-d", "0.1", "-r", "48000", "--server", server.name, "--client-name", "limits", "-q"])
            #expect(atTheServersRate.status == 0, "\(atTheServersRate.err)")
            #expect(try SoxInfo(take.path).sampleRate == 48000)
        }

        /// playrec's sides default to the physical ports each, whatever the other says.
        @Test(.enabled(if: JackServer.kind == .jackd, "records from system:capture_1, which the headless PipeWire has not"))
        func playrecConnectsTheSideNoOptionNames() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 96000).write(to: clip, encoding: .float)
            let child = try ChildProcess(amioTool, ["playrec", clip.path, directory.appendingPathComponent("out.wav").path,
                                                    "--to", "system:playback_2", "--server", server.name, "--client-name", "sides", "-q"])
            defer { child.kill9() }
            #expect(try await waitForPort("sides:in_1", server: server.name))
            // The ports exist before amio connects them: wait for the output's cable.
            var listing: [String] = []
            let rerouted = await eventually {
                listing = (try? run("jack_lsp", ["-s", server.name, "-c"]).output.components(separatedBy: "\n")) ?? []
                return listing.firstIndex(of: "sides:out_1").map { listing.indices.contains($0 + 1) && listing[$0 + 1] == "   system:playback_2" } ?? false
            }
            #expect(rerouted, "\(listing)")
            let input = try #require(listing.firstIndex(of: "sides:in_1"))
            #expect(listing[input + 1] == "   system:capture_1", "\(listing)")
            let output = try #require(listing.firstIndex(of: "sides:out_1"))
            #expect(listing[output + 1] == "   system:playback_2", "\(listing)")
            #expect(try child.waitForExit(within: 30).status == 0)
        }

        /// A mono file opens two outputs, both connected to the speakers.
        @Test func aMonoFilePlaysOnBothOutputs() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let mono = directory.appendingPathComponent("mono.wav")
            try AudioClip(channels: [[Float](repeating: 0.1, count: 48000)], sampleRate: 48000).write(to: mono, encoding: .float)
            let child = try startAmio(["play", mono.path, "--loop", "--server", server.name, "--client-name", "mono-play", "-q"])
            defer { child.kill9() }
            #expect(try await waitForPort("mono-play:out_2", server: server.name))
            // jack_lsp -c: each port, then the ports it connects to, indented.
            let listing = try run("jack_lsp", ["-s", server.name, "-c"]).output.components(separatedBy: "\n")
            for output in ["mono-play:out_1", "mono-play:out_2"] {
                let line = try #require(listing.firstIndex(of: output), "\(listing)")
                #expect(listing.indices.contains(line + 1) && listing[line + 1].hasPrefix("   "), "\(output) is connected: \(listing)")
            }
        }

        /// `meter -q` prints the run's levels on standard output and nothing else.
        @Test func meterQuietPrintsOnlyItsResult() async throws {
            let server = try JackServer.suite
            let result = try amio(["meter", "-d", "0.3", "-q", "--server", server.name, "--client-name", "quiet-meter"])
            #expect(result.status == 0 && result.err.isEmpty, "\(result.err)")
            #expect(result.out.split(separator: "\n").count == 1 && result.out.hasPrefix("1 "), "\(result.out)")
        }

        /// Progress on a terminal for `mix --loop` and `playrec`, xruns counted in it.
        @Test func loopingAndMeasuringShowProgressOnATerminal() async throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 24000).write(to: clip, encoding: .float)
            let session = directory.appendingPathComponent("multitrack.json")
            try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("multitrack.json"), to: session)
            let amio = "'\(amioTool.path)'"
            // script(1) gives the command a terminal. Once the line shows the
            // second pass, SIGINT stops the loop as Ctrl-C would (however long
            // a loaded machine took to start it: no fixed timeout).
            let looping = try ChildProcess(try JackServer.locate("script"),
                                           ["-qefc", "\(amio) mix '\(session.path)' --loop 0 0.4 "
                                               + "--server \(server.name) --client-name loop-progress", "/dev/null"])
            defer { looping.kill9() }
            let secondPass = await eventually(within: 60) { looping.collectedOutput().contains(", pass 2  xruns ") }
            try run("pkill", ["-INT", "-f", "^\(amioTool.path) mix "])
            let looped = try looping.waitForExit(within: 30)
            #expect(secondPass && looped.out.contains("looping 0:00.00–0:00.40: ") && looped.out.contains(", pass 2  xruns "),
                    "\(looped.out)")
            #expect(looped.status == 0, "\(looped.out)\(looped.err)")
            let measuring = try run("script", ["-qefc", "\(amio) playrec '\(clip.path)' '\(directory.path)/response.wav' "
                + "--server \(server.name) --client-name playrec-progress", "/dev/null"])
            #expect(measuring.status == 0 && measuring.output.contains("playing and recording 0:00.") && measuring.output.contains(" / 0:00.50  xruns "),
                    "\(measuring.output)")
        }
    }

    @Suite struct CLIServerLifecycle {
        /// Starts `amio COMMAND` running until stopped (a looping play, a mix,
        /// a meter, an open-ended record) in `directory`, and waits for its port.
        /// - Returns: The process and the take a `record` writes.
        func startOpenEnded(_ command: String, extra: [String] = [], in directory: URL,
                            server: JackServer) async throws -> (ChildProcess, URL) {
            let clip = directory.appendingPathComponent("clip.wav")
            try rampClip(frames: 4800).write(to: clip, encoding: .float)
            let session = directory.appendingPathComponent("multitrack.json")
            try FileManager.default.copyItem(at: exampleSessions.appendingPathComponent("multitrack.json"), to: session)
            let take = directory.appendingPathComponent("take.wav")
            let client = "open-\(command)"
            let arguments: [String] = switch command {
            case "play": ["play", clip.path, "--loop"]
            case "mix": ["mix", session.path]
            case "meter": ["meter"]
            default: ["record", take.path, "--encoding", "float"]
            }
            let child = try ChildProcess(amioTool, arguments + extra + ["--server", server.name, "--client-name", client, "-q"])
            let port = command == "record" || command == "meter" ? "\(client):in_1" : "\(client):out_1"
            #expect(try await waitForPort(port, server: server.name))
            return (child, take)
        }

        /// The server stopping under a looping `amio play`, a `mix`, a `meter`
        /// or an open-ended `amio record` ends it with exit status 69 and a message
        /// (the take finalised), instead of leaving it waiting forever.
        @Test(arguments: ["play", "mix", "meter", "record"])
        func aCommandEndsWhenTheServerGoesAway(command: String) async throws {
            let server = try JackServer()
            defer { server.stop() }
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let (child, take) = try await startOpenEnded(command, in: directory, server: server)
            defer { child.kill9() }
            try await Task.sleep(nanoseconds: 300_000_000)
            server.stop()
            let result = try child.waitForExit(within: 20)
            #expect(result.status == 69, "\(result.err)")
            #expect(result.err.contains("shut down"), "\(result.err)")
            if command == "record" {
                #expect(try SoxInfo(take.path).samples > 0, "the take was finalised")
            }
        }

        /// `--fatal-xruns` ends a run at its first xrun with status 75: an xrun
        /// is provoked by stopping the client (SIGSTOP) for longer than a period.
        /// jackd reports the cycles it missed; PipeWire reports none, and the
        /// engine sees them skipped.
        @Test(arguments: ["play", "record", "meter"])
        func fatalXrunsEndARunWithItsOwnStatus(command: String) async throws {
            let server = try JackServer()
            defer { server.stop() }
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let (child, take) = try await startOpenEnded(command, extra: ["--fatal-xruns"], in: directory, server: server)
            defer { child.kill9() }
            try await Task.sleep(nanoseconds: 500_000_000)
            kill(child.pid, SIGSTOP)
            try await Task.sleep(nanoseconds: 300_000_000)
            kill(child.pid, SIGCONT)
            let result = try child.waitForExit(within: 20)
            #expect(result.status == 75, "\(result.err)")
            #expect(result.err.contains("(--fatal-xruns)"), "\(result.err)")
            // Half a second in, where the run was (meter's transport stands still: it said 0:00.00).
            #expect(result.err.hasPrefix("amio: an xrun at ") && !result.err.hasPrefix("amio: an xrun at 0:00.00 "), "\(result.err)")
            if command == "record" { #expect(try SoxInfo(take.path).samples > 0, "the take was kept, finalised") }
        }

        @Test(.enabled(if: JackServer.kind == .jackd, "--start-server starts a jackd, which PipeWire's libjack cannot reach"))
        func startServerLeavesNoJackdBehind() throws {
            let name = "amio-cli-private-\(getpid())"
            let result = try amio(["ports", "--start-server", "--server", name])
            #expect(result.status == 0, "\(result.err)")
            #expect(result.out.contains("system:capture_1"))
            #expect(result.err.contains("started a private JACK server"))
            let left = try run("pgrep", ["-f", "jackd --no-realtime -n \(name) "])
            #expect(left.status != 0, "a jackd is still running: \(left.output)")
        }
    }
}

/// Runs an example program built next to this test binary.
func example(_ name: String, _ arguments: [String], server: JackServer) throws -> (status: Int32, out: String) {
    let result = try run(executable: amioTool.deletingLastPathComponent().appendingPathComponent(name), arguments,
                         environment: server.environment())
    return (result.status, result.output)
}

/// The examples end as command-line tools do: one line, `NAME: message`, and
/// a sysexits status; never a backtrace.
@Suite struct ExampleExitTests {
    static let servedExamples: [(String, [String])] = [
        ("PlaySine", ["0.1"]), ("RecordSeconds", ["/tmp/amio-example-never.wav", "0.1"]), ("Thru", ["0.1"]),
        ("SpectrumChunks", ["0.1"]), ("DAWLoop", ["0.1"]), ("AMIODemo", ["--seconds", "0.1"]),
    ]

    @Test(arguments: servedExamples.map(\.0))
    func everyExampleWithNoServerExits69WithOneLine(name: String) throws {
        let arguments = Self.servedExamples.first { $0.0 == name }!.1
        let result = try ChildProcess(amioTool.deletingLastPathComponent().appendingPathComponent(name), arguments,
                                      environment: ProcessInfo.processInfo.environment.merging(["JACK_DEFAULT_SERVER": "amio-no-such-server"]) { $1 })
            .waitForExit(within: 60)
        #expect(result.status == 69, "\(result.err)")
        #expect(result.err == "\(name): JACK server 'amio-no-such-server' is unavailable: status 0x11 (failure, server failed): "
            + "jack server is not running or cannot be started\n", "\(result.err)")
        #expect(result.out.isEmpty, "\(result.out)")
    }

    @Test func fileExamplesSayWhatIsWrongWithTheFile() throws {
        let tool = amioTool.deletingLastPathComponent()
        let missing = try ChildProcess(tool.appendingPathComponent("FileEffect"), ["/nonexistent/tone.wav", "/tmp/out.flac"]).waitForExit(within: 60)
        #expect(missing.status == 65 && missing.err.hasPrefix("FileEffect: /nonexistent/tone.wav: missing") && missing.err.split(separator: "\n").count == 1,
                "\(missing.err)")
        let unwritable = try ChildProcess(tool.appendingPathComponent("ToneToFile"), ["/nonexistent/tone.wav"]).waitForExit(within: 60)
        #expect(unwritable.status == 74 && unwritable.err.hasPrefix("ToneToFile: /nonexistent/tone.wav: write failed"), "\(unwritable.err)")
        let usage = try ChildProcess(tool.appendingPathComponent("ToneToFile"), []).waitForExit(within: 60)
        #expect(usage.status == 64 && usage.err == "usage: ToneToFile OUT.wav [seconds] [frequency]\n" && usage.out.isEmpty)
    }

    /// `ToneToFile t.xyz` is refused as `FileEffect tone.wav out.xyz` is: a
    /// name whose extension says no type is a usage error, where it wrote a
    /// WAV under that name without a word.
    @Test func toneToFileRefusesANameThatSaysNoType() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tool = amioTool.deletingLastPathComponent().appendingPathComponent("ToneToFile")
        for name in ["t.xyz", "t"] {
            let output = directory.appendingPathComponent(name)
            let result = try ChildProcess(tool, [output.path, "0.01"]).waitForExit(within: 60)
            #expect(result.status == 64 && result.out.isEmpty, "\(name): \(result.err)")
            #expect(result.err == "ToneToFile: '\(output.path)' names no file type: end it in .wav, .flac, .ogg, .opus, .mp3, .aiff, .caf …\n"
                + "usage: ToneToFile OUT.wav [seconds] [frequency]\n", "\(result.err)")
            #expect(!FileManager.default.fileExists(atPath: output.path))
        }
        // Every type its name says, in 16 bits where the container takes
        // them, else in what the container is made for (it wrote pcm16 into
        // every container, which Ogg and MP3 refuse).
        for (name, format, encoding) in [("t.flac", AudioFileFormat.flac, AudioFileEncoding.pcm16), ("t.wav", .wav, .pcm16),
                                         ("t.ogg", .ogg, .vorbis), ("t.opus", .ogg, .opus), ("t.mp3", .mp3, .mp3)] {
            let output = directory.appendingPathComponent(name)
            let written = try ChildProcess(tool, [output.path, "0.1"]).waitForExit(within: 60)
            #expect(written.status == 0, "\(name): \(written.err)")
            let file = try AudioFile(forReading: output)
            #expect(file.format == format && file.encoding == encoding, "\(name): \(file.format) \(file.encoding)")
        }
    }

    /// Numbers an example cannot use end it with the usage, before any
    /// server is asked: `Thru -1` trapped with a backtrace (a negative sleep),
    /// `PlaySine abc` played the default 2 s as if nothing were wrong.
    @Test(arguments: [
        ("PlaySine", ["abc"]), ("PlaySine", ["-1"]), ("PlaySine", ["1", "-5"]), ("PlaySine", ["1", "440", "x"]),
        ("ToneToFile", ["/tmp/amio-example-never.wav", "-1"]), ("ToneToFile", ["/tmp/amio-example-never.wav", "1e300"]),
        ("RecordSeconds", ["/tmp/amio-example-never.wav", "soon"]), ("Thru", ["-1"]), ("Thru", ["1e300"]), ("DAWLoop", ["-1"]),
        ("SpectrumChunks", ["--loopback", "abc"]), ("SpectrumChunks", ["0.1", "--loopback"]), ("SpectrumChunks", ["nan"]),
        // --seconds inf trapped converting the sleep; a pid of no process was taken for none given.
        ("AMIODemo", ["--seconds", "inf"]), ("AMIODemo", ["--seconds", "1e300"]), ("AMIODemo", ["--server-pid", "abc"]),
        ("AMIODemo", ["--server-pid", "0"]), ("AMIODemo", ["--server-pid", "2147483647"]),
    ])
    func badNumbersAreUsageErrors(name: String, arguments: [String]) throws {
        let result = try ChildProcess(amioTool.deletingLastPathComponent().appendingPathComponent(name), arguments,
                                      environment: ProcessInfo.processInfo.environment.merging(["JACK_DEFAULT_SERVER": "amio-no-such-server"]) { $1 })
            .waitForExit(within: 60)
        #expect(result.status == 64, "\(arguments): \(result.err)")
        let lines = result.err.split(separator: "\n")
        #expect(lines.count <= 2 && lines.last?.hasPrefix("usage: \(name) ") == true, "\(arguments): \(result.err)")
        if lines.count == 2 { #expect(lines[0].hasPrefix("\(name): --") || lines[0].contains(" is a number from "), "\(result.err)") }
        #expect(!result.err.contains("Backtrace") && result.out.isEmpty, "\(result.err)\(result.out)")
    }

    /// `FileEffect tone.wav out.flac`, the issue's command: the output is
    /// written as its name says, in an encoding its container takes (it wrote
    /// float into every type, which FLAC, Ogg and MP3 refuse), and a name
    /// that says no type is a usage error, not a WAV.
    @Test func fileEffectWritesTheTypeItsOutputNames() throws {
        let tool = amioTool.deletingLastPathComponent()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tone = directory.appendingPathComponent("tone.wav")
        try AudioClip(channels: [[Float](repeating: 0.25, count: 4800), [Float](repeating: -0.25, count: 4800)], sampleRate: 48000)
            .write(to: tone, encoding: .pcm16)
        for (name, format, encoding) in [("out.flac", AudioFileFormat.flac, AudioFileEncoding.pcm24), ("out.ogg", .ogg, .vorbis),
                                         ("out.opus", .ogg, .opus), ("out.mp3", .mp3, .mp3), ("out.wav", .wav, .float)] {
            let output = directory.appendingPathComponent(name)
            let result = try ChildProcess(tool.appendingPathComponent("FileEffect"), [tone.path, output.path]).waitForExit(within: 60)
            #expect(result.status == 0 && result.err.isEmpty, "\(name): \(result.err)")
            let file = try AudioFile(forReading: output)
            #expect(file.format == format && file.encoding == encoding && file.channelCount == 2, "\(name): \(file.format) \(file.encoding)")
        }
        let unknown = try ChildProcess(tool.appendingPathComponent("FileEffect"), [tone.path, directory.appendingPathComponent("out.xyz").path])
            .waitForExit(within: 60)
        #expect(unknown.status == 64 && unknown.err.hasPrefix("FileEffect: '") && unknown.err.contains("names no file type"), "\(unknown.err)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.xyz").path))
    }
}

extension JackTests {
    @Suite(.jackServer(period: 256))
    struct Examples {
        @Test func playSinePlaysForASecond() throws {
            let result = try example("PlaySine", ["1", "440"], server: try JackServer.suite)
            #expect(result.status == 0, "\(result.out)")
            #expect(result.out.contains("playing 440.0 Hz at 48000 Hz"))
            #expect(result.out.contains("applied(atFrame: 0)"))
            let played = result.out.split(separator: "\n").last { $0.hasPrefix("played ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            #expect(played >= 48000 && played < 48000 + 20 * 256, "\(result.out)")
        }

        @Test func recordSecondsWritesTheFramesAsked() throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let url = directory.appendingPathComponent("five.wav")
            let result = try example("RecordSeconds", [url.path, "1"], server: try JackServer.suite)
            #expect(result.status == 0, "\(result.out)")
            #expect(result.out.contains("recorded 48000 frames"))
            let info = try SoxInfo(url.path)
            #expect(info.samples == 48000 && info.channels == 2)
        }

        /// The demo measures a server's CPU only for a process it knows to
        /// be the server, and says how it knows: the pid given, or a jackd
        /// found by the server's name.
        @Test func theDemoSaysWhoseCPUItMeasured() throws {
            let server = try JackServer.suite
            let given = try example("AMIODemo", ["--server", server.name, "--seconds", "0.3", "--server-pid", "\(getpid())"], server: server)
            #expect(given.status == 0, "\(given.out)")
            #expect(given.out.contains("(pid \(getpid()), from --server-pid)"), "\(given.out)")
            guard JackServer.kind == .jackd else { return }
            let found = try example("AMIODemo", ["--server", server.name, "--seconds", "0.3"], server: server)
            #expect(found.status == 0, "\(found.out)")
            #expect(found.out.contains("; jackd (pid ") && found.out.contains(", found by its server name) "), "\(found.out)")
        }

        @Test func spectrumChunksFindTheTone() throws {
            let result = try example("SpectrumChunks", ["1", "--loopback", "1000"], server: try JackServer.suite)
            #expect(result.status == 0, "\(result.out)")
            let peaks = result.out.split(separator: "\n").compactMap { line -> Double? in
                guard let range = line.range(of: "peak ") else { return nil }
                return Double(line[range.upperBound...].split(separator: " ").first ?? "")
            }
            #expect(peaks.count >= 10, "\(result.out)")
            // Hann windows, 50 % overlap, 2048 frames: every chunk's peak is the tone.
            #expect(peaks.dropFirst().allSatisfy { abs($0 - 1000) < 2 }, "\(peaks)")
        }
    }
}
