import CSoxr
import Foundation
import Synchronization

/// The converter to use, from best to fastest: one of libsoxr's (the SoX
/// Resampler's) quality recipes, all linear-phase.
///
/// | case | libsoxr recipe | precision (stop-band attenuation) | pass band (0 dB point, of Nyquist) |
/// |---|---|---|---|
/// | ``best`` | `SOXR_VHQ` (sox `rate -v`) | 28 bits (169 dB) | 91.1 % (−3 dB at 95 %) |
/// | ``medium`` | `SOXR_HQ` (sox `rate -h`, sox's default) | 20 bits (120 dB) | 91.4 % (−3 dB at 95 %) |
/// | ``fastest`` | `SOXR_MQ` (sox `rate -m`) | 16 bits (96 dB) | 91.6 % (−3 dB at 95 %) |
/// | ``linear`` | `SOXR_QQ` (sox `rate -q`) | cubic interpolation, not band-limited | — |
public enum ResamplingQuality: String, Sendable, CaseIterable {
    /// libsoxr's very high quality: 28-bit precision (169 dB of stop-band
    /// attenuation), flat to 91 % of Nyquist; what sox `rate -v` does.
    case best
    /// libsoxr's high quality: 20-bit precision (120 dB), flat to 91 % of Nyquist.
    case medium
    /// libsoxr's medium quality: 16-bit precision (96 dB), flat to 91 % of Nyquist.
    case fastest
    /// libsoxr's quick cubic interpolation: fast, and aliases.
    case linear

    var recipe: UInt {
        switch self {
        case .best: UInt(SOXR_VHQ)
        case .medium: UInt(SOXR_HQ)
        case .fastest: UInt(SOXR_MQ)
        case .linear: UInt(SOXR_QQ)
        }
    }
}

/// One libsoxr converter for planar Float32 channels, run over a whole
/// stretch of input at once.
///
/// libsoxr compensates its own filter delay: input frame n comes out at output
/// frame `round(n × ratio)`. ``convert(_:frames:into:capacity:)`` delivers all
/// the output the stretch has (flushed), which is `round(frames × ratio)` give or take one.
struct Resampler: ~Copyable {
    let channels: Int
    let ratio: Double
    private let state: OpaquePointer

