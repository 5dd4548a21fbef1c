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
    public var firstFrame: Int64?
    /// Frames in the file, silence for lost frames included.
    public var framesWritten: Int
    /// Frames lost on the way (capture ring full, server stalls, a writer that
    /// fell behind), written as silence of exactly that length.
    public var droppedFrames: Int
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

    init(url: URL?, writer: RecordingWriter) {
        self.url = url
        self.writer = writer
    }

    /// Frames written so far, silence for lost frames included.
    public var framesWritten: Int { writer.progress.framesWritten.load(ordering: .relaxed) }
    /// Frames lost so far and written as silence.
    public var droppedFrames: Int { writer.progress.droppedFrames.load(ordering: .relaxed) }

    /// Whether the recording has ended and its file is finalised (see ``summary``).
    public var isFinished: Bool { writer.done.current != nil }

    /// Stops recording, finalises the file and returns the summary. Calling it
    /// after the recording ended returns the same summary.
    public func stop() async -> RecordingSummary {
        writer.queue.requestStop()
        return await writer.done.value
    }

    /// The summary, once the recording has ended (stopped, reached its end,
    /// the interface closed, the server went away, or a write failed).
    public var summary: RecordingSummary {
        get async { await writer.done.value }
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
        case chunk(InputAudioChunk)
        case ended((any Error)?)
        case stop
    }

    private let condition = NSCondition()
    private var items: [InputAudioChunk] = []
    private var head = 0
    private var ending: (any Error)?? = nil
    private var stopRequested = false
    let capacity: Int

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

    func end(_ error: (any Error)?) {
        condition.lock()
        if ending == nil { ending = .some(error) }
        condition.signal()
        condition.unlock()
    }

    func requestStop() {
        condition.lock()
        stopRequested = true
        condition.signal()
        condition.unlock()
    }

    /// Blocks until there is something to do; a stop wins over queued chunks.
    func next() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopRequested { return .stop }
            if head < items.count {
                let chunk = items[head]
                head += 1
                if head > 256 && head * 2 > items.count {
                    items.removeFirst(head)
                    head = 0
                }
                return .chunk(chunk)
            }
            if let ending { return .ended(ending) }
            condition.wait()
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
            case .stop:
                ending = .stopped
                break loop
            case let .ended(error):
                if case let .serverShutdown(reason)? = error as? AMIOError { ending = .serverShutdown(reason: reason) }
                else { ending = .interfaceClosed }
                break loop
            case let .chunk(chunk):
                let stall = progress.stallMicroseconds.load(ordering: .relaxed)
                if stall > 0 { usleep(UInt32(clamping: stall)) }
                do throws(AMIOError) {
                    if try take(chunk) {
                        ending = .reachedEnd
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
                                      droppedFrames: dropped, ending: ending))
    }

    /// Writes one chunk; returns true when the take has reached `until`.
    private func take(_ chunk: InputAudioChunk) throws(AMIOError) -> Bool {
        var skip = 0   // frames at the chunk's start that come before the take
        if firstFrame == nil {
            if let from {
                guard chunk.wasTransportRolling, chunk.endFrame > from else { return false }
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
            let lost = limited(chunk.droppedFramesBefore, from: nextFrame)
            try silence(lost, lost: lost)
            if reachedEnd(at: nextFrame + Int64(chunk.droppedFramesBefore)) { return true }
        }
        nextFrame = chunk.startingFrame + Int64(skip)
        let count = limited(chunk.frameCount - skip, from: nextFrame, rolling: chunk.wasTransportRolling)
        if count > 0 {
            defer { progress.framesWritten.store(sink.framesWritten, ordering: .relaxed) }
            try sink.write(channels.map { chunk.samples(channel: $0).dropFirst(skip).prefix(count) })
        }
        nextFrame += Int64(count)
        return chunk.wasTransportRolling && reachedEnd(at: nextFrame)
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

    private func reachedEnd(at frame: Int64) -> Bool {
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
                       channels: [Int]? = nil, from: Int64? = nil, until: Int64? = nil,
                       bufferingChunks: Int = 4096) async throws(AMIOError) -> Recording {
        let selected = try validatedChannels(channels, from: from, until: until)
        let file = try AudioFileWriter(url: url, format: format ?? AudioFileFormat(fileExtensionOf: url) ?? .wav,
                                       encoding: encoding, channelCount: selected.count, sampleRate: sampleRate)
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
        let recording = Recording(url: url, writer: writer)
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
    /// playspec is cleared.
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
    ///   when the interface goes away before the take is complete.
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
        try setTransportRolling(false)
        try setPosition(0)
        try setPlayspec([PlayspecEntry(clip: clip, playAt: 0, gains: gains ?? Array(repeating: 1, count: outputPortNames.count))],
                        supersedingPending: true)
        let sink = MemorySink(channelCount: selected.count)
        let recording = try startRecording(into: sink, url: nil, channels: selected, from: 0, until: Int64(clip.frameCount))
        try setTransportRolling(true)
        let summary = await recording.summary
        try? setTransportRolling(false)
        _ = try? setPlayspec([])
        switch summary.ending {
        case .reachedEnd: return (try AudioClip(channels: sink.channels, sampleRate: sampleRate), summary)
        case let .serverShutdown(reason): throw .serverShutdown(reason: reason)
        case let .writeFailed(error): throw error
        case .stopped, .interfaceClosed: throw .closed
        }
    }

    /// Plays an audio file from timeline frame 0 and records the inputs to
    /// another file for the same span.
    ///
    /// - Parameters:
    ///   - input: The file to play; resampled to the interface's rate if needed.
    ///   - output: The file to record into.
    ///   - format: The output's container; by default the one its extension names.
    ///   - encoding: The output's sample encoding.
    /// - Returns: The recording's summary.
    /// - Throws: As ``AudioClip/init(contentsOf:resamplingTo:quality:progress:)``,
    ///   ``playAndRecord(_:gains:channels:)`` and ``AudioClip/write(to:format:encoding:dither:)``.
    public func playAndRecord(file input: URL, to output: URL, format: AudioFileFormat? = nil,
                              encoding: AudioFileEncoding = .float) async throws(AMIOError) -> AudioClip {
        let clip = try await AudioClip(contentsOf: input, resamplingTo: sampleRate)
        let recorded = try await playAndRecord(clip)
        try recorded.write(to: output, format: format, encoding: encoding)
        return recorded
    }
}
