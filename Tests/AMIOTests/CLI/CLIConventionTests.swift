@testable import AMIO
@testable import amio
import ArgumentParser
import Foundation
import Testing

/// The command line in sox's and pastream's idiom: what a user of those
/// tools types works as they expect.
@Suite struct CLIConventionTests {
    /// Every form of sox's time grammar, at 48 kHz.
    @Test(arguments: [
        ("90", 90 * 48000), ("1:30", 90 * 48000), ("1:30.5", 90 * 48000 + 24000), ("0:0:1", 48000),
        (".5", 24000), ("0.25", 12000), ("79:0285", (79 * 60 + 285) * 48000), ("5025t", 5025 * 48000),
        ("1:", 60 * 48000), ("1::", 3600 * 48000), ("1.1t", 52800), ("48000s", 48000), ("1.7e6s", 1_700_000),
        ("1e6s", 1_000_000), ("0.6e0s", 1), ("4611686018427387904s", 1 << 62), ("1:23+37", 120 * 48000), ("12t+12s", 12 * 48000 + 12),
        ("1e6s-10", 1_000_000 - 10 * 48000), ("10-2:00", 0), ("123-45+12s+2:00-3e3s", (78 + 120) * 48000 + 12 - 3000),
        (" 2 ", 2 * 48000), ("10ms", 480), ("2.5ms", 120), ("1:00+10ms", 60 * 48000 + 480),
    ] as [(String, Int)])
    func timesParseAsInSox(text: String, frames: Int) throws {
        let time = try TimeArgument(parsing: text)
        #expect(try time.frames(atSampleRate: 48000, name: "TIME") == Int64(frames))
    }

    @Test(arguments: ["", "x", "-5", "+5", "1e6t", "1e6", "1:2:3:4", "1.5.5", "inf", "nan", "0x10s", "1:.", "1,5", "5 s",
                      "1:2.5:3", "1++2", "1+", "s", ":5", "5ss", "0.6s",
                      "ms", "1.5.5ms", "1e3ms", "10mss", "10m"])
    func whatSoxRejectsIsNoTimeAndTheErrorListsTheForms(text: String) {
        let error = #expect(throws: ValidationError.self) { try TimeArgument(parsing: text) }
        #expect(error?.message.contains("is not a TIME: [[hh:]mm:]ss[.frac][t] (1:30, 90, 0.5, 5025t), frames with s") == true)
    }

