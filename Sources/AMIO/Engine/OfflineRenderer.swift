import CAMIO
import Synchronization

/// The engine without JACK: renders the same output the JACK driver would
/// play, as fast as the CPU allows, clocked by the caller.
///
/// It is what deterministic tests and bounces use. Changes, seeks and the
/// transport behave exactly as on an ``AudioInterface``; the caller chooses the
/// period of every cycle, so any split of periods can be tried. Captured input
/// (the `input` given to ``render(frames:input:)``) comes back as
/// ``InputAudioChunk`` records from ``takeInputChunks()``.
public final class OfflineRenderer: Sendable {
    /// Frames per second the playspecs must be at.
    public let sampleRate: Int
    /// Input channels each cycle reads.
    public let inputChannels: Int
    /// Output channels each cycle writes.
    public let outputChannels: Int

    let core: EngineCore
    private let captured = Mutex<[InputAudioChunk]>([])
    /// Serialises cycles: the engine has one process thread at a time.
    private let cycle = Mutex<Void>(())

    /// The largest period one cycle may render.
    public static let maximumPeriod: FrameCount = 1 << 20
    /// The largest period of a cycle that captures input (a renderer with
    /// input channels): what the capture ring holds of one cycle with room
    /// to spare, so no cycle's input is lost to it.
    public static let maximumInputPeriod: FrameCount = 1 << 15

    /// Creates a renderer.
    ///
    /// - Parameters:
    ///   - sampleRate: Frames per second (at least 1).
    ///   - inputChannels: Channels of the input given to each cycle (0…4096).
    ///   - outputChannels: Channels rendered (0…4096).
    ///   - roundTripLatency: Frames by which captured input is taken to lag the
    ///     output, as the JACK driver's round trip; 0 when the input is
    ///     independent of the output.
    ///   - changeCapacity: Changes that may be outstanding at once.
    ///   - maximumPlayspecEntries: The most entries one playspec may have.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for impossible settings.
    public convenience init(sampleRate: Int = 48000, inputChannels: Int = 0, outputChannels: Int = 2,
                            roundTripLatency: FrameCount = 0, changeCapacity: Int = 256,
                            maximumPlayspecEntries: Int = 65536) throws(AMIOError) {
        try self.init(sampleRate: sampleRate, inputChannels: inputChannels, outputChannels: outputChannels,
                      roundTripLatency: roundTripLatency, changeCapacity: changeCapacity,
                      maximumPlayspecEntries: maximumPlayspecEntries, inputAlignmentFrames: nil)
    }

    /// The public initialiser, with the frames kept to align input channels
    /// of different delays (``AudioInterfaceOptions/inputAlignmentFrames``),
    /// for tests that publish such delays.
    init(sampleRate: Int = 48000, inputChannels: Int = 0, outputChannels: Int = 2,
         roundTripLatency: Int = 0, changeCapacity: Int = 256,
         maximumPlayspecEntries: Int = 65536, inputAlignmentFrames: Int?) throws(AMIOError) {
        guard sampleRate >= 1 else { throw .invalidArgument(name: "sampleRate", reason: "\(sampleRate) is below 1") }
        guard (0...Int(Int32.max)).contains(roundTripLatency) else {
            throw .invalidArgument(name: "roundTripLatency", reason: "\(roundTripLatency) is negative or too large")
        }
        core = try EngineCore(inputChannels: inputChannels, outputChannels: outputChannels,
                              changeCapacity: changeCapacity, inputRingFrames: 1 << 16,
                              alignmentFrames: inputAlignmentFrames,
                              maximumEntries: maximumPlayspecEntries)
        var latency = camio_latency(capture: 0, playback: UInt32(roundTripLatency), external: UInt32(roundTripLatency),
                                    feedback_cycles: 0, periods: 0, period: 0,
                                    epoch: camio_engine_latency_epoch(core.engine))
        camio_engine_set_latency(core.engine, &latency, nil)
        self.sampleRate = sampleRate
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
    }

