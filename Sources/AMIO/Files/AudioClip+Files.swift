import Foundation

extension AudioClip {
    /// Loads a whole audio file into a clip, off the caller's thread.
    ///
    /// - Parameters:
    ///   - url: A file libsndfile can read.
    ///   - progress: Called now and then with the fraction loaded, 0…1.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` for a missing,
    ///   unreadable, empty, truncated, corrupt or unsupported file;
    ///   ``AMIOError/cancelled`` when the task is cancelled.
    public init(contentsOf url: URL, progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) {
        self = try await Self.offCallerThread { Self.attempt { () throws(AMIOError) in try Self.load(url, progress: progress) } }
    }

    /// Loads a whole audio file and converts it to `rate`, off the caller's thread.
    ///
    /// A file converted before is read back from `cache` instead (and a
    /// conversion stored there for next time): see ``ConversionCache``.
    ///
    /// - Parameters:
    ///   - url: A file libsndfile can read.
    ///   - rate: The sample rate the clip must have (the interface's, say).
    ///   - quality: The converter, when the file's rate differs.
    ///   - cache: Where conversions are kept: by default the user's
    ///     (``ConversionCache/standard``, which `AMIO_CONVERSION_CACHE=off`
    ///     turns off); nil converts anew and stores nothing. Only a regular
    ///     file whose rate differs from `rate` is stored; failing to store
    ///     never fails the load.
    ///   - progress: Called now and then with the fraction done, 0…1.
    /// - Throws: As ``init(contentsOf:progress:)``, and ``AMIOError/resamplingFailed(message:)``.
    public init(contentsOf url: URL, resamplingTo rate: Int, quality: ResamplingQuality = .best,
                cache: ConversionCache? = .standard,
                progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) {
        self = try await Self.load(url, raw: nil, resamplingTo: rate, quality: quality, cache: cache, progress: progress)
    }

    /// Loads a whole file of headerless samples (sox's `-t raw`) and converts
    /// it to `rate`, off the caller's thread.
    ///
    /// - Parameters:
    ///   - url: The file.
    ///   - format: What the samples are: their rate, channels and encoding.
    ///   - rate: The sample rate the clip must have.
    ///   - quality: The converter, when the rates differ.
    ///   - progress: Called now and then with the fraction done, 0…1.
    /// - Throws: As ``init(contentsOf:resamplingTo:quality:cache:progress:)``, and
    ///   ``AMIOError/invalidArgument(name:reason:)`` for a format libsndfile cannot read raw.
    public init(contentsOf url: URL, raw format: RawAudioFormat, resamplingTo rate: Int, quality: ResamplingQuality = .best,
                progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) {
        try format.validate()
        self = try await Self.load(url, raw: format, resamplingTo: rate, quality: quality, progress: progress)
    }

    /// Reads the conversion back from `cache`, or decodes and converts at
    /// once (``ClipPipeline``: blocks of the file go to converters on every
    /// core as they are read) and stores the result there.
    private static func load(_ url: URL, raw: RawAudioFormat?, resamplingTo rate: Int, quality: ResamplingQuality,
                             cache: ConversionCache? = nil,
                             progress: (@Sendable (Double) -> Void)?) async throws(AMIOError) -> AudioClip {
        let cached = raw == nil ? cache?.lookUp(url, resampledTo: rate, quality: quality) : nil
        if let clip = cached?.clip {
            progress?(1)
            return clip
        }
        let pipeline = try pipeline(for: url, raw: raw, resamplingTo: rate, quality: quality, progress: progress)
        pipeline.start()
        var clip = try await pipeline.finished()
        clip.name = url.lastPathComponent
        if pipeline.sourceRate != rate { cached?.store(clip) }
        return clip
    }

