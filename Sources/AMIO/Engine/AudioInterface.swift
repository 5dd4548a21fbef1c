import CAMIO
import Glibc
import Synchronization

/// A JACK client that plays playspecs and captures its inputs.
///
/// ```swift
/// let io = try await AudioInterface(clientName: "amio", inputChannels: 2, outputChannels: 2)
/// let change = try io.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
/// try io.setTransportRolling(true)
/// for try await chunk in io.inputChunks { … }
/// ```
///
/// Mixing happens in C on JACK's realtime thread. Every property is readable
/// from any thread without `await`; the methods never block on the realtime
/// thread. The transport starts stopped at frame 0.
public final class AudioInterface: Sendable {
    /// The client's name as JACK registered it.
    public let clientName: String
    /// Full names of the input ports, `client:in_1` …
    public let inputPortNames: [String]
    /// Full names of the output ports, `client:out_1` …
    public let outputPortNames: [String]
    /// The JACK server's name, `nil` for the default server.
    public let serverName: String?

    let session: JackSession
    private let bridge: BridgeThread
    private let callback = Mutex<CallbackState>(CallbackState())
    /// Whether the interface is closed; held for the whole of closing, so a
    /// `close()` that comes while another runs returns only once it is done.
    private let closeState = Mutex<Bool>(false)

    private struct CallbackState {
        var callback: (@Sendable (InputAudioChunk) -> Void)?
        var task: Task<Void, Never>?
    }

    /// Opens a JACK client, registers its ports and starts processing.
    ///
    /// The Swift form of AMIO's `await interface.init()`. Either the interface
    /// is fully running when this returns, or nothing is left open.
    ///
    /// - Parameters:
    ///   - clientName: The JACK client name; JACK may make it unique.
    ///   - serverName: The server to connect to; `nil` for the default one.
    ///   - inputChannels: Input ports `in_1…` (0…4096).
    ///   - outputChannels: Output ports `out_1…` (0…4096).
    ///   - connectPhysicalPorts: Connect `out_i` to the i-th physical playback
    ///     port and the i-th physical capture port to `in_i`.
    ///   - options: Queue sizes and limits.
    /// - Throws: ``AMIOError/serverUnavailable(server:status:message:)`` when
    ///   no server runs; ``AMIOError/clientStartFailed(message:)`` when the
    ///   client cannot register its ports or activate;
    ///   ``AMIOError/invalidArgument(name:reason:)`` for impossible settings.
    public init(clientName: String = "amio", serverName: String? = nil, inputChannels: Int = 2,
                outputChannels: Int = 2, connectPhysicalPorts: Bool = true,
                options: AudioInterfaceOptions = AudioInterfaceOptions()) async throws(AMIOError) {
        guard !clientName.isEmpty else { throw .invalidArgument(name: "clientName", reason: "it is empty") }
        guard options.consumerBufferLimit >= 1 else {
            throw .invalidArgument(name: "consumerBufferLimit", reason: "\(options.consumerBufferLimit) is below 1")
        }
        // jack_client_open and activation wait on the server (seconds, when
        // it is busy): that happens on a thread of its own, never on the
        // Swift concurrency pool.
        let opened = try await onOwnThread("amio-open") { () -> Result<Opened, AMIOError> in
            Result { () throws(AMIOError) in
                try Self.open(clientName: clientName, serverName: serverName, inputChannels: inputChannels,
                              outputChannels: outputChannels, connectPhysicalPorts: connectPhysicalPorts, options: options)
            }
        }.get()
        let session = opened.session
        self.serverName = serverName
        self.clientName = opened.clientName
        inputPortNames = opened.inputPortNames
        outputPortNames = opened.outputPortNames
        self.session = session
        bridge = BridgeThread(core: session.core, name: "amio-bridge") { session.bridgeWork() }
    }

    deinit {
        closeNow()
    }

    /// What `open(…)` made.
    private struct Opened: @unchecked Sendable {
        var session: JackSession
        var clientName: String
        var inputPortNames: [String]
        var outputPortNames: [String]
    }

