import Foundation
import Synchronization

/// Why a recording ended.
public enum RecordingEnding: Sendable, Hashable {
    /// ``Recording/stop()`` was called.
    case stopped
    /// The timeline reached the `until` frame.
    case reachedEnd
    /// The interface was closed.
    case interfaceClosed
    /// The JACK server went away.
    case serverShutdown(reason: String)
    /// Writing failed (a full disk, say); what was written before is in the file.
    case writeFailed(AMIOError)
}

/// What a finished recording holds.
public struct RecordingSummary: Sendable, Hashable {
    /// The file, or nil for a recording into memory.
    public var url: URL?
    /// The timeline frame of file frame 0 (nil if nothing was recorded).
    public var firstFrame: FramePosition?
    /// Frames in the file, silence for lost frames included.
    public var framesWritten: FrameCount
    /// Frames lost on the way (capture ring full, server stalls, a writer that
    /// fell behind), written as silence of exactly that length.
    public var droppedFrames: FrameCount
    /// Frames before the stop frame that had not reached the writer when
    /// ``Recording/stop()`` gave up waiting for them (the interface stopped
    /// delivering input): not in the file, and counted here.
    public var unwrittenFrames: FrameCount = 0
    /// Why it ended.
    public var ending: RecordingEnding
}

/// A recording in progress: input chunks written to a file (or memory) on a
/// background thread of its own.
///
/// It is one more consumer of the interface's input chunks, with a queue of
/// its own: it never holds up the realtime thread or the other consumers, and
/// a writer that falls behind loses chunks that are then written as silence,
/// so the rest of the take stays aligned. Create one with
/// ``AudioInterface/record(to:format:encoding:channels:from:until:bufferingChunks:)``.
public final class Recording: Sendable {
    /// The file being written, or nil for a recording into memory.
    public let url: URL?
    let writer: RecordingWriter
    /// Where a stop takes effect: the frames played so far (the clock of
    /// ``InputAudioChunk/playedAt``, which a loop or a seek does not move
    /// back) and how long the input of the last of them may take to arrive.
    private let stopPoint: @Sendable () -> StopPoint

    struct StopPoint: Sendable {
        /// Frames played before this count are the take's; none from it on.
        var playedBefore: Int64
        var patience: Duration
    }

    init(url: URL?, writer: RecordingWriter, stopPoint: @escaping @Sendable () -> StopPoint) {
        self.url = url
        self.writer = writer
        self.stopPoint = stopPoint
    }

    /// Frames written so far, silence for lost frames included.
    public var framesWritten: FrameCount { writer.progress.framesWritten.load(ordering: .relaxed) }
    /// Frames lost so far and written as silence.
    public var droppedFrames: FrameCount { writer.progress.droppedFrames.load(ordering: .relaxed) }

    /// Whether the recording has ended and its file is finalised (see ``summary``).
    public var isFinished: Bool { writer.done.current != nil }

    /// Stops recording at the frame playing now, finalises the file and
    /// returns the summary. Calling it after the recording ended returns the
    /// same summary.
    ///
    /// Nothing captured of what played before the stop is discarded: the
    /// chunks still queued for the writer (a slow disk) are written, and the
    /// input of the last round trip, which arrives after its frames have
    /// played, is waited for (a few periods; at most the round trip twice
    /// over and half a second). What has not arrived by then is counted in
    /// ``RecordingSummary/unwrittenFrames``. The stop is a point in time, not
    /// a timeline frame: right after a loop jump or a seek back, the input of
    /// the pass before it is still the take's.
    ///
    /// The wait is bounded by that patience, so it is not cut short when
    /// the task is cancelled: the stop was asked for, and its summary comes.
    ///
    /// - Returns: The summary of the finished recording.
    public func stop() async -> RecordingSummary {
        requestStop()
        return await writer.done.value
    }

    /// Asks the writer to stop as ``stop()`` does, without waiting for it.
    func requestStop() {
        writer.queue.requestStop(at: stopPoint())
    }