    /// The timeline frames `seconds` last at ``sampleRate``, rounded to the
    /// nearest frame; see ``AudioInterface/frames(forSeconds:)``.
    ///
    /// - Parameter seconds: A finite time; negative for a distance back.
    /// - Returns: The frames, within the timeline's ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a time that
    ///   is not finite or does not fit the timeline.
    public func frames(forSeconds seconds: Double) throws(AMIOError) -> FramePosition {
        try TimelineLimit.frames(seconds: seconds, sampleRate: sampleRate, name: "seconds")
    }

    /// The timeline frame after the last rendered cycle.
    public var position: FramePosition { core.position }
    /// Whether the timeline moves.
    public var isTransportRolling: Bool { core.isRolling }

    /// Schedules a playspec change; see
    /// ``AudioInterface/schedulePlayspecChange(_:insertAt:startFrom:supersedingPending:crossfade:)``.
    ///
    /// - Parameters:
    ///   - playspec: The new playspec; validated before anything is queued.
    ///   - insertAt: Frame of the old timeline at which to switch.
    ///   - startFrom: Frame of the new timeline that plays at `insertAt`.
    ///   - supersedingPending: Cancel every change still pending (their
    ///     results become ``PlayspecChangeResult/superseded``).
    ///   - crossfade: How the old sound gives way: ``Crossfade/none`` (an
    ///     exact cut) or a crossfade of some frames, under which what played
    ///     before goes on, fading out, while the new plays from `insertAt` on.
    /// - Returns: A handle whose ``PlayspecChange/result`` tells when it applied.
    /// - Throws: ``AMIOError/invalidPlayspec(entry:reason:)`` or ``AMIOError/changeQueueFull(capacity:)``.
    @discardableResult
    public func schedulePlayspecChange(_ playspec: Playspec, insertAt: FramePosition, startFrom: FramePosition,
                                       supersedingPending: Bool = false,
                                       crossfade: Crossfade = .none) throws(AMIOError) -> PlayspecChange {
        try core.schedule(playspec, insertAt: insertAt, startFrom: startFrom, immediate: false,
                          keepPosition: false, superseding: supersedingPending, crossfade: crossfade,
                          sampleRate: sampleRate)
    }

    /// Replaces the playspec at the next cycle, keeping the position; see
    /// ``AudioInterface/setPlayspec(_:supersedingPending:crossfade:)``.
    ///
    /// - Parameters:
    ///   - playspec: The new playspec.
    ///   - supersedingPending: Cancel every change still pending first.
    ///   - crossfade: An exact cut (``Crossfade/none``) or a crossfade from
    ///     the playspec that played before (see ``Crossfade``).
    /// - Returns: A handle whose ``PlayspecChange/result`` tells when it applied.
    /// - Throws: As ``schedulePlayspecChange(_:insertAt:startFrom:supersedingPending:crossfade:)``.
    @discardableResult
    public func setPlayspec(_ playspec: Playspec, supersedingPending: Bool = false,
                            crossfade: Crossfade = .none) throws(AMIOError) -> PlayspecChange {
        try core.schedule(playspec, insertAt: 0, startFrom: 0, immediate: true, keepPosition: true,
                          superseding: supersedingPending, crossfade: crossfade, sampleRate: sampleRate)
    }

    /// Changes the gains of some entries without a click; see
    /// ``AudioInterface/setGains(_:forEntriesMatching:in:supersedingPending:crossfade:)``.
    ///
    /// - Parameters:
    ///   - gains: One linear gain per output channel.
    ///   - predicate: Which entries get them.
    ///   - playspec: The playspec playing (or about to); updated in place.
    ///   - supersedingPending: Cancel every change still pending first.
    ///   - crossfade: The ramp; nil for 10 ms linear.
    /// - Returns: The change's handle.
    /// - Throws: As ``setPlayspec(_:supersedingPending:crossfade:)``; `playspec` is then unchanged.
    @discardableResult
    public func setGains(_ gains: [Float], forEntriesMatching predicate: (PlayspecEntry) -> Bool,
                         in playspec: inout Playspec, supersedingPending: Bool = false,
                         crossfade: Crossfade? = nil) throws(AMIOError) -> PlayspecChange {
        try core.setGains(gains, forEntriesMatching: predicate, in: &playspec, superseding: supersedingPending,
                        crossfade: crossfade, sampleRate: sampleRate)
    }

