import CAMIO
import Synchronization

/// The control side of one C engine, shared by the JACK interface and the
/// offline renderer: it compiles and queues changes (the single producer of the
/// change queue), resolves them from the engine's notices and frees what the
/// realtime thread has retired (the single consumer of the notice queue).
final class EngineCore: @unchecked Sendable {
    /// `camio_engine *`; valid until `deinit`.
    let engine: OpaquePointer
    let inputChannels: Int
    let outputChannels: Int
    let changeCapacity: Int
    let maximumEntries: Int

    private struct Control {
        var nextChangeID: UInt64 = 1
        var nextPlayspecID: UInt64 = 1
        /// Changes queued and not yet resolved, by change id.
        var outstanding: [UInt64: PlayspecChange] = [:]
        /// Every compiled playspec the engine may still read, by playspec id.
        var live: [UInt64: CompiledPlayspec] = [:]
        /// Set once: every later call throws it.
        var terminal: AMIOError?
    }

    private let control = Mutex<Control>(Control())

    /// Whether the clips of every playspec scheduled are locked in RAM.
    let locksClips: Bool
    /// Playspecs and clips that could not be locked (RLIMIT_MEMLOCK too low).
    private let lockFailures = Atomic<Int>(0)

    init(inputChannels: Int, outputChannels: Int, changeCapacity: Int, inputRingFrames: Int,
         alignmentFrames: Int? = nil, maximumEntries: Int, locksClips: Bool = false) throws(AMIOError) {
        self.locksClips = locksClips
        guard (0...4096).contains(inputChannels) else {
            throw .invalidArgument(name: "inputChannels", reason: "\(inputChannels) is outside 0...4096")
        }
        guard (0...4096).contains(outputChannels) else {
            throw .invalidArgument(name: "outputChannels", reason: "\(outputChannels) is outside 0...4096")
        }
        guard (1...65536).contains(changeCapacity) else {
            throw .invalidArgument(name: "changeCapacity", reason: "\(changeCapacity) is outside 1...65536")
        }
        guard maximumEntries >= 0 else {
            throw .invalidArgument(name: "maximumPlayspecEntries", reason: "\(maximumEntries) is negative")
        }
        guard (Self.minimumInputRingFrames...(1 << 26)).contains(inputRingFrames) else {
            throw .invalidArgument(name: "inputRingFrames",
                                   reason: "\(inputRingFrames) is outside \(Self.minimumInputRingFrames)...2^26 (two of JACK's largest periods at least)")
        }
        let alignmentFrames = alignmentFrames ?? Self.defaultAlignmentFrames(inputChannels: inputChannels)
        guard (1...(1 << 24)).contains(alignmentFrames) else {
            throw .invalidArgument(name: "inputAlignmentFrames", reason: "\(alignmentFrames) is outside 1...2^24")
        }
        var config = camio_engine_config(
            input_channels: UInt32(inputChannels), output_channels: UInt32(outputChannels),
            change_capacity: UInt32(changeCapacity), input_ring_frames: UInt32(inputRingFrames),
            alignment_frames: UInt32(alignmentFrames))
        guard let engine = camio_engine_create(&config) else { throw .outOfMemory }
        self.engine = engine
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.changeCapacity = changeCapacity
        self.maximumEntries = maximumEntries
    }

    /// Two of the largest periods JACK runs at (8192 frames): a smaller ring
    /// could not hold one cycle's input while the bridge takes the last.
    static let minimumInputRingFrames = 2 * 8192

    /// Frames of one-period chunks the capture ring holds: its real capacity.
    func inputRingCapacity(period: Int) -> Int {
        let bytes = Int(camio_engine_input_ring_bytes(engine))
        let perChunk = MemoryLayout<camio_chunk_info>.size + max(1, period) * max(1, inputChannels) * MemoryLayout<Float>.size
        return bytes / perChunk * max(1, period)
    }

    /// 16384 frames per input channel, fewer for many channels so that the
    /// alignment rings take at most 16 MiB (but at least 1024 frames each).
    static func defaultAlignmentFrames(inputChannels: Int) -> Int {
        max(1024, min(16384, (1 << 22) / max(1, inputChannels)))
    }

    deinit {
        control.withLock { control in
            for compiled in control.live.values { compiled.destroy() }
            control.live = [:]
        }
        camio_engine_destroy(engine)
    }