    /// Opens, starts and connects the client, blocking; on failure nothing is left open.
    private static func open(clientName: String, serverName: String?, inputChannels: Int, outputChannels: Int,
                             connectPhysicalPorts: Bool, options: AudioInterfaceOptions) throws(AMIOError) -> Opened {
        let serverKey = try ServerRegistry.shared.acquire(serverName)
        var status: UInt32 = 0
        var message = [CChar](repeating: 0, count: 512)
        guard let jack = camio_jack_open(clientName, serverName, &status, &message, message.count) else {
            ServerRegistry.shared.release(serverKey)
            // Named as libjack looked for it: without a name, $JACK_DEFAULT_SERVER's.
            let looked = serverName ?? getenv("JACK_DEFAULT_SERVER").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            throw .serverUnavailable(server: looked, status: JACKStatus(rawValue: status),
                                     message: String(cBuffer: message))
        }
        let sampleRate = Int(camio_jack_sample_rate(jack))
        let core: EngineCore
        do {
            core = try EngineCore(
                inputChannels: inputChannels, outputChannels: outputChannels,
                changeCapacity: options.changeCapacity,
                inputRingFrames: options.inputRingFrames ?? sampleRate * 4,
                alignmentFrames: options.inputAlignmentFrames,
                maximumEntries: options.maximumPlayspecEntries,
                locksClips: options.locksClipMemory)
        } catch {
            camio_jack_destroy(jack)
            ServerRegistry.shared.release(serverKey)
            throw error
        }
        guard camio_jack_start(jack, core.engine, &message, message.count) == 0 else {
            camio_jack_destroy(jack)
            ServerRegistry.shared.release(serverKey)
            throw .clientStartFailed(message: String(cBuffer: message))
        }
        let session = JackSession(jack: jack, core: core, bufferLimit: options.consumerBufferLimit, serverKey: serverKey)
        let orders = camio_jack_graph_orders(jack)
        var newCables: UInt32 = 0
        if connectPhysicalPorts { _ = camio_jack_connect_physical(jack, &newCables) }
        // Measured once the server runs the new cables (see connect(_:to:)).
        if newCables > 0 { camio_jack_await_graph(jack, orders) }
        session.refreshLatency()
        return Opened(session: session, clientName: String(cString: camio_jack_client_name(jack)),
                      inputPortNames: (0..<inputChannels).map { String(cString: camio_jack_port_name(jack, true, UInt32($0))!) },
                      outputPortNames: (0..<outputChannels).map { String(cString: camio_jack_port_name(jack, false, UInt32($0))!) })
    }

    // MARK: State, readable from any thread

    // These read what the realtime thread and the JACK callbacks publish,
    // never the client itself: they take no lock, need none against
    // close(), and after it keep their last values.

    /// Frames per second of the server.
    public var sampleRate: Int { Int(camio_jack_sample_rate(session.jack)) }
    /// The server's period size in frames.
    public var periodFrames: FrameCount { Int(camio_jack_buffer_size(session.jack)) }

    /// The timeline frames `seconds` last at the server's ``sampleRate``,
    /// rounded to the nearest frame: times on the audio clock without a
    /// conversion in sight.
    ///
    /// ```swift
    /// let beat = try io.frames(forSeconds: 0.5)   // 120 bpm
    /// try await io.waitUntilPosition(reaches: io.position + io.frames(forSeconds: 2))
    /// ```
    ///
    /// - Parameter seconds: A finite time; negative for a distance back.
    /// - Returns: The frames, within the timeline's ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a time that
    ///   is not finite or does not fit the timeline (see ``TimelineLimit``).
    public func frames(forSeconds seconds: Double) throws(AMIOError) -> FramePosition {
        try TimelineLimit.frames(seconds: seconds, sampleRate: sampleRate, name: "seconds")
    }
    /// The timeline frame at the end of the last process cycle.
    public var position: FramePosition { session.core.position }
    /// Whether the timeline is moving.
    public var isTransportRolling: Bool { session.core.isRolling }
    /// The position, the transport and the playspec as one process cycle
    /// left them, read together: where ``position``, ``isTransportRolling``
    /// and ``currentPlayspecID`` read one after the other may each come from
    /// a different cycle.
    public var transportState: TransportState { session.core.transportState }
    /// The latency around the interface, and the round trip input chunks are
    /// compensated by: the last measurement, which reading does not wait for.
    public var latency: Latency { session.latency }