    init(channels: Int, from sourceRate: Int, to targetRate: Int, quality: ResamplingQuality) throws(AMIOError) {
        try Self.check(from: sourceRate, to: targetRate)
        var io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S)
        var spec = soxr_quality_spec(quality.recipe, 0)
        // Parallelism comes from converting stretches of time side by side
        // (``ResamplingPlan``), which works for mono too; libsoxr's own threads
        // only split channels.
        var runtime = soxr_runtime_spec(1)
        var error: soxr_error_t?
        let state = soxr_create(Double(sourceRate), Double(targetRate), UInt32(channels), &error, &io, &spec, &runtime)
        guard let state, error == nil else {
            if let state { soxr_delete(state) }
            throw .resamplingFailed(message: error.map { String(cString: $0) } ?? "soxr_create failed")
        }
        self.state = state
        self.channels = channels
        ratio = Double(targetRate) / Double(sourceRate)
    }

    /// Throws for rates below 1 and for ratios beyond 1:256 either way.
    static func check(from sourceRate: Int, to targetRate: Int) throws(AMIOError) {
        guard sourceRate >= 1, targetRate >= 1 else {
            throw .invalidArgument(name: "sampleRate", reason: "rates must be at least 1 (\(sourceRate) → \(targetRate))")
        }
        let ratio = Double(targetRate) / Double(sourceRate)
        guard ratio <= 256, ratio >= 1.0 / 256 else {
            throw .invalidArgument(name: "sampleRate", reason: "\(sourceRate) → \(targetRate) Hz is beyond the ratio limit of 256")
        }
    }

    deinit { soxr_delete(state) }

    /// Converts one segment of a split conversion, `count` frames of each
    /// channel in `input` starting at input frame `paddedStart` (a multiple
    /// of the grid's q, margins included), and writes its output frames
    /// `output` to planar `destination` (channel c at `destination + c * stride`),
    /// the margins' output dropped. Output frames past what libsoxr gives
    /// (at most one, at the clip's end) are zero.
    mutating func convertSegment(_ input: [UnsafePointer<Float>], frames count: Int, from paddedStart: Int,
                                 grid: SegmentGrid, output: Range<Int>,
                                 into destination: UnsafeMutablePointer<Float>, stride: Int) throws(AMIOError) {
        let capacity = Int((Double(count) * ratio).rounded(.up)) + 2
        let produced = try ClipStorage.allocate(frames: capacity, channels: channels)
        defer { free(produced) }
        let outputs = (0..<channels).map { produced + $0 * capacity }
        let available = try convert(input, frames: count, into: outputs, capacity: capacity)
        // libsoxr puts paddedStart (a multiple of q) at its output frame 0.
        let first = output.lowerBound - grid.outputFrame(paddedStart)
        let copied = max(0, min(output.count, available - first))
        for channel in 0..<channels {
            let samples = destination + channel * stride
            if copied > 0 { samples.update(from: outputs[channel] + first, count: copied) }
            // Past the end of the clip libsoxr may stop a frame short of round(frames × ratio).
            if copied < output.count { (samples + copied).update(repeating: 0, count: output.count - copied) }
        }
    }

    /// Makes the converter ready for a fresh stretch of input, keeping its
    /// filters (designing them is most of what creating one costs).
    mutating func reset() throws(AMIOError) {
        if let error = soxr_clear(state) { throw .resamplingFailed(message: String(cString: error)) }
    }

    /// Converts `frames` frames of each channel in `input` (one pointer per
    /// channel) and flushes, writing up to `capacity` frames of each channel to
    /// `output` (one pointer per channel).
    ///
    /// - Returns: The frames written per channel.
    mutating func convert(_ input: [UnsafePointer<Float>], frames: Int, into output: [UnsafeMutablePointer<Float>],
                          capacity: Int) throws(AMIOError) -> Int {
        var consumed = 0, produced = 0
        var inputs = input.map { Optional($0) }, outputs = output.map { Optional($0) }
        var flushing = false
        while produced < capacity {
            for channel in 0..<channels {
                inputs[channel] = input[channel] + consumed
                outputs[channel] = output[channel] + produced
            }
            var used = 0, done = 0
            let error: soxr_error_t? = inputs.withUnsafeBufferPointer { ins in
                outputs.withUnsafeBufferPointer { outs in
                    // A null input is libsoxr's end of input: it drains the filter.
                    soxr_process(state, flushing ? nil : UnsafeRawPointer(ins.baseAddress), flushing ? 0 : frames - consumed,
                                 &used, UnsafeMutableRawPointer(mutating: outs.baseAddress), capacity - produced, &done)
                }
            }
            if let error { throw .resamplingFailed(message: String(cString: error)) }
            consumed += used
            produced += done
            if flushing && done == 0 { break }
            if consumed >= frames { flushing = true }
        }
        return produced
    }
}