    /// The summary, once the recording has ended (stopped, reached its end,
    /// the interface closed, the server went away, or a write failed);
    /// suspends until then.
    ///
    /// A recording without an `until` ends only when something ends it, so
    /// a task that may be cancelled meanwhile stops waiting: cancelling the
    /// *waiting* task does not stop the recording, which goes on; only the
    /// wait ends. To end the take, call ``stop()``.
    ///
    /// - Throws: ``AMIOError/cancelled`` when the waiting task is cancelled
    ///   before the recording has ended (at once if it was cancelled already).
    public var summary: RecordingSummary {
        get async throws(AMIOError) {
            guard let summary = await writer.done.wait() else { throw .cancelled }
            return summary
        }
    }

    /// The summary, waiting for the recording to end at most `timeout`.
    ///
    /// - Parameter timeout: How long to wait at most; `.zero` (or less)
    ///   returns at once.
    /// - Returns: The summary, or nil when the recording had not ended
    ///   within `timeout` (it goes on).
    /// - Throws: ``AMIOError/cancelled`` when the waiting task is cancelled
    ///   before the recording has ended (the recording goes on).
    public func summary(timeout: Duration) async throws(AMIOError) -> RecordingSummary? {
        if let known = writer.done.current { return known }
        let summary = await writer.done.wait(timeout: timeout)
        if summary == nil && Task.isCancelled { throw .cancelled }
        return summary
    }

    /// Test hook: the writer sleeps this long before each chunk, as a slow disk would.
    func stallWriterForTesting(microseconds: Int) {
        writer.progress.stallMicroseconds.store(microseconds, ordering: .relaxed)
    }
}

/// Where recorded frames go.
protocol RecordingSink: AnyObject {
    /// Frames that reached the sink, also when a write failed part-way.
    var framesWritten: Int { get }
    func write(_ channels: [ArraySlice<Float>]) throws(AMIOError)
    func writeSilence(frames: Int) throws(AMIOError)
    func finish() throws(AMIOError)
}

extension AudioFileWriter: RecordingSink {
    func write(_ channels: [ArraySlice<Float>]) throws(AMIOError) { try write(planar: channels) }
    func finish() throws(AMIOError) { try close() }
}

/// Frames kept in memory, for ``AudioInterface/playAndRecord(_:gains:channels:)``.
final class MemorySink: RecordingSink, @unchecked Sendable {
    private(set) var channels: [[Float]]
    var framesWritten: Int { channels.first?.count ?? 0 }
    init(channelCount: Int) { channels = Array(repeating: [], count: channelCount) }
    func write(_ slices: [ArraySlice<Float>]) { for (i, slice) in slices.enumerated() { channels[i].append(contentsOf: slice) } }
    func writeSilence(frames: Int) { for i in channels.indices { channels[i].append(contentsOf: repeatElement(0, count: frames)) } }
    func finish() {}
}

/// A bounded queue between the bridge thread (which must never wait) and the
/// writer thread (which may).
final class RecordingQueue: @unchecked Sendable {
    enum Item {
        /// A chunk, and where a stop requested meanwhile takes effect
        /// (``Recording/StopPoint/playedBefore``).
        case chunk(InputAudioChunk, stopAt: Int64?)
        case ended(AMIOError?)
        /// Stop now: the input of frames played before `playedBefore` that is
        /// still missing did not come in time.
        case stop(playedBefore: Int64)
    }

    private let condition = NSCondition()
    private var items: [InputAudioChunk] = []
    private var head = 0
    private var ending: AMIOError?? = nil
    private var stop: Stop?
    let capacity: Int

    private struct Stop {
        var playedBefore: Int64
        var deadline: ContinuousClock.Instant
    }

    init(capacity: Int) { self.capacity = capacity }

