import AMIO
import ArgumentParser
import Foundation

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record the inputs to a file, with a level meter.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var xruns: XrunOptions

    @Argument(help: "The file to write; - writes standard output (wav unless --type says otherwise).")
    var output: String

    @Option(name: .shortAndLong, parsing: .unconditional,
            help: ArgumentHelp("How long to record (TIME); until interrupted if not given.", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var duration: TimeArgument?

    @Option(name: .shortAndLong, help: "Input channels, 1...64.")
    var channels: Int = 2

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "The take's sample rate, as sox's -r; it must be the server's, which JACK records at (default: the server's).",
        valueName: "rate"), transform: RateArgument.parse)
    var rate: Int?

    @Option(name: [.customShort("t"), .long, .customLong("format")], help: FileType.typeHelp)
    var type: String?

    @Option(name: .shortAndLong, help: FileType.encodingHelp(defaultEncoding: .pcm24))
    var encoding: String?

    @Option(name: [.customShort("b"), .long], parsing: .unconditional, help: FileType.bitsHelp)
    var bits: Int?

    @Option(parsing: .upToNextOption, help: "Ports to record from, in order (default: the physical ones).")
    var from: [String] = []

    func validate() throws {
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        if let rate { guard (1...768_000).contains(rate) else { throw ValidationError("--rate must be 1...768000") } }
        try checkDuration(duration)
    }

    func run() async throws {
        let fileType = try FileType.forWriting(output, type: type)
        let encoding = try fileType.encoding(self.encoding, bits: bits, commandDefault: .pcm24)
        let url = OutputFile.url(output)
        if fileType.format == .ogg || fileType.format == .mp3, output != "-", !options.quiet {
            printError("amio: note: \(fileType.name) takes do not survive a killed recorder (their stream is readable only once "
                + "finished); record WAV, CAF or FLAC and encode afterwards when that matters")
        }
        try await perform(options) { logger in
            try await Connection.with(options, inputs: channels, outputs: 0, connectPhysical: from.isEmpty,
                                      logger: logger) { io in
                for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                let rate = io.sampleRate
                if let asked = self.rate, asked != rate {
                    throw AMIOError.invalidArgument(name: "--rate", reason: "\(asked) Hz is not the JACK server's rate, \(rate) Hz, "
                        + "which amio records at: leave -r out, or convert the take afterwards (sox take.wav -r \(asked) converted.wav)")
                }
                let total = try durationFrames(duration, rate: rate)
                try io.setTransportRolling(false)
                try io.setPosition(0)
                let recording = try await io.record(to: url, format: fileType.format, encoding: encoding, from: 0, until: total)
                let meter = LevelMeter(channels: channels)
                let metering = Task { for try await chunk in io.inputChunks { meter.add(chunk) } }
                try io.setTransportRolling(true)
                let status = StatusLine(enabled: !options.quiet)
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let outcome = await untilInterruptedKeepingError {
                    while !Task.isCancelled {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        let written = Int64(recording.framesWritten)
                        try watch.check(at: written)
                        let levels = meter.reading().enumerated().map { channel, level in
                            "\(channel + 1) \(LevelMeter.bar(level.peak, width: 12)) \(formatLevel(level.peak))/\(formatLevel(level.rms)) dB"
                        }.joined(separator: "  ")
                        status.show("recording \(formatTime(frames: written, rate: rate))"
                            + (total.map { " / \(formatTime(frames: $0, rate: rate))" } ?? "")
                            + "  \(written) frames  dropped \(recording.droppedFrames)" + watch.summary + "  \(levels)")
                        // Reached --duration, or ended by itself: the server went away or a write failed.
                        if let total, written >= total { break }
                        if recording.isFinished { break }
                    }
                }
                // However it ended (a fatal xrun included), the take is finalised and kept.
                let summary = await recording.stop()
                metering.cancel()
                status.finish("recorded \(summary.framesWritten) frames (\(formatTime(frames: Int64(summary.framesWritten), rate: rate)))"
                    + " to \(output), \(summary.droppedFrames) dropped, \(watch.count) xruns")
                switch summary.ending {
                case let .writeFailed(error): throw error
                case let .serverShutdown(reason): throw AMIOError.serverShutdown(reason: reason)  // the take is kept
                case .reachedEnd, .stopped, .interfaceClosed: break
                }
                _ = try outcome.get()
            }
        }
    }
}