    /// Moves the timeline at the start of the next cycle; see
    /// ``AudioInterface/setPosition(_:crossfade:)``.
    ///
    /// - Parameters:
    ///   - frame: The timeline frame to play next.
    ///   - crossfade: An exact jump (``Crossfade/none``) or a crossfade from
    ///     the timeline as it would have gone on (see ``Crossfade``).
    /// - Throws: ``AMIOError/changeQueueFull(capacity:)``.
    public func setPosition(_ frame: FramePosition, crossfade: Crossfade = .none) throws(AMIOError) {
        try core.setTransport(position: frame, rolling: nil, crossfade: crossfade)
    }

    /// Starts or stops the timeline at the start of the next cycle.
    ///
    /// - Parameter rolling: Whether the timeline moves.
    /// - Throws: ``AMIOError/changeQueueFull(capacity:)``.
    public func setTransportRolling(_ rolling: Bool) throws(AMIOError) {
        try core.setTransport(position: nil, rolling: rolling)
    }

    /// Runs one cycle of `frames` frames and returns the output, one array per channel.
    ///
    /// - Parameters:
    ///   - frames: The cycle's period, 1…``maximumPeriod`` (…``maximumInputPeriod``
    ///     for a renderer with input channels).
    ///   - input: One array of `frames` samples per input channel, or `nil` for silence.
    /// - Returns: One array of `frames` samples per output channel.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the sizes do not fit.
    public func render(frames: FrameCount, input: [[Float]]? = nil) throws(AMIOError) -> [[Float]] {
        var output = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        try render(frames: frames, input: input, into: &output, at: 0)
        return output
    }

    /// Runs cycles of the given periods back to back and returns the whole output.
    ///
    /// - Parameters:
    ///   - periods: The frames of each cycle.
    ///   - input: One array per input channel covering the sum of `periods`, or `nil`.
    /// - Returns: One array per output channel, of the sum of `periods` samples.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the sizes do not fit.
    public func render(periods: [FrameCount], input: [[Float]]? = nil) throws(AMIOError) -> [[Float]] {
        let total = periods.reduce(0, +)
        var output = [[Float]](repeating: [Float](repeating: 0, count: total), count: outputChannels)
        var offset = 0
        for period in periods {
            let slice = input.map { channels in channels.map { Array($0[offset..<min($0.count, offset + period)]) } }
            try render(frames: period, input: slice, into: &output, at: offset)
            offset += period
        }
        return output
    }

    /// Test hook: one cycle after the clock moved on by `clockStep` frames
    /// more than the last cycle's length (a stall), or back when negative.
    func render(frames: Int, input: [[Float]]?, clockStep: Int32) throws(AMIOError) -> [[Float]] {
        var output = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        try render(frames: frames, input: input, into: &output, at: 0, clockStep: clockStep)
        return output
    }

    /// Test hook: publishes a latency as the JACK driver would; the next
    /// cycle adopts it.
    func publishLatencyForTesting(external: Int, feedbackCycles: Int, periods: Int = 0, period: Int = 0) {
        var latency = camio_latency(capture: 0, playback: UInt32(external), external: UInt32(external),
                                    feedback_cycles: UInt32(feedbackCycles), periods: UInt32(periods),
                                    period: UInt32(period), epoch: camio_engine_latency_epoch(core.engine))
        camio_engine_set_latency(core.engine, &latency, nil)
    }

    /// One input channel's delay, for ``publishLatencyForTesting(channels:period:)``.
    struct InputDelayForTesting: Sendable, Hashable {
        var external: Int
        var feedbackCycles: Int = 0
        var periods: Int = 0
    }

    /// Test hook: publishes a delay per input channel, as the JACK driver
    /// does when the channels are fed by different paths.
    func publishLatencyForTesting(channels: [InputDelayForTesting], period: Int = 0) {
        precondition(channels.count == inputChannels)
        var delays = channels.map {
            camio_input_delay(external: UInt32($0.external), feedback_cycles: UInt32($0.feedbackCycles),
                              periods: UInt32($0.periods))
        }
        let longest = delays.max { a, b in
            var a = a, b = b
            return camio_input_delay_round_trip(&a, 1024) < camio_input_delay_round_trip(&b, 1024)
        } ?? camio_input_delay()
        var latency = camio_latency(capture: 0, playback: 0, external: longest.external,
                                    feedback_cycles: longest.feedback_cycles, periods: longest.periods,
                                    period: UInt32(period), epoch: camio_engine_latency_epoch(core.engine))
        camio_engine_set_latency(core.engine, &latency, &delays)
    }

