import CSoxr
import Foundation
import Synchronization

/// Decodes a file block by block on one thread and converts it a segment at
/// a time on worker threads as the input arrives, so decoding overlaps
/// conversion and the first seconds are ready long before the last.
///
/// Segments start on input frames where the output phase is whole (as in
/// ``ResamplingPlan``) and grow from a quarter of a second to about six, so
/// the first ones are done within milliseconds; each converter reads
/// `margin` frames either side, which are dropped. Converted segments are
/// published in order through the clip's ``ClipProgress``.
///
/// Where the output goes: when the file's length is known and checked
/// (``AudioFile/frameCountIsBoundedBySize``, or its last frame found by a
/// seek), straight into the clip's storage, allocated at once; otherwise
/// into one buffer per segment, joined when the file ends (a header's count
/// is never trusted for memory).
final class ClipPipeline: @unchecked Sendable {
    /// Input frames of one segment and its margins, copied out of the decoder's window.
    private struct Job: @unchecked Sendable {
        let index: Int
        /// Planar: `channels` runs of `count` frames, from input frame `paddedStart`.
        let input: UnsafeMutablePointer<Float>
        let count: Int
        let paddedStart: Int
        /// Output frames this segment writes.
        let output: Range<Int>
    }

    /// A converted segment's own samples (planar, `frames` per channel), when the length is unknown.
    private struct Piece: @unchecked Sendable {
        let samples: UnsafeMutablePointer<Float>
        let frames: Int
    }

    /// What the workers and the decoder share, under `state`.
    private struct State {
        var jobs: [Job] = []
        var decoderDone = false
        var failure: AMIOError?
        var cancelled = false
        /// Output ends of finished segments not yet contiguous with the ready prefix.
        var finished: [Int: Int] = [:]
        var nextToPublish = 0
        var ready = 0
        /// Segment buffers when the length is unknown: index → (samples, frames).
        var pieces: [Int: Piece] = [:]
    }

    let file: AudioFile
    let channels: Int
    let sourceRate: Int
    let targetRate: Int
    let quality: ResamplingQuality
    let workers: Int
    /// The storage written in place when the length is known; nil otherwise.
    let storage: ClipStorage?
    let progress: ClipProgress
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let allDone = DispatchGroup()
    private let onProgress: (@Sendable (Double) -> Void)?
    private let grid: SegmentGrid
    /// Input frames each converter reads either side of its segment (none at the file's rate).
    private let margin: Int
    /// The output frames when the length is known.
    private let knownOutputFrames: Int?
    /// The clip, set once the pipeline is done (with a known length, at once).
    private let finishedClip = Mutex<AudioClip?>(nil)

    /// Opens the pipeline on an open `file`; `start()` runs it.
    ///
    /// - Parameter trustedFrames: The file's length, checked: the output is
    ///   allocated for it at once. Nil when it is unknown or unchecked.
    init(file: AudioFile, trustedFrames: Int?, to targetRate: Int, quality: ResamplingQuality, workers: Int,
         progress onProgress: (@Sendable (Double) -> Void)?) throws(AMIOError) {
        self.file = file
        channels = file.channelCount
        sourceRate = file.sampleRate
        self.targetRate = targetRate
        self.quality = quality
        self.workers = max(1, workers)
        self.onProgress = onProgress
        if sourceRate != targetRate { try Resampler.check(from: sourceRate, to: targetRate) }
        grid = SegmentGrid(from: sourceRate, to: targetRate)
        margin = sourceRate == targetRate ? 0 : grid.margin
        progress = try ClipProgress()
        if let trustedFrames {
            let outputFrames = grid.outputFrames(forInput: trustedFrames)
            knownOutputFrames = outputFrames
            let samples = try ClipStorage.allocate(frames: outputFrames, channels: channels, zeroed: true)
            storage = ClipStorage(frameCount: outputFrames, channelCount: channels, adopting: samples, progress: progress)
        } else {
            knownOutputFrames = nil
            storage = nil
        }
    }