    /// Whether everything the realtime thread reads has been locked in RAM:
    /// the engine's buffers, every playspec scheduled so far, and (with
    /// ``AudioInterfaceOptions/locksClipMemory``) their clips (all but the
    /// pages a clip shares with other allocations).
    /// All of it is made resident before the realtime thread first touches
    /// it either way; false means RLIMIT_MEMLOCK (`ulimit -l`) was too small
    /// to also keep it from swap.
    public var isMemoryLocked: Bool { session.core.everythingLocked }
    /// Xruns since the interface opened: those the server reported or, when
    /// there are more, the stalls this client saw (``stallCount``).
    /// PipeWire's JACK reports no xruns, so there the count is the engine's own.
    public var xrunCount: Int { Int(session.xruns) }
    /// Stalls this client saw since the interface opened, whatever the server
    /// reported: runs of cycles that missed their deadline, each run counted
    /// once. A cycle missed it when the server's clock skipped cycles before
    /// it (not at a period change, where PipeWire skips one itself), it started
    /// more than a period late, or the cycle before it ended after it was due
    /// (so that one's output missed the server).
    public var stallCount: Int { Int(session.core.stalls) }
    /// The frames of input the capture ring holds, in chunks of the current
    /// period: how far the bridge thread may fall behind before input is lost
    /// (at least ``AudioInterfaceOptions/inputRingFrames``).
    public var inputRingCapacity: FrameCount { session.core.inputRingCapacity(period: periodFrames) }
    /// Input frames the engine lost (capture ring full, server stalls) since opening.
    public var droppedInputFrames: FrameCount { session.core.droppedInputFrames }
    /// The id of the playspec sounding at the end of the last process cycle.
    public var currentPlayspecID: UInt64 { camio_engine_playspec_id(session.core.engine) }

    // MARK: Playspecs and transport

    /// Schedules a playspec to take over at a frame of the current timeline.
    ///
    /// The change takes effect on exactly the output sample where the timeline
    /// reaches `insertAt`, even inside a period, and from there the timeline
    /// runs on from `startFrom`. If `insertAt` has already passed when the
    /// change reaches the realtime thread, it takes effect at once at position
    /// `startFrom + (now − insertAt)`. Changes take effect in the order they
    /// were scheduled.
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
    /// - Throws: ``AMIOError/invalidPlayspec(entry:reason:)`` (nothing queued,
    ///   the playing playspec untouched), ``AMIOError/changeQueueFull(capacity:)``,
    ///   ``AMIOError/closed`` or ``AMIOError/serverShutdown(reason:)``.
    @discardableResult
    public func schedulePlayspecChange(_ playspec: Playspec, insertAt: FramePosition, startFrom: FramePosition,
                                       supersedingPending: Bool = false,
                                       crossfade: Crossfade = .none) throws(AMIOError) -> PlayspecChange {
        try session.core.schedule(playspec, insertAt: insertAt, startFrom: startFrom, immediate: false,
                                  keepPosition: false, superseding: supersedingPending, crossfade: crossfade,
                                  sampleRate: sampleRate)
    }

