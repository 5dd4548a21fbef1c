import Foundation

/// A file loading into a clip that plays before it is loaded: sound first,
/// conversion after.
///
/// The file is decoded block by block and converted a few seconds at a time
/// on every core, front to back. ``clip`` has its full length once the
/// first second is converted, and can be scheduled right away: the mixer plays the frames converted so far
/// (``readyFrames``), which run far ahead of any playback (a 10-minute
/// stereo file converts in about 4 seconds on 2 cores), and counts any frame
/// it reaches before it is ready (``starvedFrames``, played as silence).
///
/// ```swift
/// import AMIO
/// import Foundation
///
/// let load = try await AudioClipLoad(contentsOf: URL(fileURLWithPath: "take.flac"), resamplingTo: 48_000)
/// print("\(load.readyFrames) of \(load.clip.frameCount) frames ready")
/// let clip = try await load.complete()   // the same clip, every sample written
/// print(clip.frameCount, load.starvedFrames)
/// ```
///
/// A clip plays before it is loaded only when its length is known from the
/// start: the file's header gives it and, for compressed files, a seek finds
/// its last frame there. Otherwise (standard input, a header without a
/// count, or a count that is not there) the initialiser returns once the
/// whole file is loaded, as ``AudioClip/init(contentsOf:resamplingTo:quality:cache:progress:)`` does.
///
/// Reading the clip's samples from Swift (``AudioClip/samples(channel:)``,
/// ``AudioClip/write(to:format:encoding:dither:)`` …) waits until the load is
/// complete. When decoding fails midway, ``complete()`` throws; the frames
/// after the failure stay silent.
public final class AudioClipLoad: Sendable {
    /// The clip, at its full length, whose samples arrive front to back.
    public let clip: AudioClip

    private let pipeline: ClipPipeline?

    /// Frames of every channel converted and playable; ``AudioClip/frameCount`` once complete.
    public var readyFrames: Int {
        guard let progress = clip.storage.progress else { return clip.frameCount }
        return progress.readyFrames
    }

    /// Frames the mixer reached before they were ready, and played as
    /// silence (summed over the playspec entries that reached them).
    public var starvedFrames: Int { clip.storage.progress?.starvedFrames ?? 0 }

    /// Whether the load is over: every sample written, or the load failed.
    public var isFinished: Bool { clip.storage.progress.map { $0.result != nil } ?? true }

    /// The error that stopped the load, once one has (what ``complete()`` throws).
    public var error: AMIOError? {
        guard case .failure(let error)? = clip.storage.progress?.result else { return nil }
        return error
    }

    /// Starts loading `url`, converted to `rate`, and returns once its first
    /// second is playable (segments of a quarter, a half and a whole second:
    /// milliseconds of work).
    ///
    /// - Parameters:
    ///   - url: A file libsndfile can read.
    ///   - raw: What a headerless file holds (sox's `-t raw`); nil reads the header.
    ///   - rate: The sample rate the clip must have (the interface's, say).
    ///   - quality: The converter, when the file's rate differs.
    ///   - cache: Where conversions are kept (``ConversionCache``): a file
    ///     converted before comes back from it complete; one converted now is
    ///     stored there once complete. Nil converts anew and stores nothing.
    ///   - progress: Called now and then, on a loading thread, with the fraction done, 0…1.
    /// - Throws: As ``AudioClip/init(contentsOf:resamplingTo:quality:cache:progress:)``:
    ///   ``AMIOError/fileError(path:problem:message:)`` for a missing, unreadable,
    ///   empty, corrupt or unsupported file (or one that cannot be converted to
    ///   `rate`), ``AMIOError/outOfMemory``, ``AMIOError/cancelled``.
    public init(contentsOf url: URL, raw: RawAudioFormat? = nil, resamplingTo rate: Int,
                quality: ResamplingQuality = .best, cache: ConversionCache? = .standard,
                progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) {
        if let raw { try raw.validate() }
        let cached = raw == nil ? cache?.lookUp(url, resampledTo: rate, quality: quality) : nil
        if let clip = cached?.clip {
            progress?(1)
            self.clip = clip
            pipeline = nil
            return
        }
        let pipeline = try AudioClip.pipeline(for: url, raw: raw, resamplingTo: rate, quality: quality, progress: progress)
        pipeline.start(background: true)
        if let cached, pipeline.sourceRate != rate {
            // Stored once complete, off the caller's way (a process that
            // ends first leaves a temporary the cache later removes).
            Task.detached(priority: .background) {
                if let clip = try? await pipeline.finished() { cached.store(clip) }
            }
        }
        if var clip = pipeline.clip {
            // The length is known: the clip plays once a second of it is in
            // (a few segments, milliseconds of work), a head start that
            // keeps the conversion ahead even on a busy machine.
            let headStart = min(clip.frameCount, rate)
            await withTaskCancellationHandler { await pipeline.ready(atLeast: headStart) } onCancel: { pipeline.cancel() }
            if case .failure(let error)? = pipeline.progress.result { throw error }
            // Cancelled while waiting: the pipeline is stopping.
            if Task.isCancelled { throw .cancelled }
            clip.name = url.lastPathComponent
            self.clip = clip
            self.pipeline = pipeline
        } else {
            var clip = try await pipeline.finished()
            clip.name = url.lastPathComponent
            self.clip = clip
            self.pipeline = nil
        }
    }