    /// TIME parses what the user types: random strings of its alphabet (and a
    /// few other characters) either parse and convert at every rate without
    /// trapping, or are refused with the message that lists the forms.
    @Test func randomTimesParseOrAreRefusedNeverTrap() throws {
        var rng = SeededGenerator(seed: 0x71AE)
        let alphabet = Array("0123456789:.ets+- 9x")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...14, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            do {
                let time = try TimeArgument(parsing: text)
                for rate in [1, 44100, 768_000] {
                    if let frames = try? time.frames(atSampleRate: rate, countingFramesAt: 48000, name: "t") {
                        #expect((0...TimelineLimit.limit).contains(frames), "\(text) at \(rate) Hz: \(frames)")
                    }
                }
            } catch let error as ValidationError {
                #expect(error.message.contains("is not a TIME: [[hh:]mm:]ss[.frac][t]"), "\(text): \(error.message)")
            }
        }
    }

    @Test func timesBeyondTheTimelineAreRangeErrors() throws {
        for text in ["1e300s", "99999999999:00:00", "4611686018427387905s"] {
            let time = try TimeArgument(parsing: text)
            #expect(throws: AMIOError.self) { try time.frames(atSampleRate: 768_000, name: "--duration") }
        }
    }

    /// `mix` counts a TIME's frames at the session's rate, as the session's own times.
    @Test func framesCountAtTheSessionsRateWhenAsked() throws {
        let time = try TimeArgument(parsing: "1+24000s")
        #expect(try time.frames(atSampleRate: 44100, countingFramesAt: 48000, name: "--start") == 44100 + 22050)
        #expect(try time.frames(atSampleRate: 44100, name: "--start") == 44100 + 24000)
    }

    /// `-r` as sox takes it: Hz, or kHz with a k (`sox … -r 44.1k`), a whole number of Hz.
    @Test func ratesParseAsInSox() throws {
        for (text, rate) in [("44100", 44100), ("44.1k", 44100), ("48k", 48000), ("48K", 48000), ("48000.0", 48000), ("8e3", 8000), ("0.0441e3k", 44100)] {
            #expect(try RateArgument.parse(text) == rate, "\(text)")
        }
        for text in ["44k1", "-48000", "44.1", "0x10", "inf", "nan", "k", "", "48 k", "1e300", "44100Hz"] {
            let error = #expect(throws: ValidationError.self, "\(text)") { try RateArgument.parse(text) }
            #expect(error?.message.contains("is not a sample rate: Hz (44100) or kHz with k (44.1k, 48k)") == true)
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("drum.wav")
        let result = try amio(["render", exampleSessions.appendingPathComponent("drum-loop.json").path, output.path, "-r", "44.1k", "-q"])
        #expect(result.status == 0, "\(result.err)")
        #expect(try AudioFile(forReading: output).sampleRate == 44100)
    }

    /// What each file type is written with when `--encoding` gives nothing.
    @Test(arguments: [
        ("x.wav", "float"), ("x.WAV", "float"), ("x.w64", "float"), ("x.rf64", "float"), ("x.aiff", "float"),
        ("x.caf", "float"), ("x.au", "float"), ("x.flac", "pcm24"), ("x.ogg", "vorbis"), ("x.oga", "vorbis"),
        ("x.opus", "opus"), ("x.mp3", "mp3"), ("-", "float"),
    ])
    func eachTypeDefaultsToAnEncodingItsContainerTakes(path: String, encoding: String) throws {
        let type = try FileType.forWriting(path, type: nil)
        let chosen = try type.encoding(nil, commandDefault: .float)
        #expect(chosen.name == encoding)
        #expect(type.format.supports(chosen))
        #expect(try FileType.forWriting(path, type: nil).encoding(nil, commandDefault: .pcm24).name
            == (encoding == "float" ? "pcm24" : encoding))
    }

    @Test func aTypeIsNamedByItsExtensionsToo() throws {
        for (alias, type) in [("aif", "aiff"), ("snd", "au"), ("wave", "wav"), ("oga", "ogg"), ("FLAC", "flac")] {
            #expect(try FileType.named(alias).name == type)
        }
        #expect(throws: ValidationError.self) { try FileType.named("mod") }
    }

    @Test func helpListsEveryTypeAndEncoding() throws {
        for command in ["record", "render", "playrec"] {
            let result = try amio([command, "--help"])
            let help = result.out.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
            for type in FileType.all { #expect(help.contains(type.name), "\(command) --help names \(type.name)") }
            for (name, _, _) in FileType.encodings { #expect(help.contains(name), "\(command) --help names \(name)") }
            #expect(help.contains("-t, --type, --format") && help.contains("-e, --encoding"))
        }
    }

    /// A bounce to each compressed type with no flags: the file is what its name says.
    @Test(arguments: [("flac", AudioFileEncoding.pcm24), ("ogg", .vorbis), ("opus", .opus), ("mp3", .mp3)])
    func renderToACompressedTypeNeedsNoFlags(fileExtension: String, encoding: AudioFileEncoding) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("drum.\(fileExtension)")
        let result = try amio(["render", exampleSessions.appendingPathComponent("drum-loop.json").path, output.path, "-q"])
        #expect(result.status == 0, "\(result.err)")
        let file = try AudioFile(forReading: output)
        #expect(file.encoding == encoding && file.channelCount == 2)
    }

    /// sox's spelling of an encoding (`-e signed-integer -b 16`) and `-b`
    /// alone, as sox picks for it (the signed integer of that width, the
    /// unsigned in a WAV's 8 bits, float for 64), resolve to amio's
    /// encodings in every command that takes one; what amio cannot write is
    /// refused in one line that says what it takes.
    @Test func soxsEncodingNamesAndBitsResolveToAmiosEncodings() throws {
        let wav = try FileType.named("wav"), flac = try FileType.named("flac"), raw = try FileType.named("raw")
        let resolved: [(String?, Int?, FileType, AudioFileEncoding)] = [
            ("signed-integer", 16, wav, .pcm16), ("signed-integer", 24, wav, .pcm24), ("signed-integer", 32, wav, .pcm32),
            ("floating-point", 32, wav, .float), ("floating-point", 64, wav, .double), ("unsigned-integer", 8, wav, .pcmU8),
            ("signed-integer", 8, raw, .pcmS8), ("signed", 16, wav, .pcm16), ("unsigned", nil, wav, .pcmU8),
            ("Floating-Point", nil, wav, .float), ("signed-integer", nil, flac, .pcm24), ("signed-integer", nil, wav, .pcm32),
            (nil, 16, wav, .pcm16), (nil, 32, wav, .pcm32), (nil, 8, wav, .pcmU8), (nil, 8, raw, .pcmS8), (nil, 64, wav, .double),
            (nil, 16, flac, .pcm16), ("pcm16", 16, wav, .pcm16), ("pcmU8", nil, wav, .pcmU8),
        ]
        for (encoding, bits, type, expected) in resolved {
            #expect(try type.encoding(encoding, bits: bits, commandDefault: .float) == expected, "-e \(encoding ?? "") -b \(bits ?? 0) in \(type.name)")
        }
        let refused: [(String?, Int?, FileType, String)] = [
            ("a-law", nil, wav, "--encoding a-law is sox's but not one amio writes: it takes pcmS8, pcmU8, pcm16"),
            ("u-law", 8, wav, "--encoding u-law is sox's but not one amio writes"),
            ("signed-integer", 12, wav, "-e signed-integer -b 12 is not one amio writes: signed-integer takes -b 8, 16, 24, 32"),
            ("floating-point", 16, wav, "-e floating-point -b 16 is not one amio writes: floating-point takes -b 32, 64"),
            ("signed-integer", 8, wav, "-e signed-integer -b 8 (pcmS8) cannot be written in wav: it takes pcmU8, pcm16"),
            (nil, 12, wav, "--bits 12 is not a width amio writes: 8, 16, 24, 32, 64"),
            (nil, 32, flac, "--bits 32 cannot be written in flac: it takes pcmS8, pcm16, pcm24"),
            ("pcm16", 24, wav, "--bits 24 contradicts --encoding pcm16, which is 16 bits"),
            ("s-integer", nil, wav, "--encoding 's-integer' is not one of pcmS8, pcmU8, pcm16, pcm24, pcm32, float, double, vorbis, opus, mp3, "
                + "or sox's signed-integer (-b 8, 16, 24, 32), unsigned-integer (-b 8), floating-point (-b 32, 64)"),
        ]
        for (encoding, bits, type, message) in refused {
            let error = #expect(throws: ValidationError.self) { try type.encoding(encoding, bits: bits, commandDefault: .float) }
            #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
        }
        // The commands take them as sox's do: a bounce is written so, and the rest are checked before a server is asked.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = exampleSessions.appendingPathComponent("drum-loop.json").path
        for (arguments, encoding) in [(["-e", "signed-integer", "-b", "16"], AudioFileEncoding.pcm16), (["--bits", "24"], .pcm24),
                                      (["-e", "unsigned-integer", "-b", "8"], .pcmU8), (["-e", "floating-point", "--bits", "64"], .double)] {
            let output = directory.appendingPathComponent("drum.wav")
            let result = try amio(["render", session, output.path, "-q"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.err)")
            #expect(try AudioFile(forReading: output).encoding == encoding, "\(arguments)")
        }
        let input = directory.appendingPathComponent("tone.raw")
        try AudioClip(channels: [[0.5, 0.25, 0]], sampleRate: 44100).write(to: input, format: .raw, encoding: .pcm16)
        let server = ["--server", "amio-no-such-server"]
        for arguments in [["-e", "signed-integer", "-b", "16"], ["-b", "16"], ["--encoding", "signed", "--bits", "16"]] {
            let result = try amio(["play", "-t", "raw", "-r", "44100", "-c", "1", input.path] + arguments + server)
            #expect(result.status == 69, "raw input described as sox does gets as far as the server: \(arguments): \(result.err)")
        }
        for (arguments, message) in [
            (["play", "-t", "raw", "-r", "44100", "-c", "1", input.path, "-e", "a-law"], "amio: --encoding a-law is sox's but not one amio writes"),
            (["play", "-t", "raw", "-r", "44100", "-c", "1", input.path, "-b", "-16"], "amio: --bits -16 is not a width amio writes"),
            (["record", directory.appendingPathComponent("take.wav").path, "-d", "1", "-e", "u-law"], "amio: --encoding u-law is sox's"),
            (["record", directory.appendingPathComponent("take.ogg").path, "-d", "1", "-b", "16"], "amio: --bits 16 cannot be written in ogg: it takes vorbis, opus"),
            (["playrec", input.path, directory.appendingPathComponent("take.wav").path, "--bits", "12"], "amio: --bits 12 is not a width amio writes"),
        ] {
            let result = try amio(arguments + server)
            #expect(result.status == 64 && result.err.hasPrefix(message) && result.err.contains("\nusage: amio "), "\(arguments): \(result.err)")
        }
    }

    @Test func aBounceToStandardOutputIsAWAVStreamSoxReads() throws {
        let session = exampleSessions.appendingPathComponent("drum-loop.json").path
        for (arguments, soxType) in [("", "wav"), ("-t flac", "flac"), ("-t au -e pcm16", "au"), ("-t raw -e float", "raw")] {
            let soxInput = soxType == "raw" ? "-t raw -r 48000 -c 2 -e floating-point -b 32" : "-t \(soxType)"
            let result = try run("bash", ["-c", "'\(amioTool.path)' render '\(session)' - \(arguments) -q | sox \(soxInput) - -n stat 2>&1"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("Samples read:            768000"), "\(arguments): \(result.output)")
            // sox notes that libsndfile's float header has no cbSize, and that its AU header
            // is the minimal 24 bytes, as it does for files on disk: warnings, not failures.
            #expect(!result.output.contains("FAIL"), "\(result.output)")
        }
        // A container whose header is completed at the end cannot stream: said, not written broken.
        let result = try run("bash", ["-c", "'\(amioTool.path)' render '\(session)' - -t caf -q | cat > /dev/null; echo status ${PIPESTATUS[0]}"])
        #expect(result.output.contains("status 64") && result.output.contains("caf cannot be written to standard output"), "\(result.output)")
    }

    /// Negative values, options before the subcommand, short options, `--version`.
    @Test func argumentsParseAsUsersTypeThem() throws {
        // `--gain -6` is a gain, not an option: the call gets as far as the (missing) file.
        for gain in [["--gain", "-6"], ["--gain=-6"], ["--gain", "-0.5"]] {
            let result = try amio(["play", "/nonexistent/take.wav"] + gain)
            #expect(result.status == 65 && result.err.contains("/nonexistent/take.wav: missing"), "\(gain): \(result.err)")
        }
        let before = try amio(["--server", "amio-no-such-server", "-q", "ports"])
        #expect(before.status == 69 && before.err.contains("'amio-no-such-server'"), "\(before.err)")
        let version = try amio(["--version"])
        #expect(version.status == 0 && version.out.hasPrefix("amio \(SwiftAMIO.version) (libjack "), "\(version.out)")
        let short = try amio(["record", "/tmp/x.wav", "-d", "0s", "-c", "1", "-t", "wav", "-e", "pcm16"])
        #expect(short.status == 64 && short.err.contains("--duration must be longer than 0"), "\(short.err)")
        let badShort = try amio(["record", "/tmp/x.wav", "-c", "65"])
        #expect(badShort.status == 64 && badShort.err.hasPrefix("amio: --channels must be 1...64\nusage: amio record [<options>] <output>"),
                "\(badShort.err)")
    }

    /// A negative number is a value of an option that takes several too, as
    /// `--gain -6` is of one taking one: `--map -1` is the range error it
    /// is, where ArgumentParser took `-1` for an option and said "Missing
    /// value for '--map <output>'".
    @Test func negativeValuesOfOptionsTakingSeveralAreValues() throws {
        let server = ["--server", "amio-no-such-server"]
        for map in [["--map", "-1"], ["--map", "2", "-1"], ["--map=-1"], ["--map", "1", "-q", "--map", "-1"]] {
            let result = try amio(["play", "/tmp/x.wav"] + map + server)
            #expect(result.status == 64 && result.err.hasPrefix("amio: --map -1 is outside 0...64, the outputs (0: not played)\nusage: amio play"),
                    "\(map): \(result.err)")
        }
        let fraction = try amio(["play", "/tmp/x.wav", "--map", "-1.5"] + server)
        #expect(fraction.status == 64 && fraction.err.hasPrefix("amio: The value '-1.5' is invalid for '--map <output>'"), "\(fraction.err)")
        let session = exampleSessions.appendingPathComponent("drum-loop.json").path
        let loop = try amio(["mix", session, "--loop", "-1", "2"] + server)
        #expect(loop.status == 64 && loop.err.hasPrefix("amio: The value '-1' is invalid for '--loop <time>': '-1' is not a TIME"), "\(loop.err)")
        // Only those values are rewritten: an option, a single value and what follows -- are left as given.
        #expect(AMIOTool.attachingNegativeValues(["--server", "-1", "play", "x.wav", "--map", "-1", "2", "-3", "-q", "-4", "--gain", "-6", "--", "-5"])
            == ["--server", "-1", "play", "x.wav", "--map=-1", "2", "--map=-3", "-q", "-4", "--gain", "-6", "--", "-5"])
        #expect(AMIOTool.attachingNegativeValues(["record", "--map", "-1"]) == ["record", "--map", "-1"])
    }

    /// `amio help nosuch` is the usage error `amio nosuch` is, where it
    /// printed the root help with status 0; help of a command is still help.
    @Test func helpOfNoCommandIsAUsageError() throws {
        let commands = "ports, play, record, playrec, mix, render, meter"
        let unknown = try amio(["help", "nosuch"])
        #expect(unknown.status == 64 && unknown.out.isEmpty
                && unknown.err == "amio: 'nosuch' is not a command: \(commands)\nusage: amio [<options>] <subcommand>\n", "\(unknown.err)")
        let typo = try amio(["-q", "--server", "x", "help", "rendr"])
        #expect(typo.status == 64 && typo.err.hasPrefix("amio: 'rendr' is not a command: \(commands) (did you mean 'render'?)\n"), "\(typo.err)")
        let known = try amio(["help", "play"])
        #expect(known.status == 0 && known.out.contains("USAGE: amio play"), "\(known.out)")
        let root = try amio(["help"])
        #expect(root.status == 0 && root.out.contains("SUBCOMMANDS:"), "\(root.out)")
    }

    /// `play -t TYPE` names what a file's header must say, as in sox: the
    /// type is checked before a server is asked, and raw's description is
    /// for raw alone.
    @Test func playsTypeIsCheckedAgainstTheHeader() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let flac = directory.appendingPathComponent("take.flac")
        try AudioClip(channels: [[0.5, 0.25, 0]], sampleRate: 48000).write(to: flac, encoding: .pcm16)
        let server = ["--server", "amio-no-such-server"]
        let matching = try amio(["play", "-t", "flac", flac.path] + server)
        #expect(matching.status == 69, "-t flac of a FLAC gets as far as the server: \(matching.err)")
        let wrong = try amio(["play", "-t", "wav", flac.path] + server)
        #expect(wrong.status == 65 && wrong.err == "amio: \(flac.path): unsupported: it is flac (pcm16), not wav as -t wav says\n", "\(wrong.err)")
        let unknown = try amio(["play", "--format", "mod", flac.path] + server)
        #expect(unknown.status == 64 && unknown.err.hasPrefix("amio: --type 'mod' is not one of wav, w64"), "\(unknown.err)")
        let described = try amio(["play", "-t", "flac", "-r", "44100", flac.path] + server)
        #expect(described.status == 64 && described.err.hasPrefix("amio: -r, -c and -e describe headerless input (-t raw)"), "\(described.err)")
        let help = try amio(["play", "--help"]).out.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(help.contains("-t, --type, --format") && FileType.all.allSatisfy { help.contains($0.name) }, "\(help)")
    }

    /// What a hostile user tried: amio never removes what it did not make
    /// (a pipe it failed to finish writing), survives a closed standard
    /// error, leaves no copy of standard input behind, and reports a reader
    /// that went away, for MP3 too, whose encoder buffers.
    @Test func failuresLeaveNothingBrokenBehind() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = exampleSessions.appendingPathComponent("drum-loop.json").path
        let fifo = directory.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let amio = "'\(amioTool.path)'"
        let cut = try run("bash", ["-c", "head -c 10 '\(fifo.path)' > /dev/null & (trap '' PIPE; \(amio) render '\(session)' '\(fifo.path)' -t wav -q); "
            + "status=$?; wait; echo status $status"])
        #expect(cut.output.contains("write failed: Broken pipe") && cut.output.contains("status 74"), "\(cut.output)")
        var status = stat()
        #expect(lstat(fifo.path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO, "the pipe is still there")
        for type in ["mp3", "ogg"] {
            let early = try run("bash", ["-c", "(trap '' PIPE; \(amio) render '\(session)' - -t \(type) -q) | head -c 10 > /dev/null; echo status ${PIPESTATUS[0]}"])
            #expect(early.output.contains("standard output: write failed: Broken pipe") && early.output.contains("status 74"), "\(type): \(early.output)")
        }
        let closed = try run("bash", ["-c", "\(amio) render '\(session)' '\(directory.path)/x.wav' 2>&-; echo status $?; "
            + "\(amio) render /nonexistent.json x.wav 2>&-; echo status $?"])
        #expect(closed.output == "status 0\nstatus 65\n", "\(closed.output)")
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
        let garbage = try run("bash", ["-c", "echo garbage | \(amio) play -; echo status $?; \(amio) play '\(directory.path)'; echo status $?"])
        #expect(garbage.output.hasPrefix("status 65\nstatus 65\n"), "\(garbage.output)")
        #expect(garbage.output.contains("amio: standard input: unsupported: Format not recognised.\n"), "\(garbage.output)")
        #expect(garbage.output.contains(": unreadable: it is a directory\n"), "\(garbage.output)")
        // Nothing on standard input is said to be nothing, not "Format not recognised".
        for empty in ["\(amio) play - < /dev/null", ": | \(amio) play -t wav -", "\(amio) play <(true)"] {
            let result = try run("bash", ["-c", "\(empty); echo status $?"])
            #expect(result.output.contains(": unreadable: it is empty: no audio came\n") && result.output.contains("status 65\n"),
                    "\(empty): \(result.output)")
        }
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
        #expect(after.subtracting(before).filter { $0.hasPrefix("amio-input") }.isEmpty, "no copy of standard input is left")
    }

    /// Ctrl-C stops a render with status 130 and removes its unfinished file.
    @Test func anInterruptedRenderRemovesItsUnfinishedFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = directory.appendingPathComponent("long.json")
        try Data(#"{"version": 1, "outputs": 2, "sampleRate": 48000, "length": "2:00:00", "clips": {"k": {"file": "k.wav", "generate": {"kind": "kick"}}}, "entries": [{"clip": "k", "repeat": 1, "gains": [0.5, 0.5]}]}"#.utf8)
            .write(to: session)
        let output = directory.appendingPathComponent("long.wav")
        let child = try ChildProcess(amioTool, ["render", session.path, output.path])
        defer { child.kill9() }
        // Polled on this thread, not by awaiting: in a full parallel run the
        // test pool can be busy for longer than the render takes, and the
        // interrupt must come while it still runs.
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: output.path) && ContinuousClock.now < deadline { usleep(1000) }
        #expect(FileManager.default.fileExists(atPath: output.path))
        kill(child.pid, SIGINT)
        let result = try child.waitForExit(within: 30)
        #expect(result.status == 130 && result.err.contains("was not finished, and is removed"), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A mono file feeds both sides; `--map` sends each channel where it says.
    @Test func monoGoesToEveryOutputUnlessMapped() throws {
        let mono = try AudioClip(channels: [[0.5, 0.25]], sampleRate: 48000)
        let both = try Play.entries(for: mono, playAt: 0, repeatInterval: 0, gain: 1, outputs: 2, map: [])
        #expect(both.count == 1 && both[0].gains == [1, 1])
        let stereo = try AudioClip(channels: [[1, 1], [2, 2]], sampleRate: 48000)
        let swapped = try Play.entries(for: stereo, playAt: 7, repeatInterval: 0, gain: 0.5, outputs: 2, map: [2, 1])
        #expect(swapped.map(\.gains) == [[0, 0.5], [0.5, 0]])
        #expect(swapped.map { $0.clip.samples(channel: 0) } == [[1, 1], [2, 2]] && swapped.allSatisfy { $0.playAt == 7 })
        let leftOnly = try Play.entries(for: stereo, playAt: 0, repeatInterval: 0, gain: 1, outputs: 2, map: [1, 0])
        #expect(leftOnly.count == 1 && leftOnly[0].gains == [1, 0])
    }
}
