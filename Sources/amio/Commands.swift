import AMIO
import ArgumentParser
import Foundation
import Logging

@main
struct AMIOTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amio",
        abstract: "Play, record, mix and render audio through JACK with SwiftAMIO.",
        discussion: """
            TIME is hh:mm:ss.frac, seconds, or frames with an s suffix (48000s).
            Exit codes: 0 success, 64 bad usage, 65 bad input file or session,
            69 no JACK server (or it went away), 74 I/O error.
            """,
        subcommands: [Ports.self, Play.self, Record.self, PlayRecord.self, Mix.self, Render.self, Meter.self])
}

// MARK: ports

struct Ports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List JACK ports with direction, type, latency and connections.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await perform(options) { logger in
            let ports = try await Connection.with(options, inputs: 0, outputs: 0, connectPhysical: false, logger: logger) { io in
                try io.ports()
            }
            let width = ports.map(\.name.count).max() ?? 0
            for port in ports {
                let direction = port.isInput ? "input " : "output"
                let kind = port.isPhysical ? "physical" : "client  "
                let latency = "capture \(port.captureLatency.lowerBound)..\(port.captureLatency.upperBound)"
                    + " playback \(port.playbackLatency.lowerBound)..\(port.playbackLatency.upperBound)"
                let arrow = port.isInput ? "<-" : "->"
                let links = port.connections.isEmpty ? "" : "  \(arrow) " + port.connections.joined(separator: ", ")
                print("\(port.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(direction)  \(kind)  \(port.type)  \(latency)\(links)")
            }
        }
    }
}

// MARK: play

struct Play: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Play audio files through a playspec.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The files to play, all at once.")
    var files: [String]

    @Option(help: "Gain in dB.")
    var gain: Double = 0

    @Flag(help: "Repeat until interrupted.")
    var loop = false

    @Option(help: "Where on the timeline the files start (TIME).", transform: parseTime)
    var at: AudioTime = .frames(0)

    @Option(parsing: .upToNextOption, help: "Ports to connect the outputs to, in order (default: the physical ones).")
    var to: [String] = []

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file to play") }
        guard gain.isFinite, gain <= maximumGainDecibels else {
            throw ValidationError("--gain \(gain) is not a number of dB up to +\(Int(maximumGainDecibels)) (a 32-bit float gain)")
        }
        try checkTime(at, name: "--at")
    }

    func run() async throws {
        try await perform(options) { logger in
            let firstFiles = try files.map { path throws(AMIOError) in try AudioFile(forReading: URL(fileURLWithPath: path)) }
            let outputs = max(1, firstFiles.map(\.channelCount).max() ?? 1)
            try await Connection.with(options, inputs: 0, outputs: outputs, connectPhysical: to.isEmpty,
                                                       logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                var clips: [AudioClip] = []
                for path in files { clips.append(try await AudioClip(contentsOf: URL(fileURLWithPath: path), resamplingTo: io.sampleRate)) }
                let longest = Int64(clips.map(\.frameCount).max()!)
                let start = try at.frames(atSampleRate: io.sampleRate, name: "--at")
                let linear = Float(pow(10, gain / 20))
                try io.setPlayspec(Playspec(clips.map {
                    PlayspecEntry(clip: $0, playAt: start, repeatInterval: loop ? longest : 0,
                                  gains: Array(repeating: linear, count: outputs))
                }))
                try io.setTransportRolling(true)
                logger.debug("playing \(files.joined(separator: ", ")) from frame \(start)")
                let status = StatusLine(enabled: !options.quiet)
                let end = try TimelineLimit.sum(start, longest, name: "--at")
                let rate = io.sampleRate
                let finished = try await untilInterrupted {
                    try await followPosition(of: io, until: loop ? nil : end) { position in
                        status.show("playing \(formatTime(frames: position, rate: rate))"
                            + (loop ? " (looping)" : " / \(formatTime(frames: end, rate: rate))"))
                    }
                }
                status.finish(finished ? "played \(formatTime(frames: end, rate: rate))" : "stopped at \(formatTime(frames: io.position, rate: rate))")
                try io.setTransportRolling(false)
            }
        }
    }
}