    /// Called on the bridge thread; false when full (the chunk is then dropped and counted).
    func push(_ chunk: InputAudioChunk) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard items.count - head < capacity else { return false }
        items.append(chunk)
        condition.signal()
        return true
    }

    func end(_ error: AMIOError?) {
        condition.lock()
        if ending == nil { ending = .some(error) }
        condition.signal()
        condition.unlock()
    }

    func requestStop(at point: Recording.StopPoint) {
        condition.lock()
        if stop == nil { stop = Stop(playedBefore: point.playedBefore, deadline: .now + point.patience) }
        condition.signal()
        condition.unlock()
    }

    /// Blocks until there is something to do. After a stop, every queued
    /// chunk is still handed out (the writer ends at the stop point), and
    /// the queue waits for more until the deadline.
    func next() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if head < items.count {
                let chunk = items[head]
                head += 1
                if head > 256 && head * 2 > items.count {
                    items.removeFirst(head)
                    head = 0
                }
                return .chunk(chunk, stopAt: stop?.playedBefore)
            }
            if let ending { return .ended(ending) }
            if let stop {
                // The input up to the stop may still be on its way; not forever.
                if ContinuousClock.now >= stop.deadline { return .stop(playedBefore: stop.playedBefore) }
                let seconds = Double((stop.deadline - ContinuousClock.now) / .milliseconds(1)) / 1000
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0, seconds)))
            } else {
                condition.wait()
            }
        }
    }
}

/// The recording's state shared with readers on any thread.
final class RecordingProgress: Sendable {
    let framesWritten = Atomic<Int>(0)
    let droppedFrames = Atomic<Int>(0)
    let stallMicroseconds = Atomic<Int>(0)
}

/// Turns chunks into a take: aligned to the timeline at `from`, gaps filled
/// with silence, cut at `until`. Runs on its own thread.
final class RecordingWriter: @unchecked Sendable {
    let queue: RecordingQueue
    let done = Completion<RecordingSummary>()
    let progress = RecordingProgress()
    private let sink: RecordingSink
    private let url: URL?
    private let channels: [Int]
    private let from: Int64?
    private let until: Int64?
    /// Touched only by the writer thread.
    private var firstFrame: Int64?
    private var nextFrame: Int64 = 0
    private var dropped = 0
    private var unwritten = 0
    /// The engine's played-frame count after the last frame the take has
    /// accounted for (written, or written as silence).
    private var playedNext: Int64?

    init(sink: RecordingSink, url: URL?, channels: [Int], from: Int64?, until: Int64?, queueCapacity: Int) {
        self.sink = sink
        self.url = url
        self.channels = channels
        self.from = from
        self.until = until
        queue = RecordingQueue(capacity: queueCapacity)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "amio-recorder"
        thread.start()
    }

    private func run() {
        var ending: RecordingEnding
        loop: while true {
            switch queue.next() {
            case let .stop(playedBefore):
                ending = .stopped
                if firstFrame != nil, let playedNext { unwritten = Int(max(0, playedBefore - playedNext)) }
                break loop
            case let .ended(error):
                if case let .serverShutdown(reason)? = error { ending = .serverShutdown(reason: reason) }
                else { ending = .interfaceClosed }
                break loop
            case let .chunk(chunk, stopAt):
                let stall = progress.stallMicroseconds.load(ordering: .relaxed)
                if stall > 0 { usleep(UInt32(clamping: stall)) }
                do throws(AMIOError) {
                    if let reached = try take(chunk, stopAt: stopAt) {
                        ending = reached
                        break loop
                    }
                } catch {
                    ending = .writeFailed(error)
                    break loop
                }
            }
        }
        do throws(AMIOError) {
            try sink.finish()
        } catch {
            if case .writeFailed = ending {} else { ending = .writeFailed(error) }
        }
        done.resolve(RecordingSummary(url: url, firstFrame: firstFrame, framesWritten: sink.framesWritten,
                                      droppedFrames: dropped, unwrittenFrames: unwritten, ending: ending))
    }

