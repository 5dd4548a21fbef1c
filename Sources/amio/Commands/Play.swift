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

    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "The output (1, 2 …; 0 for none) of each channel of the files, in order (default: channel i to output i, mono to every output).",
        valueName: "output"))
    var map: [Int] = []

    @Option(parsing: .upToNextOption, help: "Ports to connect the outputs to, in order (default: the physical ones).")
    var to: [String] = []

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp(
        "raw: the files are headerless samples, described by -r, -c and -e (other types are read from the files' headers).",
        valueName: "type"))
    var type: String?

    @Option(name: .shortAndLong, help: "The sample rate of raw input, 1...768000.")
    var rate: Int?

    @Option(name: .shortAndLong, help: "The channels of raw input, 1...64.")
    var channels: Int?

    @Option(name: .shortAndLong, help: ArgumentHelp("The encoding of raw input: pcm16, pcm24, pcm32, float, double.", valueName: "encoding"))
    var encoding: String?

    /// What raw input holds, when `-t raw` says the files have no header.
    func rawFormat() throws -> RawAudioFormat? {
        guard let type else {
            guard rate == nil, channels == nil, encoding == nil else {
                throw ValidationError("-r, -c and -e describe headerless input: give -t raw too")
            }
            return nil
        }
        guard type.lowercased() == "raw" else {
            throw ValidationError("--type '\(type)': play reads a file's type from its header; -t raw (with -r, -c, -e) is for headerless samples")
        }
        guard let rate, let channels, let encoding else {
            throw ValidationError("-t raw needs the samples described: -r RATE, -c CHANNELS and -e ENCODING")
        }
        guard (1...768_000).contains(rate) else { throw ValidationError("--rate must be 1...768000") }
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        let raw = try FileType.named("raw").encoding(encoding, commandDefault: .float)
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
        guard map.allSatisfy({ (0...64).contains($0) }) else { throw ValidationError("--map takes outputs 0...64 (0: not played)") }
        try checkTime(at, name: "--at")
        try checkTime(start, name: "--start")
        _ = try rawFormat()
    }

    func run() async throws {
        try await perform(options) { logger in
            let inputs = try InputFiles(files)
            let raw = try rawFormat()
            let channels = try inputs.urls.map { url throws(AMIOError) in
                if let raw { return raw.channelCount }
                return try AudioFile(forReading: url).channelCount
            }
            // A mono file goes to both sides of a stereo pair, not to the left alone.
            let outputs = max(2, map.max() ?? 0, map.isEmpty ? channels.max() ?? 1 : 0)
            try await Connection.with(options, inputs: 0, outputs: outputs, connectPhysical: to.isEmpty,
                                      logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                var clips: [AudioClip] = []
                for url in inputs.urls {
                    if let raw {
                        clips.append(try await AudioClip(contentsOf: url, raw: raw, resamplingTo: io.sampleRate))
                    } else {
                        clips.append(try await AudioClip(contentsOf: url, resamplingTo: io.sampleRate))
                    }
                }
                let rate = io.sampleRate
                let lengths = clips.map { Int64($0.frameCount) }
                let total = mix ? lengths.max()! : lengths.reduce(0, +)
                let delay = try at.frames(atSampleRate: rate, name: "--at")
                let skip = try start.frames(atSampleRate: rate, name: "--start")
                let last = try TimelineLimit.sum(delay, total, name: "--at")
                guard last <= PlayspecEntry.maximumFrame else {
                    throw AMIOError.invalidArgument(name: "--at", reason: "\(at) puts the files' end beyond frame 2^60, "
                        + "the farthest a playspec entry plays (\(PlayspecEntry.maximumFrame / FramePosition(rate)) s at \(rate) Hz)")
                }
                guard skip < total else {
                    throw AMIOError.invalidArgument(name: "--start", reason: "\(start) is at or after the end of the files "
                        + "(\(formatTime(frames: total, rate: rate)))")
                }
                // Each file at its place in the sequence (or all at 0 mixed),
                // moved earlier by --start so that --at hears that point first.
                var offset: Int64 = 0
                var entries: [PlayspecEntry] = []
                for (clip, length) in zip(clips, lengths) {
                    let playAt = delay + offset - skip
                    entries += try Self.entries(for: clip, playAt: playAt, repeatInterval: loop ? total : 0,
                                                gain: Float(pow(10, gain / 20)), outputs: outputs, map: map)
                    if !mix { offset += length }
                }
                try io.setPlayspec(Playspec(entries))
                try io.setTransportRolling(true)
                logger.debug("playing \(files.joined(separator: ", ")) from frame \(skip) of \(total)")
                let status = StatusLine(enabled: !options.quiet)
                let end = try TimelineLimit.sum(delay, total - skip, name: "--at")
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let finished = try await untilInterrupted {
                    try await followPosition(of: io, until: loop ? nil : end) { position in
                        try watch.check(at: position)
                        status.show("playing \(formatTime(frames: position, rate: rate))"
                            + (loop ? " (looping)" : " / \(formatTime(frames: end, rate: rate))") + watch.summary)
                    }
                }
                status.finish((finished ? "played \(formatTime(frames: end, rate: rate))"
                    : "stopped at \(formatTime(frames: io.position, rate: rate))") + watch.summary)
                try io.setTransportRolling(false)
            }
        }
    }

    /// The entries that play `clip`: one (channel i to output i, mono to
    /// all) or, with a map, one per mapped channel with its gain on its output.
    static func entries(for clip: AudioClip, playAt: Int64, repeatInterval: Int64, gain: Float, outputs: Int,
                        map: [Int]) throws(AMIOError) -> [PlayspecEntry] {
        guard !map.isEmpty else {
            return [PlayspecEntry(clip: clip, playAt: playAt, repeatInterval: repeatInterval,
                                  gains: Array(repeating: gain, count: outputs))]
        }
        var entries: [PlayspecEntry] = []
        for (channel, output) in zip(0..<clip.channelCount, map) where output > 0 {
            let single = try AudioClip(channels: [clip.samples(channel: channel)], sampleRate: clip.sampleRate)
            var gains = [Float](repeating: 0, count: outputs)
            gains[output - 1] = gain
            entries.append(PlayspecEntry(clip: single, playAt: playAt, repeatInterval: repeatInterval, gains: gains))
        }
        return entries
    }
}