    // MARK: Producing changes

    func schedule(_ playspec: Playspec, insertAt: Int64, startFrom: Int64, immediate: Bool,
                  keepPosition: Bool, superseding: Bool, crossfade: Crossfade = .none,
                  sampleRate: Int) throws(AMIOError) -> PlayspecChange {
        if let terminal = control.withLock({ $0.terminal }) { throw terminal }
        try TimelineLimit.check(insertAt, name: "insertAt")
        try TimelineLimit.check(startFrom, name: "startFrom")
        _ = try crossfade.checkedFrames()
        let playspecID = control.withLock { control in
            defer { control.nextPlayspecID += 1 }
            return control.nextPlayspecID
        }
        let limits = PlayspecLimits(outputChannels: outputChannels, sampleRate: sampleRate,
                                    maximumEntries: maximumEntries)
        // Compiling can be slow for large playspecs; it happens outside the lock.
        let compiled = try playspec.compile(id: playspecID, limits: limits)
        if !camio_playspec_memory_locked(compiled.pointer) { lockFailures.add(1, ordering: .relaxed) }
        if locksClips {
            for clip in compiled.clips where !clip.lockInMemory() { lockFailures.add(1, ordering: .relaxed) }
        }
        var flags = UInt32(CAMIO_CHANGE_HAS_PLAYSPEC)
        if immediate { flags |= UInt32(CAMIO_CHANGE_IMMEDIATE) }
        if keepPosition { flags |= UInt32(CAMIO_CHANGE_KEEP_POSITION) }
        if superseding { flags |= UInt32(CAMIO_CHANGE_SUPERSEDE) }
        do {
            return try submit(flags: flags, insertAt: insertAt, startFrom: startFrom, crossfade: crossfade,
                              compiled: compiled)
        } catch {
            compiled.destroy()
            throw error
        }
    }

    /// A live gain change (see ``AudioInterface/setGains(_:forEntriesMatching:in:supersedingPending:crossfade:)``):
    /// `playspec` is updated only once the swap is queued.
    func setGains(_ gains: [Float], forEntriesMatching predicate: (PlayspecEntry) -> Bool, in playspec: inout Playspec,
                  superseding: Bool, crossfade: Crossfade?, sampleRate: Int) throws(AMIOError) -> PlayspecChange {
        var changed = playspec
        changed.setGains(gains, forEntriesMatching: predicate)
        let change = try schedule(changed, insertAt: 0, startFrom: 0, immediate: true, keepPosition: true,
                                  superseding: superseding,
                                  crossfade: crossfade ?? gainChangeCrossfade(sampleRate: sampleRate),
                                  sampleRate: sampleRate)
        playspec = changed
        return change
    }

    /// Seeks and starts or stops the transport at the next cycle, ahead of any
    /// playspec change that waits for a later frame.
    func setTransport(position: Int64?, rolling: Bool?, crossfade: Crossfade = .none) throws(AMIOError) {
        if let position { try TimelineLimit.check(position, name: "position") }
        _ = try crossfade.checkedFrames()
        var flags = UInt32(CAMIO_CHANGE_IMMEDIATE)
        if position == nil { flags |= UInt32(CAMIO_CHANGE_KEEP_POSITION) }
        if let rolling {
            flags |= UInt32(CAMIO_CHANGE_SET_ROLLING)
            if rolling { flags |= UInt32(CAMIO_CHANGE_ROLLING) }
        }
        _ = try submit(flags: flags, insertAt: 0, startFrom: position ?? 0, crossfade: crossfade, compiled: nil)
    }

    private func submit(flags: UInt32, insertAt: Int64, startFrom: Int64, crossfade: Crossfade,
                        compiled: CompiledPlayspec?) throws(AMIOError) -> PlayspecChange {
        let crossfadeFrames = try crossfade.checkedFrames()
        let result: Result<PlayspecChange, AMIOError> = control.withLock { control in
            if let terminal = control.terminal { return .failure(terminal) }
            guard control.outstanding.count < changeCapacity else {
                return .failure(.changeQueueFull(capacity: changeCapacity))
            }
            let id = control.nextChangeID
            let change = PlayspecChange(id: id, playspecID: compiled?.id ?? 0, insertAt: insertAt, startFrom: startFrom)
            var record = camio_change(id: id, playspec: compiled?.pointer, insert_at: insertAt,
                                      start_from: startFrom, flags: flags, crossfade_frames: crossfadeFrames,
                                      crossfade_shape: crossfade.shape.cShape.rawValue, reserved: 0)
            // Outstanding changes are bounded by the queue's capacity, so this cannot fail.
            guard camio_engine_submit(engine, &record) else {
                return .failure(.changeQueueFull(capacity: changeCapacity))
            }
            control.nextChangeID += 1
            control.outstanding[id] = change
            if let compiled { control.live[compiled.id] = compiled }
            return .success(change)
        }
        return try result.get()
    }

