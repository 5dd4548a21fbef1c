import CSampleRate
import Foundation
import Synchronization

/// The libsamplerate converter to use, from best to fastest.
public enum ResamplingQuality: String, Sendable, CaseIterable {
    /// Band-limited sinc, 97 dB of stop-band attenuation, 97 % bandwidth.
    case best
    /// Band-limited sinc, 97 dB, 90 % bandwidth.
    case medium
    /// Band-limited sinc, 97 dB, 80 % bandwidth.
    case fastest
    /// Linear interpolation: fast, and aliases.
    case linear

    var converter: Int32 {
        switch self {
        case .best: Int32(SRC_SINC_BEST_QUALITY)
        case .medium: Int32(SRC_SINC_MEDIUM_QUALITY)
        case .fastest: Int32(SRC_SINC_FASTEST)
        case .linear: Int32(SRC_LINEAR)
        }
    }
}

/// Streams interleaved audio through one libsamplerate converter, and delivers
/// exactly `round(inputFrames × ratio)` output frames aligned with the input:
/// input frame n lands at output frame `round(n × ratio)`.
struct Resampler: ~Copyable {
    let channels: Int
    let ratio: Double
    private let state: OpaquePointer
    /// Output frames libsamplerate produces before the first one aligned with input frame 0.
    private var delayToSkip: Int
    private var inputFrames = 0
    private var outputFrames = 0
    private var scratch: [Float] = []

    init(channels: Int, from sourceRate: Int, to targetRate: Int, quality: ResamplingQuality) throws(AMIOError) {
        guard sourceRate >= 1, targetRate >= 1 else {
            throw .invalidArgument(name: "sampleRate", reason: "rates must be at least 1 (\(sourceRate) → \(targetRate))")
        }
        let ratio = Double(targetRate) / Double(sourceRate)
        guard src_is_valid_ratio(ratio) != 0 else {
            throw .invalidArgument(name: "sampleRate", reason: "\(sourceRate) → \(targetRate) Hz is beyond libsamplerate's ratio limit of 256")
        }
        var error: Int32 = 0
        guard let state = src_new(quality.converter, Int32(channels), &error) else {
            throw .resamplingFailed(message: String(cString: src_strerror(error)))
        }
        self.state = state
        self.channels = channels
        self.ratio = ratio
        delayToSkip = 0
    }

    deinit { src_delete(state) }

    /// Converts `input` (interleaved, may be empty), appending to `output`.
    /// With `endOfInput`, flushes the converter and pads or trims to the exact length.
    mutating func process(_ input: UnsafeBufferPointer<Float>, endOfInput: Bool, into output: inout [Float]) throws(AMIOError) {
        let frames = input.count / channels
        inputFrames += frames
        let expectedTotal = Int((Double(inputFrames) * ratio).rounded())
        var consumed = 0
        var flushing = endOfInput
        while true {
            let capacity = max(256, Int(Double(frames - consumed) * ratio) + 64)
            if scratch.count < capacity * channels { scratch = [Float](repeating: 0, count: capacity * channels) }
            var data = SRC_DATA()
            let generated: Int
            let used: Int
            let status: Int32 = scratch.withUnsafeMutableBufferPointer { out in
                data.data_in = input.baseAddress.map { $0 + consumed * channels }
                data.input_frames = frames - consumed
                data.data_out = out.baseAddress
                data.output_frames = capacity
                data.end_of_input = flushing ? 1 : 0
                data.src_ratio = ratio
                return src_process(state, &data)
            }
            guard status == 0 else { throw .resamplingFailed(message: String(cString: src_strerror(status))) }
            generated = data.output_frames_gen
            used = data.input_frames_used
            consumed += used
            append(generated, to: &output, limit: endOfInput ? expectedTotal : Int.max)
            if consumed >= frames && (!flushing || generated == 0) { break }
            if endOfInput && outputFrames >= expectedTotal { break }
            flushing = endOfInput
        }
        if endOfInput && outputFrames < expectedTotal {
            output.append(contentsOf: repeatElement(0, count: (expectedTotal - outputFrames) * channels))
            outputFrames = expectedTotal
        }
    }

    private mutating func append(_ generated: Int, to output: inout [Float], limit: Int) {
        var start = 0
        if delayToSkip > 0 {
            start = min(delayToSkip, generated)
            delayToSkip -= start
        }
        let count = min(generated - start, limit - outputFrames)
        guard count > 0 else { return }
        output.append(contentsOf: scratch[(start * channels)..<((start + count) * channels)])
        outputFrames += count
    }
}