    /// Writes one chunk, as far as it lies before the stop point (frames
    /// played before `stopAt`); returns how the take ended if it has: at
    /// `until`, or at the stop point.
    private func take(_ chunk: InputAudioChunk, stopAt: Int64?) throws(AMIOError) -> RecordingEnding? {
        // Of the frames lost before the chunk and of the chunk's own, how many were played before the stop.
        let lostFrom = chunk.playedAt - Int64(chunk.droppedFramesBefore)
        let lostBeforeStop = stopAt.map { Int(max(0, min(Int64(chunk.droppedFramesBefore), $0 - lostFrom))) }
            ?? chunk.droppedFramesBefore
        let framesBeforeStop = stopAt.map { Int(max(0, min(Int64(chunk.frameCount), $0 - chunk.playedAt))) } ?? chunk.frameCount
        let reachesStop = stopAt.map { chunk.playedAt + Int64(chunk.frameCount) >= $0 } ?? false
        var skip = 0   // frames at the chunk's start that come before the take
        if firstFrame == nil {
            if reachesStop && framesBeforeStop == 0 { return .stopped }
            if let from {
                guard chunk.wasTransportRolling, chunk.endFrame > from else { return reachesStop ? .stopped : nil }
                if chunk.startingFrame > from {
                    // The timeline passed `from` before this chunk: silence keeps the
                    // take aligned. Only frames reported lost count as dropped.
                    let gap = Int(chunk.startingFrame - from)
                    try silence(gap, lost: min(gap, chunk.droppedFramesBefore))
                } else {
                    skip = Int(from - chunk.startingFrame)
                }
                firstFrame = from
            } else {
                firstFrame = chunk.startingFrame
            }
            nextFrame = chunk.startingFrame + Int64(skip)
        } else if chunk.droppedFramesBefore > 0 {
            let lost = limited(lostBeforeStop, from: nextFrame)
            try silence(lost, lost: lost)
            if reachedUntil(at: nextFrame + Int64(chunk.droppedFramesBefore)) { return .reachedEnd }
            if lostBeforeStop < chunk.droppedFramesBefore { return .stopped }
        }
        nextFrame = chunk.startingFrame + Int64(skip)
        let count = min(limited(chunk.frameCount - skip, from: nextFrame, rolling: chunk.wasTransportRolling),
                        max(0, framesBeforeStop - skip))
        if count > 0 {
            defer { progress.framesWritten.store(sink.framesWritten, ordering: .relaxed) }
            try sink.write(channels.map { chunk.samples(channel: $0).dropFirst(skip).prefix(count) })
        }
        nextFrame += Int64(count)
        playedNext = chunk.playedAt + Int64(skip + count)
        if chunk.wasTransportRolling && reachedUntil(at: nextFrame) { return .reachedEnd }
        return reachesStop ? .stopped : nil
    }

    private func silence(_ frames: Int, lost: Int) throws(AMIOError) {
        guard frames > 0 else { return }
        defer { progress.framesWritten.store(sink.framesWritten, ordering: .relaxed) }
        try sink.writeSilence(frames: frames)
        dropped += lost
        progress.droppedFrames.store(dropped, ordering: .relaxed)
    }

    /// How many of `frames` frames starting at timeline frame `start` come before `until`.
    private func limited(_ frames: Int, from start: Int64, rolling: Bool = true) -> Int {
        guard let until, rolling else { return frames }
        return max(0, min(frames, Int(until - start)))
    }

    private func reachedUntil(at frame: Int64) -> Bool {
        guard let until else { return false }
        return frame >= until
    }
}

extension AudioInterface {
    /// Records the inputs to a file, on a background thread, until stopped.
    ///
    /// File frame 0 is timeline frame `from` (a punch-in): recording starts
    /// when the rolling timeline reaches it. Without `from` it starts with the
    /// next captured chunk, whose timeline frame the summary reports. Frames
    /// lost on the way are written as silence of exactly their length and
    /// counted. The file is finalised when the recording stops, reaches
    /// `until`, the interface closes, the server goes away, or a write fails.
    ///
    /// A take survives a recorder that is killed (`kill -9`, a power cut):
    /// the file's header is brought up to date every half second of audio,
    /// so WAV, W64, RF64, AIFF and CAF files read back (by any tool) all but
    /// at most the last half second. FLAC, Ogg and MP3 write their length
    /// only when finished: such a file left by a killed recorder announces
    /// no length, and ``AudioFile`` reads it to its last whole frame (sox
    /// reads FLAC so too).
    ///
    /// - Parameters:
    ///   - url: The file to create or replace.
    ///   - format: The container; by default the one the extension names, else WAV.
    ///   - encoding: The sample encoding.
    ///   - channels: The input channels to record, by index; all by default.
    ///   - from: The timeline frame of file frame 0.
    ///   - until: The timeline frame at which to stop (exclusive).
    ///   - bufferingChunks: How many chunks the writer may fall behind before it
    ///     loses some (they are then written as silence).
    /// - Returns: The running recording.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when the file
    ///   cannot be created; ``AMIOError/invalidArgument(name:reason:)`` for bad
    ///   channels or an `until` before `from`; ``AMIOError/closed``.
    public func record(to url: URL, format: AudioFileFormat? = nil, encoding: AudioFileEncoding = .float,
                       channels: [Int]? = nil, from: FramePosition? = nil, until: FramePosition? = nil,
                       bufferingChunks: Int = 4096) async throws(AMIOError) -> Recording {
        let selected = try validatedChannels(channels, from: from, until: until)
        let file = try AudioFileWriter(url: url, format: format ?? AudioFileFormat(fileExtensionOf: url) ?? .wav,
                                       encoding: encoding, channelCount: selected.count, sampleRate: sampleRate)
        // A take survives its recorder: the header says how much is on disk.
        file.headerUpdateInterval = max(1, sampleRate / 2)
        return try startRecording(into: file, url: url, channels: selected, from: from, until: until,
                                  bufferingChunks: bufferingChunks)
    }