    /// Input frames lost because their segments had left the engine's history.
    var unlabelledInputFrames: Int { Int(camio_engine_unlabelled_input_frames(core.engine)) }

    private func render(frames: Int, input: [[Float]]?, into output: inout [[Float]], at offset: Int,
                        clockStep: Int32 = 0) throws(AMIOError) {
        guard (1...Self.maximumPeriod).contains(frames) else {
            throw .invalidArgument(name: "frames", reason: "\(frames) is outside 1...\(Self.maximumPeriod)")
        }
        guard inputChannels == 0 || frames <= Self.maximumInputPeriod else {
            throw .invalidArgument(name: "frames", reason: "\(frames) is above \(Self.maximumInputPeriod), the largest "
                                       + "cycle whose input the renderer captures whole; split it into shorter cycles")
        }
        if let input {
            guard input.count == inputChannels, input.allSatisfy({ $0.count == frames }) else {
                throw .invalidArgument(name: "input", reason: "expected \(inputChannels) channels of \(frames) frames")
            }
        }
        let silence = [Float](repeating: 0, count: inputChannels > 0 && input == nil ? frames : 0)
        let inputs = input ?? [[Float]](repeating: silence, count: inputChannels)
        var block = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        cycle.withLock { _ in
            withPointers(inputs) { inputPointers in
                withMutablePointers(&block) { outputPointers in
                    camio_offline_render(core.engine, inputPointers, outputPointers, UInt32(frames), UInt32(sampleRate), clockStep)
                }
            }
            core.drainNotices()
            var chunks: [InputAudioChunk] = []
            core.drainChunks { chunks.append($0) }
            if !chunks.isEmpty { captured.withLock { $0.append(contentsOf: chunks) } }
        }
        for channel in 0..<outputChannels {
            output[channel].replaceSubrange(offset..<offset + frames, with: block[channel])
        }
    }

    /// Every input chunk captured since the last call, oldest first.
    ///
    /// - Returns: The chunks; the next call returns only newer ones.
    public func takeInputChunks() -> [InputAudioChunk] {
        captured.withLock { chunks in
            defer { chunks = [] }
            return chunks
        }
    }
}

/// Calls `body` with a C array of pointers to each array's storage (NULL if there are none).
func withPointers<R>(_ arrays: [[Float]], _ body: (UnsafePointer<UnsafePointer<Float>>?) -> R) -> R {
    guard !arrays.isEmpty else { return body(nil) }
    var pointers: [UnsafePointer<Float>] = []
    pointers.reserveCapacity(arrays.count)
    func recurse(_ index: Int) -> R {
        if index == arrays.count { return pointers.withUnsafeBufferPointer { body($0.baseAddress) } }
        return arrays[index].withUnsafeBufferPointer { buffer in
            pointers.append(buffer.baseAddress ?? UnsafePointer(bitPattern: 16)!)
            return recurse(index + 1)
        }
    }
    return recurse(0)
}

/// Calls `body` with a C array of mutable pointers to each array's storage (NULL if there are none).
func withMutablePointers<R>(_ arrays: inout [[Float]], _ body: (UnsafePointer<UnsafeMutablePointer<Float>>?) -> R) -> R {
    guard !arrays.isEmpty else { return body(nil) }
    let count = arrays.count
    return arrays.withUnsafeMutableBufferPointer { outer in
        var pointers: [UnsafeMutablePointer<Float>] = []
        pointers.reserveCapacity(count)
        func recurse(_ index: Int) -> R {
            if index == count { return pointers.withUnsafeBufferPointer { body($0.baseAddress) } }
            return outer[index].withUnsafeMutableBufferPointer { buffer in
                pointers.append(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!)
                return recurse(index + 1)
            }
        }
        return recurse(0)
    }
}
