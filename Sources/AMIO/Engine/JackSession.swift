import CAMIO
import Synchronization

/// Everything the bridge thread works on, kept apart from ``AudioInterface``
/// so the thread does not keep the interface alive.
final class JackSession: @unchecked Sendable {
    /// `camio_jack *`; valid until deinit.
    let jack: OpaquePointer
    let core: EngineCore
    let bufferLimit: Int
    /// The server this session holds in the ``ServerRegistry``.
    let serverKey: String
    let chunks: Broadcaster<InputAudioChunk>
    let events = Broadcaster<AudioInterfaceEvent>()

    /// What the bridge has reported so far; touched by the bridge thread and,
    /// for latency, by control calls.
    private struct Seen {
        var xruns: UInt64 = 0
        var bufferSize: UInt32
        var sampleRate: UInt32
        var graphGeneration: UInt64 = 0
        var latency: Latency? = nil
        var dropped: Int = 0
        var shutDown = false
    }

    private let seen: Mutex<Seen>

    /// Xruns so far: those the server reported or, when more, the stalls the
    /// engine saw (PipeWire's JACK reports none: without them its stalls
    /// would go uncounted). On jackd one stall is usually both, so the
    /// larger count, not the sum.
    var xruns: UInt64 { max(camio_jack_xruns(jack), core.stalls) }

    init(jack: OpaquePointer, core: EngineCore, bufferLimit: Int, serverKey: String) {
        self.jack = jack
        self.serverKey = serverKey
        self.core = core
        self.bufferLimit = bufferLimit
        // The bridge wakes for input as often as its most eager consumer needs.
        chunks = Broadcaster(account: InputAudioChunk.dropAccounting, weight: InputAudioChunk.dropWeight,
                             coalescing: InputAudioChunk.coalescing,
                             demandChanged: { [core] frames in core.setWakeFrames(frames) }, singleProducer: true)
        seen = Mutex(Seen(bufferSize: camio_jack_buffer_size(jack), sampleRate: camio_jack_sample_rate(jack)))
    }

    deinit {
        camio_jack_destroy(jack)
    }

    /// The latency last published to the engine; the process thread labels
    /// input with it from the start of its next cycle.
    var latency: Latency {
        published.withLock { $0 }.latency(period: camio_jack_buffer_size(jack))
    }

    /// What the last refresh published, with each own port's latency range.
    private struct Published: Sendable {
        var engine = camio_latency()
        var delays: [camio_input_delay] = []
        var inputs: [ClosedRange<Int>] = []
        var outputs: [ClosedRange<Int>] = []

        func latency(period: UInt32) -> Latency {
            Latency(engine, delays: delays, period: period, inputs: inputs, outputs: outputs)
        }
    }

    /// The last publication.
    private let published = Mutex(Published())

    /// Whether the last latency measured describes the graph as it is: no
    /// cable of ours has changed since (else the engine captures nothing
    /// until the next measurement).
    var measuredLatencyIsCurrent: Bool {
        published.withLock { $0.engine.epoch } == camio_engine_latency_epoch(core.engine)
    }

    /// Where the JACK client is in its life.
    private enum ClientState {
        /// Control calls may use it.
        case open
        /// Deactivated on the way to closing: every control call is refused,
        /// the client still exists (the bridge is being stopped).
        case deactivated
        /// Closed; `camio_jack_destroy` frees the rest in deinit.
        case closed
    }

    /// The client's state, and the lock every control call that talks to the
    /// server holds (``withOpenClient(_:)``), as do deactivation and closing.
    ///
    /// So a call under way finishes before the client is deactivated, and a
    /// call that comes later finds it no longer open and throws: none uses a
    /// client that `close()`, on another thread, is closing or has closed.
    /// It is one lock, not a reader lock: jack2's client sends every request
    /// down one socket with no lock of its own, so two threads' requests must
    /// not overlap either. It also serialises the latency refreshes (from the
    /// bridge thread and from `connect`/`disconnect` callers): the engine's
    /// latency has one writer.
    private let client = Mutex(ClientState.open)

    /// Runs `body` with the open client, after any other call using it has
    /// returned.
    ///
    /// - Throws: The interface's terminal error (``AMIOError/serverShutdown(reason:)``
    ///   when the server went away first), else ``AMIOError/closed``, once
    ///   closing has begun; or what `body` throws.
    func withOpenClient<T: Sendable>(_ body: (OpaquePointer) throws(AMIOError) -> T) throws(AMIOError) -> T {
        try client.withLock { (state: inout ClientState) throws(AMIOError) -> T in
            guard state == .open else { throw core.terminalError ?? .closed }
            return try body(jack)
        }
    }

    /// Refuses every later control call, waits for the one under way, and
    /// deactivates the client: when it returns, the process thread no longer
    /// runs the engine.
    func deactivateClient() {
        client.withLock { state in
            guard state == .open else { return }
            state = .deactivated
            camio_jack_deactivate(jack)
        }
    }