    func validatedChannels(_ channels: [Int]?, from: Int64?, until: Int64?) throws(AMIOError) -> [Int] {
        if let error = session.core.terminalError { throw error }
        let selected = channels ?? Array(0..<inputPortNames.count)
        guard !selected.isEmpty else { throw .invalidArgument(name: "channels", reason: "no input channel to record") }
        if let bad = selected.first(where: { !(0..<inputPortNames.count).contains($0) }) {
            throw .invalidArgument(name: "channels", reason: "input \(bad) is outside 0..<\(inputPortNames.count)")
        }
        if let from, let until, until <= from {
            throw .invalidArgument(name: "until", reason: "\(until) is not after from \(from)")
        }
        return selected
    }

    func startRecording(into sink: RecordingSink, url: URL?, channels: [Int], from: Int64?,
                        until: Int64?, bufferingChunks: Int = 4096) throws(AMIOError) -> Recording {
        let writer = RecordingWriter(sink: sink, url: url, channels: channels, from: from, until: until,
                                     queueCapacity: max(1, bufferingChunks))
        let queue = writer.queue
        let token = session.chunks.subscribe(deliver: { queue.push($0) }, end: { queue.end($0) })
        writer.start()
        let core = session.core, rate = sampleRate, session = session
        let recording = Recording(url: url, writer: writer) {
            // The input of the last round trip arrives after its frames have
            // played; the bridge hands it on within a period or two more.
            let period = Int(core.lastPeriod)
            let frames = 2 * (session.latency.roundTrip + 2 * period)
            return Recording.StopPoint(playedBefore: core.framesPlayed,
                                       patience: .milliseconds(500) + .seconds(Double(frames) / Double(rate)))
        }
        if let token {
            let chunks = session.chunks
            Task.detached {
                _ = await writer.done.value
                chunks.remove(token)
            }
        }
        return recording
    }

    /// Plays `clip` from timeline frame 0 and records the inputs for the same
    /// span — a measurement in the spirit of pastream's `playrec`.
    ///
    /// The transport is stopped and moved to frame 0, the clip becomes the
    /// playspec (superseding pending changes), the take is recorded from frame
    /// 0 for `clip.frameCount` frames, then the transport stops and the
    /// playspec is cleared. Cancelling the calling task ends the take there,
    /// stops the transport and clears the playspec as well, and throws.
    ///
    /// - Parameters:
    ///   - clip: What to play; at the interface's sample rate.
    ///   - gains: One gain per output; 1 on every output by default.
    ///   - channels: The input channels to record; all by default.
    /// - Returns: The recorded inputs, aligned with the clip frame for frame
    ///   (frames lost on the way are silence; ``playAndRecordTake(_:gains:channels:)``
    ///   also says how many).
    /// - Throws: ``AMIOError/invalidPlayspec(entry:reason:)`` for a clip at
    ///   another rate; ``AMIOError/serverShutdown(reason:)`` or ``AMIOError/closed``
    ///   when the interface goes away before the take is complete;
    ///   ``AMIOError/cancelled`` when the task is cancelled first.
    public func playAndRecord(_ clip: AudioClip, gains: [Float]? = nil,
                              channels: [Int]? = nil) async throws(AMIOError) -> AudioClip {
        try await playAndRecordTake(clip, gains: gains, channels: channels).recorded
    }