    /// Input frames of segment `index`: a quarter of a second doubling up to
    /// about six seconds (2^18 frames), rounded to multiples of q, and never
    /// shorter than eight margins (the overlap would cost more than it saves).
    private func segmentLength(_ index: Int) -> Int {
        let first = max(sourceRate / 4, 8 * margin, 1024)
        let longest = max(1 << 18, first)
        let length = index >= 20 ? longest : min(longest, first << index)
        return (length + grid.q - 1) / grid.q * grid.q
    }

    /// Starts the decoder and the workers on threads of their own; in the
    /// `background` (a clip that plays while it loads), at a nice value of
    /// 10, so that under a server without realtime scheduling the process
    /// and bridge threads keep nine tenths of a busy core.
    func start(background: Bool = false) {
        for _ in 0...workers { allDone.enter() }
        func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
            let thread = Thread { [self] in
                // The calling thread's: Linux keeps nice values per thread.
                if background { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
                body()
                allDone.leave()
            }
            thread.name = name
            thread.start()
        }
        spawn("amio-decode") { [self] in decode() }
        for number in 0..<workers { spawn("amio-convert-\(number)") { [self] in work() } }
        // The threads hold the pipeline until they are done.
        allDone.notify(queue: .global()) { [self] in complete() }
    }

    /// Asks the pipeline to stop; it finishes with ``AMIOError/cancelled``.
    func cancel() {
        state.withLock { $0.cancelled = true }
        for _ in 0..<workers { wake.signal() }
    }

    private var shouldStop: Bool { state.withLock { $0.cancelled || $0.failure != nil } }

    private func fail(_ error: AMIOError) {
        state.withLock { $0.failure = $0.failure ?? error }
        for _ in 0..<workers { wake.signal() }
    }

    // MARK: Decoding

    /// Reads the file into a window of planar input and cuts jobs from it.
    private func decode() {
        defer {
            state.withLock { $0.decoderDone = true }
            for _ in 0..<workers { wake.signal() }
        }
        let block = min(65536, max(256, (1 << 20) / channels))
        var interleaved = [Float](repeating: 0, count: block * channels)
        var index = 0
        var start = 0
        var end = segmentLength(0)
        do throws(AMIOError) {
            var window = try InputWindow(channels: channels)
            while !shouldStop {
                let read = try interleaved.withUnsafeMutableBufferPointer { buffer throws(AMIOError) in
                    try file.read(into: buffer)
                }
                if read == 0 { break }
                try interleaved.withUnsafeBufferPointer { buffer throws(AMIOError) in
                    try window.append(interleaved: buffer.baseAddress!, frames: read)
                }
                // Every segment whose input and right margin are in.
                while window.end >= end + margin {
                    try submit(index: index, input: start..<end, from: &window, last: false)
                    index += 1
                    start = end
                    end = start + segmentLength(index)
                }
            }
            if shouldStop { return }
            let total = window.end
            guard total > 0 else {
                throw AMIOError.fileError(path: file.url.path, problem: .empty, message: "the file holds no audio frames")
            }
            if let known = knownOutputFrames, grid.outputFrames(forInput: total) != known {
                // A length found by a seek yet not read: the file changed, or its decoder disagrees.
                throw AMIOError.fileError(path: file.url.path, problem: .corrupt,
                                          message: "it decodes to \(total) frames, not the \(file.frameCount ?? 0) its header announces")
            }
            if start < total { try submit(index: index, input: start..<total, from: &window, last: true) }
        } catch {
            fail(error)
        }
    }

    /// Copies segment `index`'s input and margins out of the window, queues
    /// it, and lets the window forget what no later segment needs.
    private func submit(index: Int, input: Range<Int>, from window: inout InputWindow, last: Bool) throws(AMIOError) {
        let padded = max(0, input.lowerBound - margin)..<min(window.end, input.upperBound + margin)
        let samples = try ClipStorage.allocate(frames: padded.count, channels: channels)
        window.copy(padded, into: samples)
        let outputEnd = last ? grid.outputFrames(forInput: input.upperBound) : grid.outputFrame(input.upperBound)
        let job = Job(index: index, input: samples, count: padded.count, paddedStart: padded.lowerBound,
                      output: grid.outputFrame(input.lowerBound)..<outputEnd)
        state.withLock { $0.jobs.append(job) }
        wake.signal()
        window.forget(before: input.upperBound - margin)
    }

    // MARK: Converting

