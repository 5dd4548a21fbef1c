import AMIO
import ArgumentParser
import Foundation

struct Meter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show live input levels until interrupted, then the peak and RMS of the whole run.",
        discussion: """
            The live meter is a status line on standard error (on a terminal; none with -q); the \
            levels of the whole run are printed on standard output at the end, one line.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var xruns: XrunOptions

    @Option(name: .shortAndLong, help: "Input channels, 1...64.")
    var channels: Int = 2

    @Option(name: .shortAndLong, parsing: .unconditional, help: ArgumentHelp("Stop after this long (TIME).", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var duration: TimeArgument?

    @Option(parsing: .upToNextOption, help: "Ports to meter (default: the physical ones).")
    var from: [String] = []

    func validate() throws {
        guard (1...64).contains(channels) else { throw ValidationError("--channels must be 1...64") }
        try checkDuration(duration)
    }

    func run() async throws {
        try await perform(options) { logger in
            try await Connection.with(options, inputs: channels, outputs: 0, connectPhysical: from.isEmpty,
                                      logger: logger) { io in
                for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                let live = LevelMeter(channels: channels), whole = LevelMeter(channels: channels)
                let rate = io.sampleRate
                let total = try durationFrames(duration, rate: rate)
                let status = StatusLine(enabled: !options.quiet)
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let outcome = await untilInterruptedKeepingError {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        // Ends with an error when the server goes away: amio then exits with 69.
                        group.addTask {
                            var captured: Int64 = 0
                            for try await chunk in io.inputChunks {
                                // --duration counts the frames metered, so the whole-run levels cover exactly that.
                                let take = total.map { min(Int64(chunk.frameCount), $0 - captured) } ?? Int64(chunk.frameCount)
                                live.add(chunk, frames: Int(take))
                                whole.add(chunk, frames: Int(take))
                                captured += take
                                if let total, captured >= total { return }
                            }
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(nanoseconds: 100_000_000)
                                // The transport stands still while metering: the time is the frames metered.
                                try watch.check(at: whole.framesAdded)
                                status.show(Self.line(live.reading()) + watch.summary)
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                status.clear()
                StandardOutput.print(Self.line(whole.reading()))
                _ = try outcome.get()
            }
        }
    }

    static func line(_ levels: [(peak: Double, rms: Double)]) -> String {
        levels.enumerated().map { channel, level in
            "\(channel + 1) \(LevelMeter.bar(level.peak)) peak \(formatLevel(level.peak)) rms \(formatLevel(level.rms)) dB"
        }.joined(separator: "   ")
    }
}