    // MARK: Consuming notices and chunks (one thread only)

    /// Resolves every change the engine has reported on and frees what it retired.
    func drainNotices() {
        var notice = camio_notice()
        while camio_engine_next_notice(engine, &notice) {
            let resolved: PlayspecChange? = control.withLock { control in
                if let retired = notice.retired {
                    control.live.removeValue(forKey: camio_playspec_id(retired))?.destroy()
                }
                return control.outstanding.removeValue(forKey: notice.change_id)
            }
            switch Int32(notice.kind) {
            case Int32(CAMIO_NOTICE_APPLIED): resolved?.resolve(.applied(atFrame: notice.frame))
            case Int32(CAMIO_NOTICE_SKIPPED): resolved?.resolve(.skipped(seekTo: notice.position))
            default: resolved?.resolve(.superseded)
            }
        }
    }

    /// The sample arrays of the chunks drained last, reused in turn: a chunk's
    /// storage comes back once its consumers have let go of it, with no
    /// allocation. Touched only by ``drainChunks(_:)``, which one thread at
    /// a time calls (the bridge; the offline renderer under its cycle lock).
    private var recentSamples = [[Float]](repeating: [], count: EngineCore.reusedChunkStorages)
    /// How many chunks' storage is kept for reuse: a consumer that holds a
    /// chunk for no longer than this many more come loses nothing to it.
    static let reusedChunkStorages = 16
    private var nextRecentSamples = 0

    /// Hands every captured chunk to `deliver`, oldest first.
    func drainChunks(_ deliver: (InputAudioChunk) -> Void) {
        var info = camio_chunk_info()
        while camio_engine_peek_chunk(engine, &info) {
            let count = Int(info.channel_count) * Int(info.frame_count)
            let slot = nextRecentSamples
            nextRecentSamples = slot + 1 == recentSamples.count ? 0 : slot + 1
            // Moved out of the pool, the array is unique unless a chunk still
            // holds it; writing it then copies it first (copy on write), so
            // no chunk a consumer holds ever changes.
            var samples = recentSamples[slot]
            recentSamples[slot] = []
            if samples.count == count, count > 0 {
                samples.withUnsafeMutableBufferPointer { camio_engine_consume_chunk(engine, $0.baseAddress!) }
            } else {
                samples = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    camio_engine_consume_chunk(engine, buffer.baseAddress!)
                    initialized = count
                }
            }
            recentSamples[slot] = samples
            deliver(InputAudioChunk(
                startingFrame: info.starting_frame, playspecID: info.playspec_id,
                wasTransportRolling: info.rolling != 0, frameCount: Int(info.frame_count),
                channelCount: Int(info.channel_count), cycleFrameTime: FramePosition(clamping: info.frame_time),
                cycleTime: info.cycle_usecs, droppedFramesBefore: Int(info.dropped_frames_before),
                samples: samples, playedAt: info.played_at))
        }
    }

    // MARK: Ending

    /// Refuses every later call with `error`. Returns false if already ended.
    @discardableResult
    func end(with error: AMIOError) -> Bool {
        control.withLock { control in
            guard control.terminal == nil else { return false }
            control.terminal = error
            return true
        }
    }

    var terminalError: AMIOError? { control.withLock { $0.terminal } }

    /// Resolves every change that never took effect as cancelled. With
    /// `freeingPlayspecs`, also frees every playspec: only once the process
    /// thread has stopped for good (after a server shutdown JACK may still
    /// hold the client, so the memory waits for close).
    func cancelOutstanding(freeingPlayspecs: Bool) {
        let cancelled: [PlayspecChange] = control.withLock { control in
            if freeingPlayspecs {
                for compiled in control.live.values { compiled.destroy() }
                control.live = [:]
            }
            defer { control.outstanding = [:] }
            return Array(control.outstanding.values)
        }
        for change in cancelled { change.resolve(.cancelled) }
    }

    // MARK: State

    var position: Int64 { camio_engine_position(engine) }
    /// Position, transport and playspec of one cycle, read together.
    var transportState: TransportState {
        var state = camio_transport_state()
        camio_engine_transport_state(engine, &state)
        return TransportState(position: state.position, isRolling: state.rolling, playspecID: state.playspec_id)
    }
    var isRolling: Bool { camio_engine_is_rolling(engine) }
    /// Frames played since the engine was created, stall gaps included (the
    /// clock of ``InputAudioChunk/playedAt``), at the end of the last cycle.
    var framesPlayed: Int64 { camio_engine_frames_played(engine) }
    /// The length of the last cycle run (0 before the first).
    var lastPeriod: UInt32 { camio_engine_last_period(engine) }
    var droppedInputFrames: Int { Int(camio_engine_dropped_input_frames(engine)) }
    /// Runs of cycles that missed their deadline, as the engine saw them (`camio_engine_stalls`).
    var stalls: UInt64 { camio_engine_stalls(engine) }
    var cycles: UInt64 { camio_engine_cycles(engine) }
    /// Whether the engine's realtime memory is locked in RAM (it is resident either way).
    var memoryLocked: Bool { camio_engine_memory_locked(engine) }
    /// Whether the engine's memory, every playspec scheduled so far and, if
    /// it locks clips, their clips were locked.
    var everythingLocked: Bool { memoryLocked && lockFailures.load(ordering: .relaxed) == 0 }
    var lostNotices: UInt64 { camio_engine_lost_notices(engine) }
    /// Wakes the bridge for captured input only once `frames` wait (0: every chunk).
    func setWakeFrames(_ frames: Int) { camio_engine_set_wake_frames(engine, UInt32(clamping: max(0, frames))) }
}

