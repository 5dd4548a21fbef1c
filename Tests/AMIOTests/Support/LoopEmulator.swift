@testable import AMIO
import Testing

/// Plays the part of a JACK server around an offline renderer: each cycle's
/// input is made from what the engine played, the way the server routes it.
/// With it, stalls, period changes and latency changes can be made exactly
/// where a test wants them, and each input channel can take its own path.
struct LoopEmulator {
    enum Path: Sendable, Hashable, CustomTestStringConvertible {
        /// The input of a cycle is the previous executed cycle's output, as
        /// jackd gives a client fed from its own outputs; in the first cycle
        /// after a period change the resized buffer holds none of it (jackd
        /// clears it; `stale` here, which must never be captured).
        case feedback
        /// The input at absolute frame A is what was played at A − frames
        /// (port latency); a frame that was never played (a stall) is silence.
        case delay(Int)
        /// A loop through another client that delays by this many frames of
        /// the cycles that ran (jack_latent_client's delay line), broken by
        /// the server with one cycle: the input of a cycle is the client's
        /// output of the previous cycle.
        case throughClient(Int)
        /// A device monitor, as PipeWire's sink: the input of a cycle is what
        /// the device received one server cycle (of this cycle's length)
        /// earlier; silence if the engine did not run then.
        case monitor

        /// The delay the JACK driver would publish for an input on this path.
        var delay: OfflineRenderer.InputDelayForTesting {
            switch self {
            case .feedback: .init(external: 0, feedbackCycles: 1)
            case let .delay(frames): .init(external: frames)
            case let .throughClient(frames): .init(external: frames, feedbackCycles: 1)
            case .monitor: .init(external: 0, periods: 1)
            }
        }

        var testDescription: String {
            switch self {
            case .feedback: "feedback"
            case let .delay(frames): "delay \(frames)"
            case let .throughClient(frames): "through a client of \(frames)"
            case .monitor: "monitor"
            }
        }
    }

    /// What an input channel carries along its path.
    enum Signal: Sendable, Hashable {
        /// What the engine's output `k` played.
        case output(Int)
        /// The server clock + 1 at which the frame it carries was played
        /// (0 for the silence before the first cycle): the oracle for
        /// "every played frame captured once or counted lost".
        case playedClock
    }

    struct Route: Sendable, Hashable {
        var path: Path
        var signal: Signal
    }

    /// A value no engine output produces: a resized buffer that must never be captured.
    static let stale: Float = -7

    let renderer: OfflineRenderer
    /// The route of each input channel; setting it does not tell the engine
    /// (a test calls ``publish(period:)`` when the driver would).
    var routes: [Route]
    private(set) var chunks: [InputAudioChunk] = []

    /// What each output played, by server clock − `base` (a flat array: a
    /// dictionary made the property tests ten times slower); nil where the
    /// engine did not run.
    private var played: [[Float]?] = []
    /// The server clock of `played[0]`: it moves down when the clock steps back.
    private var base: Int64
    /// The server clock of every frame the engine played, in the order the
    /// cycles ran (what a client on the loop sees: it knows nothing of stalls).
    private var executed: [Int64] = []
    private var previousCycle: (start: Int64, frames: Int)? = nil
    private(set) var clock: Int64

    /// Routes `renderer`'s outputs back to its inputs, one route per input
    /// channel, and publishes their delays as the JACK driver would. The
    /// server clock starts at `origin`.
    init(_ renderer: OfflineRenderer, routes: [Route], origin: Int64 = 0) {
        precondition(routes.count == renderer.inputChannels)
        self.renderer = renderer
        self.routes = routes
        base = origin
        clock = origin
        publish()
    }

    /// One input channel fed from output 0 along `path`.
    init(_ renderer: OfflineRenderer, path: Path) {
        self.init(renderer, routes: [Route(path: path, signal: .output(0))])
    }

    /// The path of every route (a test that moves them all at once).
    var path: Path {
        get { routes[0].path }
        set { for index in routes.indices { routes[index].path = newValue } }
    }