extension AudioClip {
    /// The clip converted to another sample rate with libsamplerate.
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
    ///   libsamplerate cannot do (beyond 1:256), ``AMIOError/resamplingFailed(message:)``,
    ///   ``AMIOError/outOfMemory`` when the result does not fit in memory.
    public func resampled(to rate: Int, quality: ResamplingQuality = .best) throws(AMIOError) -> AudioClip {
        try resampled(to: rate, quality: quality, workers: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// ``resampled(to:quality:)`` split for `workers` threads (1: a single pass).
    func resampled(to rate: Int, quality: ResamplingQuality, workers: Int) throws(AMIOError) -> AudioClip {
        if rate == sampleRate { return self }
        // Checks the ratio before any work is split up.
        _ = try Resampler(channels: 1, from: sampleRate, to: rate, quality: quality)
        let plan = ResamplingPlan(frames: frameCount, from: sampleRate, to: rate, quality: quality, workers: workers)
        let output = try ClipStorage.allocate(frames: plan.outputFrames, channels: channelCount)
        output.initialize(repeating: 0, count: max(1, plan.outputFrames * channelCount))
        let failure = Mutex<AMIOError?>(nil)
        let source = UnsafeSendable(storage.samples), destination = UnsafeSendable(output)
        let frames = frameCount, channels = channelCount
        // One converter per segment handles every channel: libsamplerate works
        // out each output frame's filter coefficients once for all channels.
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
/// (more than the sinc filter reaches), and those frames of its output are
/// dropped, so the seams are exact.
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
            // libsamplerate's linear converter lags one input frame: start it one frame in
            // (and end with one frame of silence, so the length is unchanged).
            let lead = plan.quality == .linear ? 1 : 0
            let start = min(padded.lowerBound + lead, padded.upperBound)
            let count = padded.upperBound - start + lead
            var interleaved = [Float](repeating: 0, count: count * channels)
            for channel in 0..<channels {
                let samples = source + channel * frames
                for frame in start..<padded.upperBound {
                    interleaved[(frame - start) * channels + channel] = samples[frame]
                }
            }
            var produced: [Float] = []
            produced.reserveCapacity((Int(Double(count) * resampler.ratio) + 2) * channels)
            try interleaved.withUnsafeBufferPointer { buffer throws(AMIOError) in
                try resampler.process(buffer, endOfInput: true, into: &produced)
            }
            let first = output.lowerBound - plan.outputFrame(padded.lowerBound)
            let available = produced.count / channels
            for channel in 0..<channels {
                let samples = destination + channel * plan.outputFrames
                for i in 0..<output.count {
                    let j = first + i
                    samples[output.lowerBound + i] = j < available ? produced[j * channels + channel] : 0
                }
            }
        }
    }

    let from: Int
    let to: Int
    let quality: ResamplingQuality
    let outputFrames: Int
    let segments: [Segment]
    private let p: Int
    private let q: Int

    init(frames: Int, from: Int, to: Int, quality: ResamplingQuality, workers: Int) {
        self.from = from
        self.to = to
        self.quality = quality
        let ratio = Double(to) / Double(from)
        outputFrames = Int((Double(frames) * ratio).rounded())
        var a = to, b = from
        while b != 0 { (a, b) = (b, a % b) }
        p = to / a
        q = from / a
        // The widest filter (best) reaches about 143 input frames each way at
        // unity; downsampling stretches it by 1/ratio. Twice that is safe.
        let reach = Int((300 / min(ratio, 1)).rounded(.up)) + 16
        let margin = (reach + q - 1) / q * q
        // Pieces shorter than a few margins would spend more on overlap than they save.
        let wanted = max(1, workers)
        var length = (frames + wanted - 1) / wanted
        length = (length + q - 1) / q * q
        let splittable = quality != .linear && length >= 8 * margin && length < frames
        guard splittable else {
            segments = [Segment(input: 0..<frames, padded: 0..<frames, output: 0..<outputFrames)]
            return
        }
        var pieces: [Segment] = []
        var start = 0
        while start < frames {
            let end = min(frames, start + length)
            let outputStart = start / q * p
            let outputEnd = end == frames ? outputFrames : end / q * p
            pieces.append(Segment(input: start..<end, padded: max(0, start - margin)..<min(frames, end + margin),
                                  output: outputStart..<outputEnd))
            start = end
        }
        segments = pieces
    }

    /// The output frame of input frame `frame`, a multiple of q.
    func outputFrame(_ frame: Int) -> Int { frame / q * p }
}

/// A raw pointer handed to concurrent workers that write disjoint parts of it.
struct UnsafeSendable<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}
