import AMIO
import ArgumentParser
import Foundation

struct Mix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Play a session file in real time.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var xruns: XrunOptions

    @Argument(help: "The session file (JSON).")
    var session: String

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Where to start (TIME; frames count at the session's sampleRate, as in the session).", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var start: TimeArgument = .zero

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Loop between two times A B until interrupted.", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var loop: [TimeArgument] = []

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Crossfade the loop's jump back over TIME (default: the session's loop crossfade, else an exact jump).", valueName: "time"),
            transform: TimeArgument.init(parsing:))
    var crossfade: TimeArgument?

    @Option(help: ArgumentHelp("The crossfade's curve: \(FadeShapeArgument.names) (default: the session's, else equalPower).",
                               valueName: "shape"),
            transform: FadeShapeArgument.parse)
    var crossfadeShape: FadeShape?

    @Option(parsing: .upToNextOption, help: "Ports to connect the outputs to (default: the physical ones).")
    var to: [String] = []

    func validate() throws {
        guard loop.isEmpty || loop.count == 2 else { throw ValidationError("--loop takes two times, A and B") }
        try checkTime(start, name: "--start")
        for (time, name) in zip(loop, ["--loop A", "--loop B"]) { try checkTime(time, name: name) }
        if let crossfade { try checkTime(crossfade, name: "--crossfade") }
        guard loop.count == 2 || (crossfade == nil && crossfadeShape == nil) else {
            throw ValidationError("--crossfade and --crossfade-shape are for the loop's jump: give --loop A B too")
        }
    }

    /// The loop's crossfade at `rate`: the options', else the session's; checked to end before the next jump.
    func loopCrossfade(of session: Session, rate: Int, frameRate: Int, loopLength: Int64) throws(AMIOError) -> Crossfade {
        var fade = try session.loopCrossfade(sampleRate: rate)
        if let crossfade {
            let frames = try crossfade.frames(atSampleRate: rate, countingFramesAt: frameRate, name: "--crossfade")
            if let reason = Crossfade.excessReason(crossfade.description, frames: frames, sampleRate: rate) {
                throw AMIOError.invalidArgument(name: "--crossfade", reason: reason)
            }
            fade.frames = Int(frames)
        }
        if let crossfadeShape { fade.shape = crossfadeShape }
        // The tail of one jump must end before the next: a jump during a crossfade cuts it.
        guard Int64(fade.frames) <= loopLength else {
            if let crossfade {
                throw AMIOError.invalidArgument(name: "--crossfade", reason: "\(crossfade) is \(fade.frames) frames, longer than "
                    + "the loop: A to B is \(loopLength) frames")
            }
            throw AMIOError.invalidArgument(name: "--loop", reason: "A to B is \(loopLength) frames, shorter than the session's "
                + "loop crossfade of \(fade.frames) frames; give a shorter --crossfade")
        }
        return fade
    }

    func run() async throws {
        try await perform(options) { logger in
            let session = try Session(contentsOf: URL(fileURLWithPath: self.session))
            try await Connection.with(options, inputs: 0, outputs: session.outputs,
                                      connectPhysical: to.isEmpty, logger: logger) { io in
                for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                let rate = io.sampleRate
                // Sound first: the clips play while they convert.
                let (playspec, length, loads) = try await session.streamingPlayspec(sampleRate: rate)
                defer { for load in loads.values { load.cancel() } }
                /// A load that failed ends the mix with its error.
                @Sendable func checkLoads() throws {
                    if let error = loads.values.lazy.compactMap(\.error).first { throw error }
                }
                // Frames count at the session's rate, as its own times do.
                let frameRate = session.sampleRate ?? rate
                let loopFrames = try zip(loop, ["--loop A", "--loop B"]).map { time, name throws(AMIOError) in
                    try time.frames(atSampleRate: rate, countingFramesAt: frameRate, name: name)
                }
                if loopFrames.count == 2, loopFrames[1] <= loopFrames[0] {
                    throw AMIOError.invalidArgument(name: "--loop", reason: "B must come after A")
                }
                // Each jump is scheduled once the last has applied, a period or
                // two later: a loop shorter than that would play past B.
                let shortest = 4 * FramePosition(io.periodFrames)
                if loopFrames.count == 2, loopFrames[1] - loopFrames[0] < shortest {
                    throw AMIOError.invalidArgument(name: "--loop", reason: "A to B is \(loopFrames[1] - loopFrames[0]) frames; a loop "
                        + "is at least 4 periods (\(shortest) frames at this server's \(io.periodFrames)-frame period)")
                }
                let fade = loopFrames.count == 2
                    ? try loopCrossfade(of: session, rate: rate, frameRate: frameRate, loopLength: loopFrames[1] - loopFrames[0])
                    : Crossfade.none
                let startFrame = try start.frames(atSampleRate: rate, countingFramesAt: frameRate, name: "--start")
                guard loopFrames.count == 2 || startFrame < length else {
                    throw AMIOError.invalidArgument(name: "--start", reason: "\(start) is at or after the session's end "
                        + "(\(formatTime(frames: length, rate: rate)))")
                }
                // What the first second reads (from --start, and after a jump back to A) is converted first.
                let clipLoads = Array(loads.values)
                try await AudioClipLoad.waitUntilReady(clipLoads, toPlay: playspec, from: startFrame, for: rate)
                if loopFrames.count == 2 {
                    try await AudioClipLoad.waitUntilReady(clipLoads, toPlay: playspec, from: loopFrames[0], for: rate)
                }
                try io.setPosition(startFrame)
                try io.setPlayspec(playspec)
                try io.setTransportRolling(true)
                let status = StatusLine(enabled: !options.quiet)
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let finished = try await untilInterrupted {
                    if loopFrames.count == 2 {
                        let (a, b) = (loopFrames[0], loopFrames[1])
                        let passes = Counter()
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            // The jumps, scheduled one at a time, each once the last has applied;
                            // this ends when one does not (the server went away).
                            group.addTask {
                                while !Task.isCancelled {
                                    let jump = try io.schedulePlayspecChange(playspec, insertAt: b, startFrom: a, crossfade: fade)
                                    guard case let .applied(frame) = try await jump.result else { return }
                                    passes.increment()
                                    logger.debug("looped at frame \(frame)")
                                }
                            }
                            // The status, by the wall clock: the position goes back at every jump.
                            group.addTask {
                                while true {
                                    try await Task.sleep(nanoseconds: 100_000_000)
                                    let position = io.position
                                    try watch.check(at: position)
                                    try checkLoads()
                                    status.show("looping \(formatTime(frames: a, rate: rate))–\(formatTime(frames: b, rate: rate)): "
                                        + "\(formatTime(frames: position, rate: rate)), pass \(passes.value + 1)" + watch.summary)
                                }
                            }
                            try await group.next()
                            group.cancelAll()
                        }
                    } else {
                        try await followPosition(of: io, until: length) { position in
                            try watch.check(at: position)
                            try checkLoads()
                            status.show("mixing \(formatTime(frames: position, rate: rate)) / \(formatTime(frames: length, rate: rate))"
                                + watch.summary)
                        }
                    }
                }
                status.finish((finished ? "mixed to " : "stopped at ") + formatTime(frames: io.position, rate: rate) + watch.summary)
                try io.setTransportRolling(false)
                for (name, load) in loads.sorted(by: { $0.key < $1.key }) where load.starvedFrames > 0 {
                    printError("amio: \(load.starvedFrames) frames of clip \(name) played as silence: they were not converted in time")
                }
            }
        }
    }
}
