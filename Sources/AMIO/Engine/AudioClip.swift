import CAMIO
import Foundation
import Synchronization

/// Planar Float32 samples, allocated once and never written again, so the
/// realtime thread may read them through raw pointers while Swift shares them.
final class ClipStorage: @unchecked Sendable {
    let frameCount: Int
    let channelCount: Int
    let samples: UnsafeMutablePointer<Float>
    /// One pointer per channel into `samples`, in the form the C mixer takes.
    let channelPointers: UnsafeMutablePointer<UnsafePointer<Float>>
    /// For samples still being written (a file loading while it plays), how
    /// far the writer has come; nil for storage filled when it was made.
    let progress: ClipProgress?

    init(frameCount: Int, channelCount: Int, fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.frameCount = frameCount
        self.channelCount = channelCount
        // Made from samples already in memory: out of memory here is the
        // caller's arrays' fate too.
        guard let allocated = try? Self.allocate(frames: frameCount, channels: channelCount) else {
            fatalError("out of memory for a clip of \(channelCount) × \(frameCount) frames")
        }
        samples = allocated
        progress = nil
        samples.initialize(repeating: 0, count: max(1, frameCount * channelCount))
        fill(samples)
        channelPointers = .allocate(capacity: channelCount)
        for channel in 0..<channelCount {
            channelPointers[channel] = UnsafePointer(samples + channel * frameCount)
        }
    }

    /// Room for `frames` × `channels` floats from `malloc`, uninitialised
    /// (`zeroed`: from `calloc`, whose pages the kernel maps as they are
    /// first written): memory that runs short (or a size beyond any memory)
    /// is ``AMIOError/outOfMemory``, not a trap. For ``init(frameCount:channelCount:adopting:progress:)``.
    static func allocate(frames: Int, channels: Int, zeroed: Bool = false) throws(AMIOError) -> UnsafeMutablePointer<Float> {
        let (count, overflow) = frames.multipliedReportingOverflow(by: channels)
        let (bytes, overflowBytes) = max(1, count).multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard frames >= 0, channels >= 0, !overflow, !overflowBytes,
              let raw = zeroed ? calloc(max(1, count), MemoryLayout<Float>.stride) : malloc(bytes) else { throw .outOfMemory }
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// Returns once every sample is written: at once for storage filled
    /// when it was made, else when its writer is done.
    func waitUntilWritten() { progress?.wait() }

    /// Takes ownership of `samples`: `channelCount * frameCount` planar floats
    /// (at least one) from ``allocate(frames:channels:)`` (or `malloc`). With
    /// a `progress`, the samples are still being written (zeroed where not yet).
    init(frameCount: Int, channelCount: Int, adopting samples: UnsafeMutablePointer<Float>,
         progress: ClipProgress? = nil) {
        self.frameCount = frameCount
        self.channelCount = channelCount
        self.samples = samples
        self.progress = progress
        channelPointers = .allocate(capacity: channelCount)
        for channel in 0..<channelCount {
            channelPointers[channel] = UnsafePointer(samples + channel * frameCount)
        }
    }

    /// Whether the samples are locked in RAM: nil until tried. Locking takes
    /// this lock, so two interfaces scheduling the clip at once lock it once.
    private let locked = Mutex<Bool?>(nil)

    /// Locks the samples in RAM (they stay locked while the clip lives), so
    /// the realtime thread never waits for a page to come back from swap.
    /// Returns whether they are locked; tried once per clip.
    func lockInMemory() -> Bool {
        locked.withLock { locked in
            if let locked { return locked }
            // A loader may be writing the samples: locking them must not
            // write back what it read (its pages are written before they are played).
            let result = progress == nil ? camio_pin_memory(samples, byteCount) : camio_lock_memory(samples, byteCount)
            locked = result
            return result
        }
    }

    /// Whether ``lockInMemory()`` locked the samples.
    var isLockedInMemory: Bool { locked.withLock { $0 == true } }

    private var byteCount: Int { max(1, frameCount * channelCount) * MemoryLayout<Float>.stride }

    deinit {
        if locked.withLock({ $0 == true }) { camio_unpin_memory(samples, byteCount) }
        free(samples)
        channelPointers.deallocate()
    }
}

/// An immutable piece of audio: `channelCount` channels of `frameCount`
/// Float32 frames at `sampleRate`.
///
/// The samples are stored planar, one contiguous run per channel, and the
/// realtime mixer reads them in place: scheduling a clip never copies it.
/// Copies of an `AudioClip` share one storage.
public struct AudioClip: Sendable {
    let storage: ClipStorage

    /// Frames per channel.
    public var frameCount: FrameCount { storage.frameCount }
    /// Number of channels.
    public var channelCount: Int { storage.channelCount }
    /// Frames per second.
    public let sampleRate: Int
    /// A name for messages: the file name for clips loaded from a file.
    public var name: String?

