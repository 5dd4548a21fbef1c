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
    /// - Parameters:
    ///   - url: A file libsndfile can read.
    ///   - rate: The sample rate the clip must have (the interface's, say).
    ///   - quality: The converter, when the file's rate differs.
    ///   - progress: Called now and then with the fraction done, 0…1.
    /// - Throws: As ``init(contentsOf:progress:)``, and ``AMIOError/resamplingFailed(message:)``.
    public init(contentsOf url: URL, resamplingTo rate: Int, quality: ResamplingQuality = .best,
                progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) {
        self = try await Self.offCallerThread {
            Self.attempt { () throws(AMIOError) in try Self.load(url, resamplingTo: rate, quality: quality, progress: progress) }
        }
    }

    private static func load(_ url: URL, resamplingTo rate: Int, quality: ResamplingQuality,
                             progress: (@Sendable (Double) -> Void)?) throws(AMIOError) -> AudioClip {
        var halfway: (@Sendable (Double) -> Void)? = nil
        if let progress { halfway = { progress($0 * 0.5) } }
        let clip = try load(url, progress: halfway)
        if Task.isCancelled { throw .cancelled }
        let converted = try clip.resampled(to: rate, quality: quality)
        progress?(1)
        return converted
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

    /// Reads the file in blocks straight into the clip's planar storage.
    static func load(_ url: URL, progress: (@Sendable (Double) -> Void)?) throws(AMIOError) -> AudioClip {
        let file = try AudioFile(contentsOf: url)
        let frames = file.frameCount, channels = file.channelCount
        let samples = UnsafeMutablePointer<Float>.allocate(capacity: max(1, frames * channels))
        var adopted = false
        defer { if !adopted { samples.deallocate() } }
        let block = 65536
        var interleaved = [Float](repeating: 0, count: block * channels)
        var done = 0
        while done < frames {
            if Task.isCancelled { throw .cancelled }
            let read = try interleaved.withUnsafeMutableBufferPointer { buffer throws(AMIOError) in try file.read(into: buffer) }
            if read == 0 { break }
            for channel in 0..<channels {
                let destination = samples + channel * frames + done
                for frame in 0..<read { destination[frame] = interleaved[frame * channels + channel] }
            }
            done += read
            progress?(Double(done) / Double(frames))
        }
        adopted = true
        var clip = AudioClip(storage: ClipStorage(frameCount: frames, channelCount: channels, adopting: samples),
                             sampleRate: file.sampleRate)
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