    private static func attempt(_ body: () throws(AMIOError) -> AudioClip) -> Result<AudioClip, AMIOError> {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    /// Runs `work` on a detached task, passing cancellation through.
    private static func offCallerThread(_ work: @escaping @Sendable () -> Result<AudioClip, AMIOError>) async throws(AMIOError) -> AudioClip {
        let task = Task.detached { work() }
        let result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        return try result.get()
    }

    /// Reads the file in blocks into the clip's planar storage, which grows
    /// with what is actually read: a header's frame count is never trusted
    /// for memory (a FLAC may announce 2^36 frames and hold 24 000, or not
    /// say at all).
    static func load(_ url: URL, raw: RawAudioFormat? = nil, progress: (@Sendable (Double) -> Void)?) throws(AMIOError) -> AudioClip {
        let file: AudioFile
        if let raw { file = try AudioFile(forReading: url, raw: raw) } else { file = try AudioFile(forReading: url) }
        let channels = file.channelCount
        // A count checked against the file's size is room enough; any other
        // is only a first guess.
        let firstGuess = file.frameCountIsBoundedBySize ? (file.frameCount ?? 0) : min(file.frameCount ?? 0, 1 << 20)
        var storage = try GrowingPlanarStorage(channels: channels, capacity: max(firstGuess, 4096))
        // Blocks of at most 4 MiB whatever the channel count.
        let block = min(65536, max(256, (1 << 20) / channels))
        var interleaved = [Float](repeating: 0, count: block * channels)
        while true {
            if Task.isCancelled { throw .cancelled }
            let read = try interleaved.withUnsafeMutableBufferPointer { buffer throws(AMIOError) in try file.read(into: buffer) }
            if read == 0 { break }
            try interleaved.withUnsafeBufferPointer { buffer throws(AMIOError) in
                try storage.append(interleaved: buffer.baseAddress!, frames: read)
            }
            if let total = file.frameCount { progress?(Double(storage.frames) / Double(total)) }
        }
        guard storage.frames > 0 else {
            throw .fileError(path: url.path, problem: .empty, message: "the file holds no audio frames")
        }
        progress?(1)
        var clip = AudioClip(storage: storage.finish(), sampleRate: file.sampleRate)
        clip.name = url.lastPathComponent
        return clip
    }

    /// Writes the clip to an audio file.
    ///
    /// - Parameters:
    ///   - url: The file to create or replace.
    ///   - format: The container; by default the one the extension names, else WAV.
    ///   - encoding: The sample encoding (`pcm16`, `pcm24`, `pcm32`, `float`, `vorbis` …).
    ///   - dither: TPDF-dither 16-bit output.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` for a format
    ///   libsndfile cannot write or a write that fails; the file is then closed
    ///   with a valid header.
    public func write(to url: URL, format: AudioFileFormat? = nil, encoding: AudioFileEncoding = .pcm24,
                      dither: Bool = false) throws(AMIOError) {
        let writer = try AudioFileWriter(url: url, format: format ?? AudioFileFormat(fileExtensionOf: url) ?? .wav,
                                         encoding: encoding, channelCount: channelCount, sampleRate: sampleRate,
                                         dither: dither)
        storage.waitUntilWritten()
        let block = 65536
        var start = 0
        while start < frameCount {
            let count = min(block, frameCount - start)
            let channels = (0..<channelCount).map {
                UnsafeBufferPointer(start: storage.samples + $0 * frameCount + start, count: count)
            }
            try writer.write(planar: channels)
            start += count
        }
        try writer.close()
    }
}

/// Planar Float32 samples of a clip being read, in storage that grows as
/// frames arrive (allocated with `malloc`, so that memory running short is
/// ``AMIOError/outOfMemory``, never a trap).
struct GrowingPlanarStorage: ~Copyable {
    let channels: Int
    private(set) var frames = 0
    private var capacity: Int
    private var samples: UnsafeMutablePointer<Float>

    init(channels: Int, capacity: Int) throws(AMIOError) {
        self.channels = channels
        self.capacity = capacity
        samples = try ClipStorage.allocate(frames: capacity, channels: channels)
    }

    deinit { free(samples) }

    /// Appends `frames` interleaved frames.
    mutating func append(interleaved: UnsafePointer<Float>, frames added: Int) throws(AMIOError) {
        if frames + added > capacity {
            let grown = max(frames + added, capacity.multipliedReportingOverflow(by: 2).overflow ? frames + added : capacity * 2)
            let larger = try ClipStorage.allocate(frames: grown, channels: channels)
            for channel in 0..<channels {
                (larger + channel * grown).update(from: samples + channel * capacity, count: frames)
            }
            free(samples)
            samples = larger
            capacity = grown
        }
        for channel in 0..<channels {
            let destination = samples + channel * capacity + frames
            for frame in 0..<added { destination[frame] = interleaved[frame * channels + channel] }
        }
        frames += added
    }

    /// Copies frames `range` (of those held) into planar `destination`,
    /// `range.count` frames per channel.
    func copy(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        for channel in 0..<channels {
            (destination + channel * range.count).update(from: samples + channel * capacity + range.lowerBound, count: range.count)
        }
    }

    /// Drops the first `count` frames held; the rest move to the front.
    mutating func removeFirst(_ count: Int) {
        let dropped = min(frames, max(0, count))
        guard dropped > 0 else { return }
        for channel in 0..<channels {
            let base = samples + channel * capacity
            memmove(base, base + dropped, (frames - dropped) * MemoryLayout<Float>.stride)
        }
        frames -= dropped
    }

    /// The storage of a clip of exactly `frames` frames: the channels moved
    /// together (each starts where the one before ends) and the rest given back.
    consuming func finish() -> ClipStorage {
        for channel in 1..<max(1, channels) {
            memmove(samples + channel * frames, samples + channel * capacity, frames * MemoryLayout<Float>.stride)
        }
        let bytes = max(1, frames * channels) * MemoryLayout<Float>.stride
        let fitted = realloc(samples, bytes).map { $0.bindMemory(to: Float.self, capacity: max(1, frames * channels)) } ?? samples
        let storage = ClipStorage(frameCount: frames, channelCount: channels, adopting: fitted)
        discard self
        return storage
    }
}