    /// Takes jobs in order until the decoder is done and none is left, each
    /// worker with one converter it clears between segments.
    private func work() {
        if sourceRate == targetRate {
            takeJobs { job throws(AMIOError) in try copy(job) }
        } else {
            do throws(AMIOError) {
                var resampler = try Resampler(channels: channels, from: sourceRate, to: targetRate, quality: quality)
                takeJobs { job throws(AMIOError) in try convert(job, with: &resampler) }
            } catch {
                fail(error)
            }
        }
        // Jobs never taken (after a failure) are freed by whoever is last out.
        let leftovers: [Job] = state.withLock { state in
            defer { state.jobs = [] }
            return state.jobs
        }
        for job in leftovers { free(job.input) }
    }

    private func takeJobs(_ body: (Job) throws(AMIOError) -> Void) {
        while true {
            let next: Job?? = state.withLock { state in
                if state.cancelled || state.failure != nil { return .some(nil) }
                if !state.jobs.isEmpty {
                    return state.jobs.removeFirst()
                }
                return state.decoderDone ? .some(nil) : nil
            }
            guard let next else {
                wake.wait()
                continue
            }
            guard let job = next else {
                // Let the other workers see the end too.
                wake.signal()
                return
            }
            defer { free(job.input) }
            do throws(AMIOError) {
                try body(job)
            } catch {
                fail(error)
            }
        }
    }

    /// Where a segment's output goes: the clip's storage, or a piece of its own.
    private func destination(for job: Job) throws(AMIOError) -> (samples: UnsafeMutablePointer<Float>, stride: Int, piece: Bool) {
        if let storage { return (storage.samples + job.output.lowerBound, storage.frameCount, false) }
        return (try ClipStorage.allocate(frames: job.output.count, channels: channels), job.output.count, true)
    }

    /// A segment at the file's own rate: its frames as they are.
    private func copy(_ job: Job) throws(AMIOError) {
        let (destination, stride, piece) = try destination(for: job)
        for channel in 0..<channels {
            (destination + channel * stride).update(from: job.input + channel * job.count + (job.output.lowerBound - job.paddedStart),
                                                    count: job.output.count)
        }
        segmentDone(job, piece: piece ? destination : nil)
    }

    private func convert(_ job: Job, with resampler: inout Resampler) throws(AMIOError) {
        try resampler.reset()
        let inputs = (0..<channels).map { UnsafePointer(job.input + $0 * job.count) }
        let (destination, stride, piece) = try destination(for: job)
        try resampler.convertSegment(inputs, frames: job.count, from: job.paddedStart, grid: grid, output: job.output,
                                     into: destination, stride: stride)
        segmentDone(job, piece: piece ? destination : nil)
    }

    /// Records a finished segment and publishes the ready prefix.
    private func segmentDone(_ job: Job, piece: UnsafeMutablePointer<Float>?) {
        let ready: Int? = state.withLock { state in
            if let piece { state.pieces[job.index] = Piece(samples: piece, frames: job.output.count) }
            state.finished[job.index] = job.output.upperBound
            var advanced = false
            while let end = state.finished.removeValue(forKey: state.nextToPublish) {
                state.ready = end
                state.nextToPublish += 1
                advanced = true
            }
            return advanced ? state.ready : nil
        }
        guard let ready else { return }
        // Only storage written in place is published; pieces are joined at the end.
        if storage != nil {
            progress.publish(ready)
            readyAdvanced(to: ready)
        }
        // An unchecked length is good enough for a progress bar.
        let expected = knownOutputFrames ?? grid.outputFrames(forInput: file.frameCount ?? 0)
        if expected > 0 { onProgress?(min(1, Double(ready) / Double(expected))) }
    }

    /// Who waits for frames to be ready (``ready(atLeast:)``): the frames it
    /// wants, and whether the pipeline has ended.
    private let readyWaiter = Mutex<(wanted: Int, ended: Bool, continuation: CheckedContinuation<Void, Never>?)>((0, false, nil))

    /// Wakes the waiter once `ready` frames (published before this call)
    /// reach what it wants, or, `ended`, in any case.
    private func readyAdvanced(to ready: Int, ended: Bool = false) {
        readyWaiter.withLock { waiter -> CheckedContinuation<Void, Never>? in
            if ended { waiter.ended = true }
            guard let continuation = waiter.continuation, ended || ready >= waiter.wanted else { return nil }
            waiter.continuation = nil
            return continuation
        }?.resume()
    }

