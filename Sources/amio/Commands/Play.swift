import AMIO
import ArgumentParser
import Foundation

struct Play: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play audio files one after another (or all at once with --mix), through a playspec.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var xruns: XrunOptions

    @Argument(help: "The files to play, in turn; - reads standard input.")
    var files: [String]

    @Flag(help: "Play the files all at once instead of one after another.")
    var mix = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Gain in dB (--gain -6 works as written).", valueName: "dB"))
    var gain: Double = 0

    @Flag(help: "Repeat until interrupted.")
    var loop = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Where on the timeline the files start (TIME): silence before them.", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var at: TimeArgument = .zero

    @Option(parsing: .unconditional, help: ArgumentHelp("Where in the files to start (TIME; frames count at the server's rate), as sox's `trim START`.", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var start: TimeArgument = .zero

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Fade each file in over its first TIME (from --start in the first one; every repetition with --loop).", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var fadeIn: TimeArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Fade each file out over its last TIME (every repetition with --loop).", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var fadeOut: TimeArgument?

    @Option(help: ArgumentHelp("The fades' curve: \(FadeShapeArgument.names) (default: linear).", valueName: "shape"),
            transform: FadeShapeArgument.parse)
    var fadeShape: FadeShape = .linear

    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "The output (1, 2 …; 0 for none) of each channel of the files, in order (default: channel i to output i, mono to every output).",
        valueName: "output"))
    var map: [Int] = []

    @Option(parsing: .upToNextOption, help: "Ports to connect the outputs to, in order (default: the physical ones).")
    var to: [String] = []

    @Option(name: [.customShort("t"), .long, .customLong("format")], help: ArgumentHelp(
        "The files' type, as sox's -t: \(FileType.names); raw: headerless samples, described by -r, -c and -e; "
            + "any other: what each file's header must say (default: read from the header).",
        valueName: "type"))
    var type: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The sample rate of raw input, 1...768000, in Hz (44100) or kHz (44.1k).", valueName: "rate"),
            transform: RateArgument.parse)
    var rate: Int?

    @Option(name: .shortAndLong, help: "The channels of raw input, 1...64.")
    var channels: Int?

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "The encoding of raw input: \(FileType.encodings.filter { $0.bits != nil }.map(\.name).joined(separator: ", ")), "
            + "or sox's names with -b: \(FileType.soxEncodingForms).", valueName: "encoding"))
    var encoding: String?

    @Option(name: [.customShort("b"), .long], parsing: .unconditional, help: ArgumentHelp(
        "Bits per sample of raw input, as sox's -b: the width of -e's sox name; alone, the signed integer of that width.",
        valueName: "bits"))
    var bits: Int?

    /// What raw input holds, when `-t raw` says the files have no header.
    func rawFormat() throws -> RawAudioFormat? {
        let describesSamples = rate != nil || channels != nil || encoding != nil || bits != nil
        guard let type else {
            guard !describesSamples else {
                throw ValidationError("-r, -c and -e describe headerless input: give -t raw too")
            }
            return nil
        }
        let named = try FileType.named(type)
        guard named.name == "raw" else {
            guard !describesSamples else {
                throw ValidationError("-r, -c and -e describe headerless input (-t raw); a \(named.name) file's header gives them")
            }
            return nil
        }
        guard let rate, let channels, encoding != nil || bits != nil else {
            throw ValidationError("-t raw needs the samples described: -r RATE, -c CHANNELS and -e ENCODING (or -b BITS)")
        }
        guard (1...768_000).contains(rate) else { throw ValidationError("--rate must be 1...768000") }
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        let raw = try FileType.named("raw").encoding(encoding, bits: bits, commandDefault: .float)
        return RawAudioFormat(sampleRate: rate, channelCount: channels, encoding: raw)
    }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file to play") }
        guard files.filter({ $0 == "-" || $0 == "/dev/stdin" }).count <= 1 else {
            throw ValidationError("standard input (-) can be played once")
        }
        guard gain.isFinite, gain <= maximumGainDecibels else {
            throw ValidationError("--gain \(gain) is not a number of dB up to +\(Int(maximumGainDecibels)) (a 32-bit float gain)")
        }
        if let output = map.first(where: { !(0...64).contains($0) }) {
            throw ValidationError("--map \(output) is outside 0...64, the outputs (0: not played)")
        }
        try checkTime(at, name: "--at")
        try checkTime(start, name: "--start")
        if let fadeIn { try checkTime(fadeIn, name: "--fade-in") }
        if let fadeOut { try checkTime(fadeOut, name: "--fade-out") }
        _ = try rawFormat()
    }

    /// `--fade-in 1 + --fade-out 2`: the fades given, for a message.
    var fadesGiven: (name: String, text: String, verb: String) {
        let given = [("--fade-in", fadeIn), ("--fade-out", fadeOut)].compactMap { name, time in time.map { (name, $0) } }
        return (given[0].0, given.map { "\($0.0) \($0.1)" }.joined(separator: " + "), given.count == 1 ? "is" : "are")
    }

    /// Fades longer than a file, in seconds, found before the server is
    /// asked; fades in frames count at its rate, and wait for ``checkFades(_:_:of:rate:fromStart:)``.
    func checkFadeSeconds(frames: Int, rate: Int, of file: String) throws(AMIOError) {
        let given = [fadeIn, fadeOut].compactMap { $0 }
        let seconds = given.compactMap(\.seconds)
        guard !given.isEmpty, seconds.count == given.count else { return }
        let sum = seconds.reduce(0, +)
        guard sum <= Double(frames) / Double(rate) else {
            let (name, text, verb) = fadesGiven
            throw .invalidArgument(name: name, reason: "\(text) \(verb) \(String(format: "%.6g", sum)) s, "
                + "longer than \(file) (\(formatTime(frames: Int64(frames), rate: rate)))")
        }
    }

    /// Fades of `fadeIn` + `fadeOut` frames fit in the `length` frames of `file` that play.
    func checkFades(_ fadeIn: Int64, _ fadeOut: Int64, of file: String, length: Int64, rate: Int,
                    fromStart: Bool) throws(AMIOError) {
        guard fadeIn + fadeOut > length else { return }
        let (name, text, verb) = fadesGiven
        throw .invalidArgument(name: name, reason: "\(text) \(verb) \(fadeIn + fadeOut) frames at \(rate) Hz, longer than "
            + (fromStart ? "the \(length) frames of \(file) that play from --start \(start)" : "\(file) (\(length) frames)"))
    }

    func run() async throws {
        try await perform(options) { logger in
            let inputs = try InputFiles(files)
            let raw = try rawFormat()
            let names = files.map { $0 == "-" || $0 == "/dev/stdin" ? "standard input" : $0 }
            let channels = try zip(inputs.urls, names).map { url, name throws(AMIOError) in
                if let raw { return raw.channelCount }
                let file = try AudioFile(forReading: url)
                // `-t wav`, as sox takes it: the header must say so.
                if let type, let expected = try? FileType.named(type), !expected.describes(file) {
                    throw .fileError(path: name, problem: .unsupported,
                                     message: "it is \(file.format) (\(file.encoding)), not \(expected.name) as -t \(type) says")
                }
                // A stream of unknown length is checked once it is loaded.
                if let frames = file.frameCount { try checkFadeSeconds(frames: frames, rate: file.sampleRate, of: name) }
                return file.channelCount
            }
            // A mono file goes to both sides of a stereo pair, not to the left alone.
            let outputs = max(2, map.max() ?? 0, map.isEmpty ? channels.max() ?? 1 : 0)
            try await Connection.with(options, inputs: 0, outputs: outputs, connectPhysical: to.isEmpty,
                                      logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                // Sound first: each file plays from its first converted
                // quarter of a second while the rest converts (a channel map
                // copies channels, so it waits for the whole file).
                var started: [AudioClipLoad] = []
                for url in inputs.urls {
                    started.append(try await AudioClipLoad(contentsOf: url, raw: raw, resamplingTo: io.sampleRate))
                }
                let loads = started
                defer { for load in loads { load.cancel() } }
                var clips = loads.map(\.clip)
                if !map.isEmpty {
                    clips = []
                    for load in loads { clips.append(try await load.complete()) }
                }
                let rate = io.sampleRate
                let lengths = clips.map { Int64($0.frameCount) }
                let total = mix ? lengths.max()! : lengths.reduce(0, +)
                let delay = try at.frames(atSampleRate: rate, name: "--at")
                let skip = try start.frames(atSampleRate: rate, name: "--start")
                let fadeInFrames = try fadeIn?.frames(atSampleRate: rate, name: "--fade-in") ?? 0
                let fadeOutFrames = try fadeOut?.frames(atSampleRate: rate, name: "--fade-out") ?? 0
                let last = try TimelineLimit.sum(delay, total, name: "--at")
                guard last <= PlayspecEntry.maximumFrame else {
                    throw AMIOError.invalidArgument(name: "--at", reason: "\(at) puts the files' end beyond frame 2^60, "
                        + "the farthest a playspec entry plays (\(PlayspecEntry.maximumFrame / FramePosition(rate)) s at \(rate) Hz)")
                }
                guard skip < total else {
                    throw AMIOError.invalidArgument(name: "--start", reason: "\(start) is at or after the end of the files "
                        + "(\(formatTime(frames: total, rate: rate)))")
                }
                // Each file at its place in the sequence (or all at 0 mixed).
                // Played once, what comes before --start is cropped off, so
                // --at hears that point first and a fade-in starts there;
                // looped, every repetition plays the whole files, the first
                // moved earlier by --start.
                var offset: Int64 = 0
                var entries: [PlayspecEntry] = []
                let fades = Fades(fadeIn: Int(fadeInFrames), fadeOut: Int(fadeOutFrames), shape: fadeShape)
                for ((clip, length), name) in zip(zip(clips, lengths), names) {
                    defer { if !mix { offset += length } }
                    if loop {
                        try checkFades(fadeInFrames, fadeOutFrames, of: name, length: length, rate: rate, fromStart: false)
                        entries += try Self.entries(for: clip, playAt: delay + offset - skip, repeatInterval: total,
                                                    gain: Float(pow(10, gain / 20)), outputs: outputs, map: map, fades: fades)
                        continue
                    }
                    let first = max(offset, skip)
                    guard first < offset + length else { continue }
                    try checkFades(fadeInFrames, fadeOutFrames, of: name, length: offset + length - first, rate: rate,
                                   fromStart: first > offset)
                    entries += try Self.entries(for: clip, frames: Int(first - offset)..<clip.frameCount, playAt: delay + first - skip,
                                                repeatInterval: 0, gain: Float(pow(10, gain / 20)), outputs: outputs, map: map,
                                                fades: fades)
                }
                let playspec = Playspec(entries)
                // What the first second reads (inside a file, with --start) is converted first.
                try await AudioClipLoad.waitUntilReady(loads, toPlay: playspec, from: io.position, for: rate)
                try io.setPlayspec(playspec)
                try io.setTransportRolling(true)
                logger.debug("playing \(files.joined(separator: ", ")) from frame \(skip) of \(total)")
                let status = StatusLine(enabled: !options.quiet)
                let end = try TimelineLimit.sum(delay, total - skip, name: "--at")
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let finished = try await untilInterrupted {
                    try await followPosition(of: io, until: loop ? nil : end) { position in
                        try watch.check(at: position)
                        if let error = loads.lazy.compactMap(\.error).first { throw error }
                        status.show("playing \(formatTime(frames: position, rate: rate))"
                            + (loop ? " (looping)" : " / \(formatTime(frames: end, rate: rate))") + watch.summary)
                    }
                }
                status.finish((finished ? "played \(formatTime(frames: end, rate: rate))"
                    : "stopped at \(formatTime(frames: io.position, rate: rate))") + watch.summary)
                try io.setTransportRolling(false)
                for (load, name) in zip(loads, names) where load.starvedFrames > 0 {
                    printError("amio: \(load.starvedFrames) frames of \(name) played as silence: they were not converted in time")
                }
            }
        }
    }

    /// The fades of every file's entries.
    struct Fades {
        var fadeIn = 0
        var fadeOut = 0
        var shape = FadeShape.linear
    }

    /// The entries that play `frames` of `clip` (all of it if nil): one
    /// (channel i to output i, mono to all) or, with a map, one per mapped
    /// channel with its gain on its output; each with the fades.
    static func entries(for clip: AudioClip, frames: Range<Int>? = nil, playAt: Int64, repeatInterval: Int64, gain: Float,
                        outputs: Int, map: [Int], fades: Fades = Fades()) throws(AMIOError) -> [PlayspecEntry] {
        let frames = frames ?? 0..<clip.frameCount
        func entry(_ clip: AudioClip, gains: [Float]) -> PlayspecEntry {
            PlayspecEntry(clip: clip, frames: frames, playAt: playAt, repeatInterval: repeatInterval, gains: gains,
                          fadeIn: fades.fadeIn, fadeOut: fades.fadeOut, fadeShape: fades.shape)
        }
        guard !map.isEmpty else { return [entry(clip, gains: Array(repeating: gain, count: outputs))] }
        var entries: [PlayspecEntry] = []
        for (channel, output) in zip(0..<clip.channelCount, map) where output > 0 {
            let single = try AudioClip(channels: [clip.samples(channel: channel)], sampleRate: clip.sampleRate)
            var gains = [Float](repeating: 0, count: outputs)
            gains[output - 1] = gain
            entries.append(entry(single, gains: gains))
        }
        return entries
    }
}