    /// Publishes the routes' delays, tagged with `period` (0: any period).
    func publish(period: Int = 0) {
        let delays = routes.map(\.path.delay)
        if Set(delays).count == 1, let delay = delays.first {
            renderer.publishLatencyForTesting(external: delay.external, feedbackCycles: delay.feedbackCycles,
                                              periods: delay.periods, period: period)
        } else {
            renderer.publishLatencyForTesting(channels: delays, period: period)
        }
    }

    /// What output `output` played at server clock `at`; nil if the engine did not run then.
    func played(output: Int, atClock at: Int64) -> Float? {
        let index = at - base
        guard index >= 0, index < Int64(played.count) else { return nil }
        return played[Int(index)]?[output]
    }

    private func value(of signal: Signal, atClock at: Int64) -> Float {
        switch signal {
        case let .output(k): played(output: k, atClock: at) ?? 0
        case .playedClock: Float(at + 1)
        }
    }

    /// One cycle of `frames`, after the server skipped `stall` frames (or
    /// stepped its clock back, when negative).
    mutating func cycle(_ frames: Int, stall: Int = 0) throws {
        clock += Int64(stall)
        var input = [[Float]](repeating: [Float](repeating: 0, count: frames), count: routes.count)
        for (channel, route) in routes.enumerated() {
            for i in 0..<frames { input[channel][i] = sample(i, of: frames, along: route) }
        }
        let output = try renderer.render(frames: frames, input: input, clockStep: Int32(stall))
        if clock < base {
            played = [[Float]?](repeating: nil, count: Int(base - clock)) + played
            base = clock
        }
        let first = Int(clock - base)
        if first + frames > played.count { played += [[Float]?](repeating: nil, count: first + frames - played.count) }
        for i in 0..<frames {
            played[first + i] = output.map { $0[i] }
            executed.append(clock + Int64(i))
        }
        previousCycle = (clock, frames)
        clock += Int64(frames)
        chunks += renderer.takeInputChunks()
    }

    private func sample(_ i: Int, of frames: Int, along route: Route) -> Float {
        switch route.path {
        case .feedback:
            guard let previousCycle else { return 0 } // before the first cycle: silence
            guard previousCycle.frames == frames else { return Self.stale }
            return value(of: route.signal, atClock: previousCycle.start + Int64(i))
        case let .delay(delay):
            return value(of: route.signal, atClock: clock + Int64(i) - Int64(delay))
        case .monitor:
            let at = clock + Int64(i) - Int64(frames)
            if case .output = route.signal, played(output: 0, atClock: at) == nil { return 0 }
            return value(of: route.signal, atClock: at)
        case let .throughClient(delay):
            // The client ran the previous cycle (as long as this one) on
            // what was played `delay` executed frames before it.
            let index = executed.count - frames - delay + i
            guard index >= 0, index < executed.count else { return 0 }
            return value(of: route.signal, atClock: executed[index])
        }
    }

    /// The chunks captured while the transport rolled.
    var rolling: [InputAudioChunk] { chunks.filter(\.wasTransportRolling) }
}

/// Every captured frame of a ramp (value = timeline frame + 1) carries its
/// own label, on every channel in `channels`; silence is allowed only where
/// `silenceAllowed` says.
func expectTrueLabels(_ chunks: [InputAudioChunk], channels: [Int] = [0], silenceAllowed: (Int64) -> Bool = { _ in false },
                      sourceLocation: SourceLocation = #_sourceLocation) {
    for chunk in chunks {
        for channel in channels {
            for (i, value) in chunk.samples(channel: channel).enumerated() {
                let frame = chunk.startingFrame + Int64(i)
                if value == 0 && silenceAllowed(frame) { continue }
                if value != Float(frame + 1) {
                    Issue.record("channel \(channel): frame \(frame) is labelled but holds \(value) (timeline frame \(Int64(value) - 1))",
                                 sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }
}