    /// Ends a ``ready(atLeast:)`` early (its task was cancelled).
    func wakeReadyWaiter() {
        readyWaiter.withLock { waiter -> CheckedContinuation<Void, Never>? in
            defer { waiter.continuation = nil }
            return waiter.continuation
        }?.resume()
    }

    /// Returns once `frames` frames are published, or the pipeline is done
    /// (one caller at a time).
    func ready(atLeast frames: Int) async {
        await withCheckedContinuation { continuation in
            // Inside the lock: a segment published after this check wakes the waiter.
            let now = readyWaiter.withLock { waiter -> Bool in
                if waiter.ended || progress.readyFrames >= frames { return true }
                waiter.wanted = frames
                waiter.continuation = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    // MARK: Completion

    /// After every thread is done: joins the pieces and finishes the progress.
    private func complete() {
        let (failure, cancelled, pieces) = state.withLock { state in
            defer { state.pieces = [:] }
            return (state.failure, state.cancelled, state.pieces)
        }
        file.close()
        defer { readyAdvanced(to: 0, ended: true) }
        if let failure = failure ?? (cancelled ? AMIOError.cancelled : nil) {
            for piece in pieces.values { free(piece.samples) }
            progress.finish(.failure(failure))
            return
        }
        if let storage {
            progress.publish(storage.frameCount)
            finishedClip.withLock { $0 = AudioClip(storage: storage, sampleRate: targetRate) }
            onProgress?(1)
            progress.finish(.success(()))
            return
        }
        let frames = pieces.values.reduce(0) { $0 + $1.frames }
        do throws(AMIOError) {
            let samples = try ClipStorage.allocate(frames: frames, channels: channels)
            var at = 0
            for index in pieces.keys.sorted() {
                let piece = pieces[index]!
                for channel in 0..<channels {
                    (samples + channel * frames + at).update(from: piece.samples + channel * piece.frames, count: piece.frames)
                }
                at += piece.frames
                free(piece.samples)
            }
            let joined = ClipStorage(frameCount: frames, channelCount: channels, adopting: samples)
            finishedClip.withLock { $0 = AudioClip(storage: joined, sampleRate: targetRate) }
            onProgress?(1)
            progress.finish(.success(()))
        } catch {
            for piece in pieces.values { free(piece.samples) }
            progress.finish(.failure(error))
        }
    }

    /// The clip as it is now: its storage still being written when the
    /// length is known; nil when it is unknown and the pipeline is not done.
    var clip: AudioClip? {
        if let storage { return AudioClip(storage: storage, sampleRate: targetRate) }
        return finishedClip.withLock { $0 }
    }

    /// Waits for the end and returns the complete clip (or the failure).
    func finished() async throws(AMIOError) -> AudioClip {
        // Cancelling the task stops the workers at once, not once this task runs again.
        let result = await withTaskCancellationHandler { await progress.done() } onCancel: { cancel() }
        guard let result else { throw .cancelled }
        try result.get()
        return finishedClip.withLock { $0 }!
    }
}

/// The decoder's planar input from input frame `start` on: the frames read
/// and not yet given to a segment, in storage that grows as they arrive.
private struct InputWindow: ~Copyable {
    private(set) var start = 0
    private var held: GrowingPlanarStorage

    init(channels: Int) throws(AMIOError) { held = try GrowingPlanarStorage(channels: channels, capacity: 1 << 16) }

    /// The input frame after the last one read.
    var end: Int { start + held.frames }

    mutating func append(interleaved: UnsafePointer<Float>, frames added: Int) throws(AMIOError) {
        try held.append(interleaved: interleaved, frames: added)
    }

    /// Copies input frames `range` (inside the window) into planar `destination`.
    func copy(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        guard !range.isEmpty else { return }
        held.copy(range.lowerBound - start..<range.upperBound - start, into: destination)
    }

    /// Drops the frames before input frame `frame`.
    mutating func forget(before frame: Int) {
        let dropped = min(held.frames, max(0, frame - start))
        held.removeFirst(dropped)
        start += dropped
    }
}