    /// Replaces the playspec at the next cycle (after any change still
    /// pending), keeping the timeline position.
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
        try session.core.schedule(playspec, insertAt: 0, startFrom: 0, immediate: true, keepPosition: true,
                                  superseding: supersedingPending, crossfade: crossfade, sampleRate: sampleRate)
    }

    /// Changes the gains of some entries while they play, without a click:
    /// sets `gains` on the entries of `playspec` that `predicate` accepts and
    /// swaps it in (``setPlayspec(_:supersedingPending:crossfade:)``) with a
    /// short crossfade, 10 ms linear unless you give one. A linear crossfade
    /// between the same audio at two gains is a gain ramp.
    ///
    /// `playspec` is the caller's copy of what plays (as a DAW keeps its
    /// arrangement): it is updated only when the swap was queued, so the
    /// next change made from it (a loop jump) keeps the new gains. A change
    /// still pending (a loop jump scheduled from the old gains) would apply
    /// first and then be replaced: supersede it and schedule it again from
    /// the updated `playspec`.
    ///
    /// - Parameters:
    ///   - gains: One linear gain per output channel.
    ///   - predicate: Which entries get them.
    ///   - playspec: The playspec playing (or about to); updated in place.
    ///   - supersedingPending: Cancel every change still pending first.
    ///   - crossfade: The ramp; nil for 10 ms linear.
    /// - Returns: The change's handle, as ``setPlayspec(_:supersedingPending:crossfade:)``'s.
    /// - Throws: As ``setPlayspec(_:supersedingPending:crossfade:)``; `playspec` is then unchanged.
    @discardableResult
    public func setGains(_ gains: [Float], forEntriesMatching predicate: (PlayspecEntry) -> Bool,
                         in playspec: inout Playspec, supersedingPending: Bool = false,
                         crossfade: Crossfade? = nil) throws(AMIOError) -> PlayspecChange {
        try session.core.setGains(gains, forEntriesMatching: predicate, in: &playspec, superseding: supersedingPending,
                                  crossfade: crossfade, sampleRate: sampleRate)
    }

    /// Moves the timeline to `frame` at the start of the next cycle.
    ///
    /// The seek keeps its place in submission order: changes scheduled
    /// before it that are due by then are applied first, and it does not wait
    /// behind a change pending for a later frame. Pending changes are then
    /// re-evaluated against the new position: one whose `insertAt` lies
    /// before `frame` resolves as ``PlayspecChangeResult/skipped(seekTo:)``
    /// (a loop jump the play head was moved past is never fired late); the
    /// others stay pending.
    ///
    /// - Parameters:
    ///   - frame: The timeline frame to play next.
    ///   - crossfade: An exact jump (``Crossfade/none``) or a crossfade from
    ///     the timeline as it would have gone on (see ``Crossfade``).
    /// - Throws: ``AMIOError/changeQueueFull(capacity:)``, ``AMIOError/closed``
    ///   or ``AMIOError/serverShutdown(reason:)``.
    public func setPosition(_ frame: FramePosition, crossfade: Crossfade = .none) throws(AMIOError) {
        try session.core.setTransport(position: frame, rolling: nil, crossfade: crossfade)
    }

    /// Starts or stops the timeline at the start of the next cycle, in its
    /// place in submission order (as ``setPosition(_:crossfade:)``). While stopped the
    /// outputs are silent and the position does not move.
    ///
    /// - Parameter rolling: Whether the timeline moves.
    /// - Throws: As ``setPosition(_:crossfade:)``.
    public func setTransportRolling(_ rolling: Bool) throws(AMIOError) {
        try session.core.setTransport(position: nil, rolling: rolling)
    }

    /// Suspends until the timeline has reached `frame`: "play for two
    /// seconds" counted on the audio clock, exact however busy the machine.
    ///
    /// The position is checked every half period (a sleep, not a busy wait).
    /// While the transport is stopped the position does not move, so this
    /// waits until it is started and gets there; to wait so long at most,
    /// use ``waitUntilPosition(reaches:timeout:)``.
    ///
    /// - Parameter frame: The timeline frame to wait for.
    /// - Throws: ``AMIOError/serverShutdown(reason:)`` or ``AMIOError/closed``
    ///   when the interface goes away first (so a lost server never leaves a
    ///   caller waiting), ``AMIOError/cancelled`` as soon as the task is
    ///   cancelled (the transport is not touched).
    public func waitUntilPosition(reaches frame: FramePosition) async throws(AMIOError) {
        _ = try await waitUntilPosition(reaches: frame, deadline: nil)
    }

    /// Suspends until the timeline has reached `frame`, or `timeout` has
    /// passed, whichever comes first.
    ///
    /// - Parameters:
    ///   - frame: The timeline frame to wait for.
    ///   - timeout: How long to wait at most, on the wall clock.
    /// - Returns: Whether the timeline reached `frame`; false when the time ran out.
    /// - Throws: As ``waitUntilPosition(reaches:)``.
    public func waitUntilPosition(reaches frame: FramePosition, timeout: Duration) async throws(AMIOError) -> Bool {
        try await waitUntilPosition(reaches: frame, deadline: .now + timeout)
    }

    private func waitUntilPosition(reaches frame: FramePosition,
                                   deadline: ContinuousClock.Instant?) async throws(AMIOError) -> Bool {
        while position < frame {
            if let error = session.core.terminalError { throw error }
            let halfPeriod = Duration.seconds(Double(max(1, periodFrames)) / Double(2 * max(1, sampleRate)))
            var nap = max(halfPeriod, .microseconds(500))
            if let deadline {
                let left = deadline - .now
                guard left > .zero else { return false }
                nap = min(nap, left)
            }
            do { try await Task.sleep(for: nap) } catch { throw .cancelled }
        }
        return true
    }

    // MARK: Input

    /// Every captured chunk, for as many concurrent consumers as iterate it.
    ///
    /// Each `for try await` loop receives every chunk captured from when it
    /// starts. The sequence ends when the interface closes, and a loop ends
    /// when its task is cancelled; it throws
    /// ``AMIOError/serverShutdown(reason:)`` when the server goes away. It
    /// throws nothing but ``AMIOError`` (``BroadcastSequence/Failure``), so
    /// the error a `do throws(AMIOError)` block catches needs no cast.
    public var inputChunks: BroadcastSequence<InputAudioChunk> {
        BroadcastSequence(broadcaster: session.chunks, bufferLimit: session.bufferLimit)
    }

    /// The executor of the thread that delivers input: a task that prefers
    /// it runs on that thread, woken by the very wake that brought the
    /// chunk, with no thread of the concurrency pool to wake for it. For a
    /// consumer at the machine's limit (small periods, many interfaces):
    ///
    /// ```swift
    /// let meter = Task(executorPreference: io.inputExecutor) {
    ///     var peak: Float = 0
    ///     for try await chunk in io.inputChunks { peak = max(peak, chunk.samples.max() ?? 0) }
    ///     return peak
    /// }
    /// ```
    ///
    /// Code running there holds up the delivery of input, change results
    /// and events while it runs: keep it short, and never block in it (a
    /// wait for something this interface delivers would wait forever). Work
    /// that awaits another actor leaves the thread while it waits. A task
    /// that yields (`Task.yield()`) takes turns with the delivery: what it
    /// runs next comes after the next drain. After ``close()`` such tasks
    /// run on the global executor.
    public var inputExecutor: any TaskExecutor { bridge }

    /// The input chunks with a buffer of `bufferingChunks` for each consumer.
    ///
    /// - Parameter bufferingChunks: How far a consumer may fall behind before
    ///   it loses chunks (at least 1).
    /// - Returns: The sequence; each loop over it is a consumer of its own.
    public func inputChunks(bufferingChunks: Int) -> BroadcastSequence<InputAudioChunk> {
        BroadcastSequence(broadcaster: session.chunks, bufferLimit: max(1, bufferingChunks))
    }

    /// The input chunks in pieces of at least `minimumFrames` frames: less
    /// CPU for more lag.
    ///
    /// Consecutive chunks (captured one right after the other, no frame lost
    /// between, under one playspec and transport state) are joined into one
    /// until it holds `minimumFrames`; a chunk that does not continue the
    /// one before (a swap, a seek, a loss) sends what was held first, so a
    /// joined chunk keeps every promise of a captured one, and its
    /// ``InputAudioChunk/cycleFrameTime`` and ``InputAudioChunk/cycleTime``
    /// are those of its first frame. While every consumer takes input this
    /// way, the bridge thread is woken only once so many frames are waiting,
    /// not every period: at 256 frames a period, `minimumFrames: 4096`
    /// wakes it and the consumer 16 times less often. The price is lag: a
    /// frame reaches the consumer up to about twice `minimumFrames` after it
    /// was captured (here 170 ms at 48 kHz), since a piece that has not
    /// filled up when the bridge drains waits for its next wake. The chunks
    /// held when the interface closes are delivered before the sequence ends.
    ///
    /// - Parameters:
    ///   - minimumFrames: Frames per delivered chunk at least, up to 2^20 (0
    ///     or 1: each chunk as captured, as ``inputChunks``).
    ///   - bufferingChunks: How many delivered chunks a consumer may fall
    ///     behind before it loses some (at least 1); by default
    ///     ``AudioInterfaceOptions/consumerBufferLimit``.
    /// - Returns: The sequence; each loop over it is a consumer of its own.
    public func inputChunks(minimumFrames: FrameCount, bufferingChunks: Int? = nil) -> BroadcastSequence<InputAudioChunk> {
        BroadcastSequence(broadcaster: session.chunks, bufferLimit: max(1, bufferingChunks ?? session.bufferLimit),
                          minimumFrames: min(max(0, minimumFrames), 1 << 20))
    }

    /// Called with every captured chunk, off the realtime thread, in order.
    /// A slow callback loses only its own chunks (reported in
    /// ``InputAudioChunk/droppedFramesBefore``). Set `nil` to stop.
    public var inputChunkCallback: (@Sendable (InputAudioChunk) -> Void)? {
        get { callback.withLock { $0.callback } }
        set {
            let chunks = inputChunks
            let previous: Task<Void, Never>? = callback.withLock { state in
                let previous = state.task
                state.callback = newValue
                state.task = newValue.map { call in
                    Task.detached {
                        do { for try await chunk in chunks { call(chunk) } } catch {}
                    }
                }
                return previous
            }
            previous?.cancel()
        }
    }

    /// Xruns, server shutdown, period, rate and latency changes, input losses.
    ///
    /// It ends, without throwing, when the interface closes or the server
    /// goes away (right after the ``AudioInterfaceEvent/serverShutdown(reason:)``
    /// event); a loop also ends when its task is cancelled.
    public var events: BroadcastSequence<AudioInterfaceEvent> {
        BroadcastSequence(broadcaster: session.events, bufferLimit: session.bufferLimit)
    }

    // MARK: Ports

    /// Connects two JACK ports (either may belong to another client).
    ///
    /// Returns once the server runs its graph with the cable, a cycle or two
    /// after the request (waiting at most the longer of 4 periods and
    /// 100 ms): what you play from then on reaches the destination from its
    /// first frame. (jack2 takes a new order of execution only at the start
    /// of a later cycle; a player started in between would run before its
    /// new reader for one cycle, and the reader would miss that period.)
    ///
    /// Safe from any thread, also while ``close()`` runs: calls that use the
    /// JACK client run one at a time (jack2's client cannot carry two
    /// requests at once), and one that comes once closing has begun throws
    /// instead of using the client.
    ///
    /// - Parameters:
    ///   - source: An output port's full name, e.g. `amio:out_1`.
    ///   - destination: An input port's full name, e.g. `amio:in_1`.
    /// - Throws: ``AMIOError/connectionFailed(source:destination:code:)``,
    ///   ``AMIOError/closed`` or ``AMIOError/serverShutdown(reason:)``.
    public func connect(_ source: String, to destination: String) throws(AMIOError) {
        if let error = session.core.terminalError { throw error }
        let session = self.session
        try session.withOpenClient { jack throws(AMIOError) in
            // A new cable is waited for until the server runs it. Then,
            // whether JACK made it or not, the engine (which stopped labelling
            // input when a cable of ours began to change) gets a latency
            // measured now: a refused call changes nothing. Measured only
            // after the wait: jack2 tells its clients of a connection
            // asynchronously, and that notice, which stops the labelling
            // again, comes before the new order of execution does (one
            // socket, in order); measured before it, the take would lose
            // input until the bridge measured again, on a loaded machine
            // after the transport had started.
            let orders = camio_jack_graph_orders(jack)
            var made = false
            let code = camio_jack_connect(jack, source, destination, &made)
            if made { camio_jack_await_graph(jack, orders) }
            session.refreshLatencyWithOpenClient()
            guard code == 0 else { throw .connectionFailed(source: source, destination: destination, code: code) }
        }
    }

    /// Disconnects two JACK ports.
    ///
    /// Safe from any thread, also while ``close()`` runs (see ``connect(_:to:)``).
    ///
    /// - Parameters:
    ///   - source: An output port's full name.
    ///   - destination: An input port's full name.
    /// - Throws: As ``connect(_:to:)``.
    public func disconnect(_ source: String, from destination: String) throws(AMIOError) {
        if let error = session.core.terminalError { throw error }
        let session = self.session
        try session.withOpenClient { jack throws(AMIOError) in
            let orders = camio_jack_graph_orders(jack)  // as in connect
            let code = camio_jack_disconnect(jack, source, destination)
            if code == 0 { camio_jack_await_graph(jack, orders) }
            session.refreshLatencyWithOpenClient()
            guard code == 0 else { throw .connectionFailed(source: source, destination: destination, code: code) }
        }
    }

    /// Asks the server for a new period size; the engine follows from the next cycle.
    ///
    /// On PipeWire's JACK a client cannot set the period (the quantum): it
    /// follows the server's settings, e.g. `pw-metadata -n settings 0
    /// clock.force-quantum 256`, and the engine follows such a change as any
    /// other. This method then throws rather than do nothing.
    ///
    /// Safe from any thread, also while ``close()`` runs (see ``connect(_:to:)``).
    ///
    /// - Parameter frames: The new period (a power of two JACK accepts).
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when JACK refuses
    ///   or the server is PipeWire; ``AMIOError/closed`` or
    ///   ``AMIOError/serverShutdown(reason:)`` once the interface is closing
    ///   or the server has gone away.
    public func setPeriodFrames(_ frames: FrameCount) throws(AMIOError) {
        if let error = session.core.terminalError { throw error }
        let accepted = try session.withOpenClient { jack throws(AMIOError) in
            guard !camio_jack_is_pipewire() else {
                throw .invalidArgument(name: "periodFrames", reason: "PipeWire's JACK takes the period (quantum) from the "
                    + "server's settings, not from a client: pw-metadata -n settings 0 clock.force-quantum \(frames)")
            }
            return (1...Int(UInt32.max)).contains(frames) && camio_jack_set_buffer_size(jack, UInt32(frames)) == 0
        }
        guard accepted else {
            throw .invalidArgument(name: "periodFrames", reason: "JACK refused a period of \(frames) frames")
        }
    }

    // MARK: Closing

    /// Stops processing and closes the JACK client.
    ///
    /// Changes that have not taken effect resolve as
    /// ``PlayspecChangeResult/cancelled``; the input and event sequences end.
    /// What is guaranteed when it returns:
    /// - The client is closed: the realtime thread runs no more cycles, no
    ///   JACK callback for this interface is running or will run, and the
    ///   client has left the server (jackd removes its ports before it
    ///   answers; PipeWire tells other clients a moment later).
    /// - A call that uses the client (``connect(_:to:)``,
    ///   ``disconnect(_:from:)``, ``setPeriodFrames(_:)``, ``ports()``,
    ///   ``connectLoopback(_:)``) and was under way on another thread when it
    ///   began has finished first: closing waits for it, and it never sees a
    ///   closed client. Every such call, and every scheduling call, made once
    ///   closing has begun throws ``AMIOError/closed``, or
    ///   ``AMIOError/serverShutdown(reason:)`` when the server had gone away
    ///   before.
    /// - Calling it again, or from several tasks at once, is safe: each call
    ///   returns once the first has finished closing.
    /// - It works after the server went away (or was killed) as well.
    ///
    /// The state properties (``periodFrames``, ``sampleRate``, ``latency``,
    /// ``xrunCount``, ``position`` …) stay readable and keep their last values.
    public func close() async {
        // Deactivating and closing wait on the server and on the bridge
        // thread: on a thread of their own, not on the Swift concurrency pool.
        await onOwnThread("amio-close") { [self] in closeNow() }
    }

    private func closeNow() {
        closeState.withLock { closed in
            guard !closed else { return }
            // Scheduling calls are refused from here on …
            session.core.end(with: .closed)
            // … and, once the call under way has returned, every call that
            // uses the client; the process thread stops.
            session.deactivateClient()
            // The bridge's last drain may still refresh the latency: refused now.
            bridge.stop()
            session.closeClient()
            ServerRegistry.shared.release(session.serverKey)
            session.finish()
            callback.withLock { $0.task?.cancel() }
            closed = true
        }
    }

    /// The process thread's id, for the realtime allocation test.
    var processThreadID: UInt64 { camio_jack_process_thread(session.jack) }
    /// Test hook: makes the bridge thread sleep this long on every wake-up.
    func stallBridgeForTesting(microseconds: Int) { bridge.stall(microseconds: microseconds) }

    /// Test hook: how many times the bridge thread has woken.
    var bridgeWakesForTesting: Int { bridge.wakes }
    var bridgeThreadForTesting: UInt { bridge.threadID }
}