    /// Closes the client (refusing later calls, after the one under way, if
    /// ``deactivateClient()`` has not already). When it returns no JACK
    /// callback is running or will run for this client.
    func closeClient() {
        client.withLock { state in
            guard state != .closed else { return }
            state = .closed
            camio_jack_close(jack)
        }
    }

    /// Reads the ports' latency and feedback paths from JACK into the engine.
    func refreshLatency() {
        _ = try? withOpenClient { _ throws(AMIOError) in refreshLatencyWithOpenClient() }
    }

    /// ``refreshLatency()`` for a caller that holds the open client (which
    /// makes it the only refresh under way).
    func refreshLatencyWithOpenClient() {
        guard !camio_jack_is_shut_down(jack) else { return }
        var measured = Published()
        var engine = camio_latency()
        var delays = [camio_input_delay](repeating: camio_input_delay(), count: core.inputChannels)
        delays.withUnsafeMutableBufferPointer { delays in
            camio_jack_refresh_latency(jack, &engine, delays.baseAddress)
        }
        measured.engine = engine
        measured.delays = delays
        measured.inputs = (0..<core.inputChannels).map { portLatency(input: true, index: $0) }
        measured.outputs = (0..<core.outputChannels).map { portLatency(input: false, index: $0) }
        published.withLock { $0 = measured }
        let latency = measured.latency(period: camio_jack_buffer_size(jack))
        let (changed, first) = seen.withLock { seen in
            defer { seen.latency = latency }
            return (seen.latency != nil && seen.latency != latency, seen.latency == nil)
        }
        if changed { events.broadcast(.latencyChanged(latency)) }
        // Inputs of different delays are aligned through rings that must hold
        // the spread of their round trips and the period on top.
        let alignment = Int(camio_engine_alignment_frames(core.engine))
        let differ = delays.contains {
            $0.external != delays[0].external || $0.feedback_cycles != delays[0].feedback_cycles || $0.periods != delays[0].periods
        }
        if changed || first, differ, let low = latency.inputRoundTrips.min(), let high = latency.inputRoundTrips.max() {
            let skew = high - low + Int(camio_jack_buffer_size(jack))
            if skew > alignment { events.broadcast(.inputsBeyondAlignment(skew: skew, alignmentFrames: alignment)) }
        }
    }

    /// The capture range of input port `index`, or the playback range of output port `index`.
    private func portLatency(input: Bool, index: Int) -> ClosedRange<Int> {
        var low: UInt32 = 0, high: UInt32 = 0
        guard camio_jack_own_port_latency(jack, input, UInt32(index), &low, &high) else { return 0...0 }
        return Int(low)...Int(max(low, high))
    }

    /// One wake-up of the bridge thread.
    func bridgeWork() {
        core.drainNotices()
        core.drainChunks { chunks.broadcast($0) }

        let xruns = self.xruns
        let bufferSize = camio_jack_buffer_size(jack)
        let sampleRate = camio_jack_sample_rate(jack)
        let generation = camio_jack_graph_generation(jack)
        let dropped = core.droppedInputFrames
        let shutDown = camio_jack_is_shut_down(jack)
        var pending: [AudioInterfaceEvent] = []
        let graphChanged = seen.withLock { seen in
            if xruns != seen.xruns { pending.append(.xrun(total: Int(xruns))) }
            if bufferSize != seen.bufferSize { pending.append(.periodSizeChanged(frames: Int(bufferSize))) }
            if sampleRate != seen.sampleRate { pending.append(.sampleRateChanged(rate: Int(sampleRate))) }
            if dropped != seen.dropped { pending.append(.inputFramesDropped(total: dropped)) }
            let graphChanged = generation != seen.graphGeneration || bufferSize != seen.bufferSize
            seen.xruns = xruns
            seen.bufferSize = bufferSize
            seen.sampleRate = sampleRate
            seen.dropped = dropped
            seen.graphGeneration = generation
            return graphChanged
        }
        for event in pending { events.broadcast(event) }
        if graphChanged { refreshLatency() }

        if shutDown {
            let first = seen.withLock { seen in
                defer { seen.shutDown = true }
                return !seen.shutDown
            }
            if first { serverWentAway() }
        }
    }

    private func serverWentAway() {
        var buffer = [CChar](repeating: 0, count: 512)
        camio_jack_shutdown_reason(jack, &buffer, buffer.count)
        let reason = String(cBuffer: buffer)
        let error = AMIOError.serverShutdown(reason: reason)
        guard core.end(with: error) else { return }
        // The realtime thread will not run again, but JACK still owns the
        // client: playspec memory is freed only when the interface closes.
        core.cancelOutstanding(freeingPlayspecs: false)
        events.broadcast(.serverShutdown(reason: reason))
        chunks.finish(throwing: error)
        events.finish()
    }

    /// After the process thread and the bridge have stopped for good.
    func finish() {
        core.cancelOutstanding(freeingPlayspecs: true)
        chunks.finish(throwing: core.terminalError.flatMap { $0 == .closed ? nil : $0 })
        events.finish()
    }
}