extension AudioClip {
    /// The clip converted to another sample rate with libsoxr (the SoX Resampler library).
    ///
    /// The result has exactly `round(frameCount × rate / sampleRate)` frames and
    /// no offset: a click at input frame n lands at output frame `round(n × ratio)`.
    /// Stretches of time are converted in parallel on every core, split where
    /// the output phase is whole and overlapped by more than the filter
    /// reaches; the result is the same as one pass.
    ///
    /// - Parameters:
    ///   - rate: The new sample rate in Hz.
    ///   - quality: The converter.
    /// - Returns: A new clip at `rate` with the same channels and name; this
    ///   clip itself when `rate` is its own.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a ratio
    ///   beyond 1:256, ``AMIOError/resamplingFailed(message:)``,
    ///   ``AMIOError/outOfMemory`` when the result does not fit in memory.
    public func resampled(to rate: Int, quality: ResamplingQuality = .best) throws(AMIOError) -> AudioClip {
        try resampled(to: rate, quality: quality, workers: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// ``resampled(to:quality:)`` split for `workers` threads (1: a single pass).
    func resampled(to rate: Int, quality: ResamplingQuality, workers: Int) throws(AMIOError) -> AudioClip {
        if rate == sampleRate { return self }
        storage.waitUntilWritten()
        // Checks the ratio before any work is split up.
        try Resampler.check(from: sampleRate, to: rate)
        let plan = ResamplingPlan(frames: frameCount, from: sampleRate, to: rate, quality: quality, workers: workers)
        let output = try ClipStorage.allocate(frames: plan.outputFrames, channels: channelCount)
        output.initialize(repeating: 0, count: max(1, plan.outputFrames * channelCount))
        let failure = Mutex<AMIOError?>(nil)
        let source = UnsafeSendable(storage.samples), destination = UnsafeSendable(output)
        let frames = frameCount, channels = channelCount
        // One converter per segment handles every channel (libsoxr's split
        // layout reads and writes the planar storage as it is).
        DispatchQueue.concurrentPerform(iterations: plan.segments.count) { index in
            do throws(AMIOError) {
                try plan.segments[index].convert(source.pointer, frames: frames, channels: channels,
                                                 into: destination.pointer, plan: plan)
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        if let error = failure.withLock({ $0 }) {
            free(output)
            throw error
        }
        var converted = AudioClip(storage: ClipStorage(frameCount: plan.outputFrames, channelCount: channelCount,
                                                       adopting: output), sampleRate: rate)
        converted.name = name
        return converted
    }
}

/// How a conversion is split into independent pieces.
///
/// With the ratio reduced to p/q, input frame n maps to output frame n·p/q,
/// a whole frame whenever n is a multiple of q. Segments start on such frames,
/// so each one's converter sees the same filter phases a single pass would.
/// Each converter starts `margin` frames early and runs `margin` frames late
/// (more than the filter reaches), and those frames of its output are
/// dropped, so the seams match one pass to rounding (libsoxr convolves in
/// FFT blocks, whose boundaries fall elsewhere in each segment).
struct ResamplingPlan: Sendable {
    struct Segment: Sendable {
        /// Input frames this segment is responsible for.
        let input: Range<Int>
        /// Input frames its converter reads, margins included.
        let padded: Range<Int>
        /// Output frames it writes.
        let output: Range<Int>

        /// Converts this segment of planar `source` (`channels` runs of
        /// `frames`) into its part of planar `destination`.
        func convert(_ source: UnsafeMutablePointer<Float>, frames: Int, channels: Int,
                     into destination: UnsafeMutablePointer<Float>, plan: ResamplingPlan) throws(AMIOError) {
            var resampler = try Resampler(channels: channels, from: plan.from, to: plan.to, quality: plan.quality)
            let inputs = (0..<channels).map { UnsafePointer(source + $0 * frames + padded.lowerBound) }
            try resampler.convertSegment(inputs, frames: padded.count, from: padded.lowerBound, grid: plan.grid, output: output,
                                         into: destination + output.lowerBound, stride: plan.outputFrames)
        }
    }

    let from: Int
    let to: Int
    let quality: ResamplingQuality
    let outputFrames: Int
    let segments: [Segment]
    let grid: SegmentGrid

    init(frames: Int, from: Int, to: Int, quality: ResamplingQuality, workers: Int) {
        self.from = from
        self.to = to
        self.quality = quality
        grid = SegmentGrid(from: from, to: to)
        outputFrames = grid.outputFrames(forInput: frames)
        let q = grid.q, margin = grid.margin
        // Pieces shorter than a few margins would spend more on overlap than they save.
        let wanted = max(1, workers)
        var length = (frames + wanted - 1) / wanted
        length = (length + q - 1) / q * q
        let splittable = length >= 8 * margin && length < frames
        guard splittable else {
            segments = [Segment(input: 0..<frames, padded: 0..<frames, output: 0..<outputFrames)]
            return
        }
        var pieces: [Segment] = []
        var start = 0
        while start < frames {
            let end = min(frames, start + length)
            let outputEnd = end == frames ? outputFrames : grid.outputFrame(end)
            pieces.append(Segment(input: start..<end, padded: max(0, start - margin)..<min(frames, end + margin),
                                  output: grid.outputFrame(start)..<outputEnd))
            start = end
        }
        segments = pieces
    }
}

/// Where a conversion from `from` to `to` Hz may be cut into segments
/// converted on their own (``ResamplingPlan``, ``ClipPipeline``): with the
/// ratio reduced to p/q, input frames that are multiples of q map to whole
/// output frames, and each segment's converter reads `margin` input frames
/// (a multiple of q) either side, more than the filter reaches.
struct SegmentGrid: Sendable {
    let from: Int
    let to: Int
    let p: Int
    let q: Int
    let margin: Int

    init(from: Int, to: Int) {
        self.from = from
        self.to = to
        var a = to, b = from
        while b != 0 { (a, b) = (b, a % b) }
        p = to / a
        q = from / a
        // The widest filter (libsoxr's VHQ, .best) reaches about 135 output
        // frames each way above 1e-7 of an impulse (111 output frames at 96 → 48 kHz);
        // downsampling stretches it by 1/ratio in input frames. Twice that is safe.
        let reach = Int((300 / min(Double(to) / Double(from), 1)).rounded(.up)) + 16
        margin = (reach + q - 1) / q * q
    }

    /// The output frame of input frame `frame`, a multiple of q.
    func outputFrame(_ frame: Int) -> Int { frame / q * p }

    /// The output length of `frames` input frames: round(frames × to / from).
    func outputFrames(forInput frames: Int) -> Int { Int((Double(frames) * Double(to) / Double(from)).rounded()) }
}

/// A raw pointer handed to concurrent workers that write disjoint parts of it.
struct UnsafeSendable<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}
