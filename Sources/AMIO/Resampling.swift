import CSampleRate

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
    ///
    /// - Parameters:
    ///   - rate: The new sample rate in Hz.
    ///   - quality: The converter.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a ratio
    ///   libsamplerate cannot do (beyond 1:256), ``AMIOError/resamplingFailed(message:)``.
    public func resampled(to rate: Int, quality: ResamplingQuality = .best) throws(AMIOError) -> AudioClip {
        if rate == sampleRate { return self }
        var resampler = try Resampler(channels: channelCount, from: sampleRate, to: rate, quality: quality)
        // libsamplerate's linear converter interpolates towards each new input
        // frame from the one before it: its output lags one input frame. Starting
        // it one frame in (and ending one frame of silence later) removes the lag.
        let lead = quality == .linear ? 1 : 0
        var interleaved = [Float](repeating: 0, count: frameCount * channelCount)
        for channel in 0..<channelCount {
            withUnsafeSamples(channel: channel) { samples in
                for frame in lead..<frameCount { interleaved[(frame - lead) * channelCount + channel] = samples[frame] }
            }
        }
        var output: [Float] = []
        output.reserveCapacity(Int(Double(frameCount) * resampler.ratio + 1) * channelCount)
        try interleaved.withUnsafeBufferPointer { input throws(AMIOError) in
            try resampler.process(input, endOfInput: true, into: &output)
        }
        var converted = try AudioClip(interleaved: output, channels: channelCount, sampleRate: rate)
        converted.name = name
        return converted
    }
}