    /// Makes a clip from interleaved samples (frame 0 of every channel, then frame 1 …).
    ///
    /// - Parameters:
    ///   - interleaved: The samples; the count must be a multiple of `channels`.
    ///   - channels: The number of channels, at least 1.
    ///   - sampleRate: Frames per second, at least 1.
    /// - Throws: ``AMIOError/invalidClip(reason:)`` when the counts do not fit.
    public init(interleaved: [Float], channels: Int, sampleRate: Int) throws(AMIOError) {
        guard channels >= 1 else { throw .invalidClip(reason: "channels is \(channels); it must be at least 1") }
        guard sampleRate >= 1 else { throw .invalidClip(reason: "sample rate is \(sampleRate); it must be at least 1") }
        guard interleaved.count % channels == 0 else {
            throw .invalidClip(reason: "\(interleaved.count) samples are not a whole number of \(channels)-channel frames")
        }
        let frames = interleaved.count / channels
        storage = ClipStorage(frameCount: frames, channelCount: channels) { planar in
            interleaved.withUnsafeBufferPointer { source in
                for frame in 0..<frames {
                    for channel in 0..<channels {
                        planar[channel * frames + frame] = source[frame * channels + channel]
                    }
                }
            }
        }
        self.sampleRate = sampleRate
    }

    /// Makes a clip from one array of samples per channel.
    ///
    /// - Parameters:
    ///   - channels: The channels' samples; at least one, all of the same length.
    ///   - sampleRate: Frames per second, at least 1.
    /// - Throws: ``AMIOError/invalidClip(reason:)`` when there is no channel or the lengths differ.
    public init(channels: [[Float]], sampleRate: Int) throws(AMIOError) {
        guard let first = channels.first else { throw .invalidClip(reason: "no channels given") }
        guard sampleRate >= 1 else { throw .invalidClip(reason: "sample rate is \(sampleRate); it must be at least 1") }
        if let odd = channels.firstIndex(where: { $0.count != first.count }) {
            throw .invalidClip(reason: "channel \(odd) has \(channels[odd].count) frames, channel 0 has \(first.count)")
        }
        let frames = first.count
        storage = ClipStorage(frameCount: frames, channelCount: channels.count) { planar in
            for (index, channel) in channels.enumerated() {
                channel.withUnsafeBufferPointer { source in
                    if let base = source.baseAddress { (planar + index * frames).update(from: base, count: frames) }
                }
            }
        }
        self.sampleRate = sampleRate
    }

    /// A copy of one channel's samples.
    /// For a clip still loading (``AudioClipLoad/clip``), waits until every
    /// sample is written.
    ///
    /// - Parameter channel: The channel, `0..<channelCount`.
    /// - Returns: The channel's ``frameCount`` samples.
    public func samples(channel: Int) -> [Float] {
        precondition((0..<channelCount).contains(channel), "channel \(channel) is outside 0..<\(channelCount)")
        return withUnsafeSamples(channel: channel) { Array($0) }
    }

    /// Calls `body` with one channel's samples in place, without copying.
    /// For a clip still loading (``AudioClipLoad/clip``), waits until every
    /// sample is written.
    ///
    /// - Parameters:
    ///   - channel: The channel, `0..<channelCount`.
    ///   - body: Reads the samples; the buffer is valid only during the call.
    /// - Returns: What `body` returns.
    public func withUnsafeSamples<R>(channel: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition((0..<channelCount).contains(channel), "channel \(channel) is outside 0..<\(channelCount)")
        storage.waitUntilWritten()
        return try body(UnsafeBufferPointer(start: storage.samples + channel * frameCount, count: frameCount))
    }

    /// One sample.
    /// For a clip still loading (``AudioClipLoad/clip``), waits until every
    /// sample is written (one ``subscript(channel:frame:)`` below
    /// ``AudioClipLoad/readyFrames`` does not wait).
    ///
    /// - Parameters:
    ///   - channel: The channel, `0..<channelCount`.
    ///   - frame: The frame, `0..<frameCount`.
    public subscript(channel channel: Int, frame frame: FrameCount) -> Float {
        precondition((0..<channelCount).contains(channel) && (0..<frameCount).contains(frame),
                     "sample (\(channel), \(frame)) is outside \(channelCount) channels x \(frameCount) frames")
        if frame >= storage.progress?.readyFrames ?? 0 { storage.waitUntilWritten() }
        return storage.samples[channel * frameCount + frame]
    }

    /// Wraps storage that is already filled.
    init(storage: ClipStorage, sampleRate: Int) {
        self.storage = storage
        self.sampleRate = sampleRate
    }

    /// The name if it has one, else its shape, for error messages.
    var label: String { name.map { "'\($0)'" } ?? "(\(channelCount) ch × \(frameCount) frames)" }

    /// The length in seconds.
    public var duration: Double { Double(frameCount) / Double(sampleRate) }
}