// MARK: record

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record the inputs to a file, with a level meter.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The file to write.")
    var output: String

    @Option(help: "How long to record (TIME); until interrupted if not given.", transform: parseTime)
    var duration: AudioTime?

    @Option(help: "Input channels.")
    var channels: Int = 2

    @Option(help: "wav, flac, aiff, caf, ogg, w64, rf64 (default: from the file name).")
    var format: String?

    @Option(help: "pcm16, pcm24, pcm32, float.")
    var encoding: String = "pcm24"

    @Option(parsing: .upToNextOption, help: "Ports to record from, in order (default: the physical ones).")
    var from: [String] = []

    func validate() throws {
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        if let duration {
            try checkTime(duration, name: "--duration")
            if duration == .seconds(0) || duration == .frames(0) { throw ValidationError("--duration must be longer than 0") }
        }
    }

    func run() async throws {
        let url = URL(fileURLWithPath: output)
        let format = try fileFormat(format, for: url)
        let encoding = try fileEncoding(encoding)
        if [.ogg, .mp3].contains(format) && !options.quiet {
            printError("amio: note: a \(format) take does not survive a killed recorder (its stream is readable only once "
                + "finished); record WAV, CAF or FLAC and encode afterwards when that matters")
        }
        try await perform(options) { logger in
            try await Connection.with(options, inputs: channels, outputs: 0, connectPhysical: from.isEmpty,
                                                       logger: logger) { io in
                for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                let rate = io.sampleRate
                let total = try duration.map { time throws(AMIOError) in
                    let frames = try time.frames(atSampleRate: rate, name: "--duration")
                    guard frames > 0 else {
                        throw AMIOError.invalidArgument(name: "--duration", reason: "\(time) is shorter than one frame at \(rate) Hz")
                    }
                    return frames
                }
                try io.setTransportRolling(false)
                try io.setPosition(0)
                let recording = try await io.record(to: url, format: format, encoding: encoding, from: 0, until: total)
                let meter = LevelMeter(channels: channels)
                let metering = Task { for try await chunk in io.inputChunks { meter.add(chunk) } }
                try io.setTransportRolling(true)
                let status = StatusLine(enabled: !options.quiet)
                _ = try await untilInterrupted {
                    while !Task.isCancelled {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        let levels = meter.reading().enumerated().map { channel, level in
                            "\(channel + 1) \(LevelMeter.bar(level.peak, width: 12)) \(formatLevel(level.peak))/\(formatLevel(level.rms)) dB"
                        }.joined(separator: "  ")
                        let written = Int64(recording.framesWritten)
                        status.show("recording \(formatTime(frames: written, rate: rate))"
                            + (total.map { " / \(formatTime(frames: $0, rate: rate))" } ?? "")
                            + "  \(written) frames  dropped \(recording.droppedFrames)  xruns \(io.xrunCount)  \(levels)")
                        // Reached --duration, or ended by itself: the server went away or a write failed.
                        if let total, written >= total { break }
                        if recording.isFinished { break }
                    }
                }
                let summary = await recording.stop()
                metering.cancel()
                status.finish("recorded \(summary.framesWritten) frames (\(formatTime(frames: Int64(summary.framesWritten), rate: rate)))"
                    + " to \(output), \(summary.droppedFrames) dropped, \(io.xrunCount) xruns")
                switch summary.ending {
                case let .writeFailed(error): throw error
                case let .serverShutdown(reason): throw AMIOError.serverShutdown(reason: reason)  // the take is kept
                case .reachedEnd, .stopped, .interfaceClosed: break
                }
            }
        }
    }
}

// MARK: playrec