    /// Waits until every sample is written.
    ///
    /// - Returns: ``clip``, complete.
    /// - Throws: The error that stopped the load (``AMIOError/fileError(path:problem:message:)``
    ///   for a file that turns out truncated or corrupt); ``AMIOError/cancelled``
    ///   when the task is cancelled (the load goes on) or the load was.
    public func complete() async throws(AMIOError) -> AudioClip {
        guard let progress = clip.storage.progress else { return clip }
        guard let result = await progress.done() else { throw .cancelled }
        try result.get()
        return clip
    }

    /// Waits until frames `0..<frames` are converted (or the load is over):
    /// before playing from inside the clip, where the load has not yet come.
    ///
    /// - Parameter frames: The frames wanted from the start; beyond
    ///   ``AudioClip/frameCount`` waits for the whole clip.
    /// - Throws: The error that stopped the load; ``AMIOError/cancelled``
    ///   when the task is cancelled (the load goes on).
    public func waitUntilReady(frames: Int) async throws(AMIOError) {
        if let error { throw error }
        guard let pipeline, readyFrames < min(frames, clip.frameCount) else { return }
        await withTaskCancellationHandler {
            await pipeline.ready(atLeast: min(frames, clip.frameCount))
        } onCancel: {
            pipeline.wakeReadyWaiter()
        }
        if Task.isCancelled { throw .cancelled }
        if let error { throw error }
    }

    /// Waits, for every load in `loads`, until the frames `playspec` reads of
    /// its clip over the `seconds` after timeline frame `frame` are
    /// converted: what a caller does before it plays `playspec` from `frame`.
    ///
    /// - Parameters:
    ///   - loads: Loads whose clips `playspec` may play.
    ///   - playspec: The playspec to play.
    ///   - frame: Where on the timeline it will play from.
    ///   - frames: How far past `frame` to look, in frames (a second of them, say).
    /// - Throws: As ``waitUntilReady(frames:)``.
    public static func waitUntilReady(_ loads: [AudioClipLoad], toPlay playspec: Playspec, from frame: FramePosition,
                                      for frames: FrameCount) async throws(AMIOError) {
        let wanted = playspec.clipFramesRead(in: frame..<(frame &+ FramePosition(max(0, frames))))
        for load in loads {
            if let needed = wanted[ObjectIdentifier(load.clip.storage)] { try await load.waitUntilReady(frames: needed) }
        }
    }

    /// Stops the load: the frames not yet converted stay silent and
    /// ``complete()`` throws ``AMIOError/cancelled``.
    public func cancel() { pipeline?.cancel() }
}

extension AudioClip {
    /// A pipeline that loads `url` and converts it to `rate`, not yet started.
    static func pipeline(for url: URL, raw: RawAudioFormat?, resamplingTo rate: Int, quality: ResamplingQuality,
                         progress: (@Sendable (Double) -> Void)?) throws(AMIOError) -> ClipPipeline {
        let file: AudioFile
        if let raw { file = try AudioFile(forReading: url, raw: raw) } else { file = try AudioFile(forReading: url) }
        do {
            return try ClipPipeline(file: file, trustedFrames: checkedFrameCount(of: file, raw: raw), to: rate, quality: quality,
                                    workers: ProcessInfo.processInfo.activeProcessorCount, progress: progress)
        } catch let .invalidArgument(_, reason) {
            // The file's rate, not the caller's argument, is what is wrong.
            throw .fileError(path: url.path, problem: .unsupported, message: "it cannot be converted to \(rate) Hz: \(reason)")
        }
    }

    /// The file's length when it can be trusted for memory: a count bounded
    /// by the file's size, or one whose last frame a second reader finds by
    /// seeking there (a compressed file's header is only a claim).
    static func checkedFrameCount(of file: AudioFile, raw: RawAudioFormat?) -> Int? {
        guard let frames = file.frameCount, frames > 0 else { return nil }
        if file.frameCountIsBoundedBySize { return frames }
        guard raw == nil, let probe = try? AudioFile(forReading: file.url) else { return nil }
        defer { probe.close() }
        guard probe.frameCount == frames, (try? probe.seek(to: frames - 1)) != nil else { return nil }
        var last = [Float](repeating: 0, count: probe.channelCount)
        let read = last.withUnsafeMutableBufferPointer { buffer in (try? probe.read(into: buffer)) ?? 0 }
        return read == 1 ? frames : nil
    }
}