    /// Plays `clip` from timeline frame 0 and records the inputs for the same
    /// span, as ``playAndRecord(_:gains:channels:)``, and also returns the
    /// take's summary: its ``RecordingSummary/droppedFrames`` are exactly the
    /// frames of the recording that are silence because they were lost.
    ///
    /// - Parameters:
    ///   - clip: What to play; at the interface's sample rate.
    ///   - gains: One gain per output; 1 on every output by default.
    ///   - channels: The input channels to record; all by default.
    /// - Returns: The recorded inputs and the take's summary.
    /// - Throws: As ``playAndRecord(_:gains:channels:)``.
    public func playAndRecordTake(_ clip: AudioClip, gains: [Float]? = nil, channels: [Int]? = nil)
        async throws(AMIOError) -> (recorded: AudioClip, summary: RecordingSummary) {
        let selected = try validatedChannels(channels, from: 0, until: Int64(clip.frameCount))
        try startPlaying(clip, gains: gains)
        let sink = MemorySink(channelCount: selected.count)
        let recording = try startRecording(into: sink, url: nil, channels: selected, from: 0, until: Int64(clip.frameCount))
        try setTransportRolling(true)
        let summary: RecordingSummary
        do throws(AMIOError) {
            summary = try await recording.summary
        } catch {
            // Cancelled: a take cut short is no measurement of the clip.
            recording.requestStop()
            try? setTransportRolling(false)
            _ = try? setPlayspec([])
            throw error
        }
        try? setTransportRolling(false)
        _ = try? setPlayspec([])
        switch summary.ending {
        case .reachedEnd: return (try AudioClip(channels: sink.channels, sampleRate: sampleRate), summary)
        case let .serverShutdown(reason): throw .serverShutdown(reason: reason)
        case let .writeFailed(error): throw error
        case .stopped, .interfaceClosed: throw .closed
        }
    }

    /// Plays an audio file from timeline frame 0 and records the inputs
    /// straight into another file for the same span.
    ///
    /// Cancelling the calling task stops the take where it is and keeps it:
    /// the file holds everything recorded up to then (as ``Recording/stop()``),
    /// and the summary says so (``RecordingEnding/stopped``). A take cut
    /// short by the server going away is kept too, and the error thrown.
    ///
    /// - Parameters:
    ///   - input: The file to play; resampled to the interface's rate if needed.
    ///   - output: The file to record into.
    ///   - format: The output's container; by default the one its extension names.
    ///   - encoding: The output's sample encoding.
    /// - Returns: The take's summary.
    /// - Throws: As ``AudioClip/init(contentsOf:resamplingTo:quality:cache:progress:)``,
    ///   ``record(to:format:encoding:channels:from:until:bufferingChunks:)`` and
    ///   ``playAndRecord(_:gains:channels:)``.
    public func playAndRecord(file input: URL, to output: URL, format: AudioFileFormat? = nil,
                              encoding: AudioFileEncoding = .float) async throws(AMIOError) -> RecordingSummary {
        let clip = try await AudioClip(contentsOf: input, resamplingTo: sampleRate)
        let end = Int64(clip.frameCount)
        try startPlaying(clip, gains: nil)
        let recording = try await record(to: output, format: format, encoding: encoding, from: 0, until: end)
        try setTransportRolling(true)
        // Cancelled, the take stops and its summary still comes: waited for whole.
        let summary = await withTaskCancellationHandler { await recording.writer.done.value }
            onCancel: { recording.requestStop() }
        try? setTransportRolling(false)
        _ = try? setPlayspec([])
        switch summary.ending {
        case .reachedEnd, .stopped: return summary
        case let .serverShutdown(reason): throw .serverShutdown(reason: reason)
        case let .writeFailed(error): throw error
        case .interfaceClosed: throw .closed
        }
    }

    /// The transport stopped at frame 0 with `clip` as the playspec, pending changes superseded.
    private func startPlaying(_ clip: AudioClip, gains: [Float]?) throws(AMIOError) {
        try setTransportRolling(false)
        try setPosition(0)
        try setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: gains ?? Array(repeating: 1, count: outputPortNames.count))],
                        supersedingPending: true)
    }
}