struct PlayRecord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "playrec", abstract: "Play a file and record the inputs for the same span (measurement).")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The file to play.")
    var input: String

    @Argument(help: "The file to record into.")
    var output: String

    @Option(help: "pcm16, pcm24, pcm32, float.")
    var encoding: String = "float"

    @Option(parsing: .upToNextOption, help: "Ports to play to (default: the physical ones).")
    var to: [String] = []

    @Option(parsing: .upToNextOption, help: "Ports to record from (default: the physical ones).")
    var from: [String] = []

    func run() async throws {
        let encoding = try fileEncoding(encoding)
        let outputURL = URL(fileURLWithPath: output)
        try await perform(options) { logger in
            let channels = try AudioFile(forReading: URL(fileURLWithPath: input)).channelCount
            try await Connection.with(options, inputs: channels, outputs: channels,
                                                       connectPhysical: to.isEmpty && from.isEmpty, logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                let format = try fileFormat(nil, for: outputURL)
                // Ctrl-C cancels the take, which keeps what it recorded.
                let take = Task { () throws -> RecordingSummary in
                    try await io.playAndRecord(file: URL(fileURLWithPath: input), to: outputURL, format: format, encoding: encoding)
                }
                let interrupted = Task {
                    await Interrupt.wait()
                    take.cancel()
                }
                let summary = try await take.value
                interrupted.cancel()
                if !options.quiet {
                    let cut = summary.ending == .stopped ? " (interrupted)" : ""
                    printError("played \(input) and recorded \(summary.framesWritten) frames to \(output)\(cut), "
                        + "\(summary.droppedFrames) dropped (round trip \(io.latency.roundTrip) frames compensated)")
                }
            }
        }
    }
}

// MARK: mix

struct Mix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Play a session file in real time.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The session file (JSON).")
    var session: String

    @Option(help: "Where to start (TIME).", transform: parseTime)
    var start: AudioTime = .frames(0)

    @Option(parsing: .upToNextOption, help: "Loop between two times A B until interrupted.", transform: parseTime)
    var loop: [AudioTime] = []

    @Option(parsing: .upToNextOption, help: "Ports to connect the outputs to (default: the physical ones).")
    var to: [String] = []

    func validate() throws {
        guard loop.isEmpty || loop.count == 2 else { throw ValidationError("--loop takes two times, A and B") }
        try checkTime(start, name: "--start")
        for (time, name) in zip(loop, ["--loop A", "--loop B"]) { try checkTime(time, name: name) }
    }

    func run() async throws {
        try await perform(options) { logger in
            let session = try Session(contentsOf: URL(fileURLWithPath: self.session))
            try await Connection.with(options, inputs: 0, outputs: session.outputs,
                                                       connectPhysical: to.isEmpty, logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                let rate = io.sampleRate
                let (playspec, length) = try await session.playspec(sampleRate: rate)
                let loopFrames = try zip(loop, ["--loop A", "--loop B"]).map { time, name throws(AMIOError) in
                    try time.frames(atSampleRate: rate, name: name)
                }
                if loopFrames.count == 2, loopFrames[1] <= loopFrames[0] {
                    throw AMIOError.invalidArgument(name: "--loop", reason: "B must come after A")
                }
                try io.setPosition(try start.frames(atSampleRate: rate, name: "--start"))
                try io.setPlayspec(playspec)
                try io.setTransportRolling(true)
                let status = StatusLine(enabled: !options.quiet)
                let finished = try await untilInterrupted {
                    if loopFrames.count == 2 {
                        while !Task.isCancelled {
                            let jump = try io.schedulePlayspecChange(playspec, insertAt: loopFrames[1], startFrom: loopFrames[0])
                            guard case let .applied(frame) = try await jump.result else { return }
                            logger.debug("looped at frame \(frame)")
                        }
                    } else {
                        try await followPosition(of: io, until: length) { position in
                            status.show("mixing \(formatTime(frames: position, rate: rate)) / \(formatTime(frames: length, rate: rate))")
                        }
                    }
                }
                status.finish((finished ? "mixed to " : "stopped at ") + formatTime(frames: io.position, rate: rate))
                try io.setTransportRolling(false)
            }
        }
    }
}