extension InputAudioChunk {
    /// Records what a consumer lost before this chunk (see ``Broadcaster``).
    static let dropAccounting: Broadcaster<InputAudioChunk>.DropAccounting = { chunk, dropped in
        chunk.droppedFramesBefore += dropped
    }
    static let dropWeight: Broadcaster<InputAudioChunk>.DropWeight = { $0.frameCount + $0.droppedFramesBefore }

    /// Chunks join when the second was captured right after the first
    /// (played-frame counts that meet, no loss between) under the same
    /// playspec and transport state, and carries on the first's timeline:
    /// the frame after it while rolling, the same frame while stopped.
    static let coalescing = Broadcaster<InputAudioChunk>.Coalescing(
        frames: { $0.frameCount },
        continues: { first, second in
            second.droppedFramesBefore == 0 && second.playedAt == first.playedAt + Int64(first.frameCount)
                && second.playspecID == first.playspecID && second.wasTransportRolling == first.wasTransportRolling
                && second.channelCount == first.channelCount
                && second.startingFrame == (first.wasTransportRolling ? first.endFrame : first.startingFrame)
        },
        join: { chunks in
            guard let first = chunks.first, chunks.count > 1 else { return chunks[0] }
            let frames = chunks.reduce(0) { $0 + $1.frameCount }
            let samples = [Float](unsafeUninitializedCapacity: frames * first.channelCount) { buffer, initialized in
                var offset = 0
                for chunk in chunks {
                    for channel in 0..<first.channelCount {
                        let source = chunk.samples[channel * chunk.frameCount ..< (channel + 1) * chunk.frameCount]
                        _ = UnsafeMutableBufferPointer(rebasing: buffer[(channel * frames + offset)...]).initialize(from: source)
                    }
                    offset += chunk.frameCount
                }
                initialized = frames * first.channelCount
            }
            return InputAudioChunk(
                startingFrame: first.startingFrame, playspecID: first.playspecID,
                wasTransportRolling: first.wasTransportRolling, frameCount: frames, channelCount: first.channelCount,
                cycleFrameTime: first.cycleFrameTime, cycleTime: first.cycleTime,
                droppedFramesBefore: first.droppedFramesBefore, samples: samples, playedAt: first.playedAt)
        })
}