// MARK: render

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bounce a session to a file with the offline driver, faster than real time.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The session file (JSON).")
    var session: String

    @Argument(help: "The file to write.")
    var output: String

    @Option(help: "Sample rate (default: the session's, else 48000).")
    var rate: Int?

    @Option(help: "wav, flac, aiff, caf, ogg, w64, rf64 (default: from the file name).")
    var format: String?

    @Option(help: "pcm16, pcm24, pcm32, float.")
    var encoding: String = "float"

    func validate() throws {
        if let rate, !(1...768_000).contains(rate) { throw ValidationError("--rate must be 1...768000") }
    }

    func run() async throws {
        let url = URL(fileURLWithPath: output)
        let format = try fileFormat(format, for: url)
        let encoding = try fileEncoding(encoding)
        try await perform(options) { logger in
            let session = try Session(contentsOf: URL(fileURLWithPath: self.session))
            let status = StatusLine(enabled: !options.quiet)
            let started = Date()
            // Streamed to the file a block at a time: memory does not grow with the length.
            let (frames, sampleRate) = try await session.render(to: url, format: format, encoding: encoding,
                                                                sampleRate: rate) { fraction in
                let filled = max(0, min(30, Int(fraction * 30)))
                status.show("rendering [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] \(Int(fraction * 100))%")
            }
            let seconds = Date().timeIntervalSince(started)
            let duration = Double(frames) / Double(sampleRate)
            status.finish(String(format: "rendered %@ (%@, %d Hz, %d channels) in %.2f s, %.0f× real time", output,
                                 formatTime(frames: Int64(frames), rate: sampleRate), sampleRate,
                                 session.outputs, seconds, duration / max(seconds, 1e-6)))
            logger.debug("rendered \(frames) frames")
        }
    }
}

// MARK: meter

struct Meter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show live input levels until interrupted.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Input channels.")
    var channels: Int = 2

    @Option(help: "Stop after this long (TIME).", transform: parseTime)
    var duration: AudioTime?

    @Option(parsing: .upToNextOption, help: "Ports to meter (default: the physical ones).")
    var from: [String] = []

    func validate() throws {
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        if let duration { try checkTime(duration, name: "--duration") }
    }

    func run() async throws {
        try await perform(options) { logger in
            try await Connection.with(options, inputs: channels, outputs: 0, connectPhysical: from.isEmpty,
                                                       logger: logger) { io in
                for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                let meter = LevelMeter(channels: channels)
                let terminal = isatty(STDOUT_FILENO) != 0
                let rate = io.sampleRate
                let deadline = try duration.map { time throws(AMIOError) in
                    Date().addingTimeInterval(Double(try time.frames(atSampleRate: rate, name: "--duration")) / Double(rate))
                }
                _ = try await untilInterrupted {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        // Ends with an error when the server goes away: amio then exits with 69.
                        group.addTask { for try await chunk in io.inputChunks { meter.add(chunk) } }
                        group.addTask {
                            while deadline.map({ Date() < $0 }) ?? true {
                                try await Task.sleep(nanoseconds: 100_000_000)
                                let line = meter.reading().enumerated().map { channel, level in
                                    "\(channel + 1) \(LevelMeter.bar(level.peak)) peak \(formatLevel(level.peak)) rms \(formatLevel(level.rms)) dB"
                                }.joined(separator: "   ")
                                if terminal { print("\r\u{1B}[K" + line, terminator: "") } else { print(line) }
                                FileHandle.standardOutput.synchronizeFile()
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                if terminal { print() }
            }
        }
    }
}
