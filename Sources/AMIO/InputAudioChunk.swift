/// A run of captured input: contiguous frames of one timeline under one playspec.
///
/// `startingFrame` is on the same timeline as the output, compensated by the
/// round-trip latency, so the input sample at index i was captured while the
/// output sample of timeline frame `startingFrame + i` was sounding.
public struct InputAudioChunk: Sendable {
    /// The timeline frame the first captured frame lines up with.
    public let startingFrame: Int64
    /// The playspec that was sounding (0 before the first one).
    public let playspecID: UInt64
    /// Whether the transport was rolling. While stopped the timeline does not
    /// move, and every chunk starts at the same frame.
    public let wasTransportRolling: Bool
    /// Frames per channel.
    public let frameCount: Int
    /// Number of channels.
    public let channelCount: Int
    /// JACK's frame time (extended to 64 bits) of the chunk's first frame.
    public let cycleFrameTime: UInt64
    /// JACK's microsecond clock at the start of the process cycle that captured the chunk.
    public let cycleTime: UInt64
    /// Input frames lost just before this chunk: by the engine (a full ring, a
    /// server stall) or by this consumer falling behind.
    public internal(set) var droppedFramesBefore: Int
    /// All samples, planar: channel 0's frames, then channel 1's, …
    public let samples: [Float]

    /// The samples of one channel.
    ///
    /// - Parameter channel: The channel, `0..<channelCount`.
    public func samples(channel: Int) -> ArraySlice<Float> {
        precondition((0..<channelCount).contains(channel), "channel \(channel) is outside 0..<\(channelCount)")
        return samples[channel * frameCount ..< (channel + 1) * frameCount]
    }

    /// The timeline frame just after the chunk.
    public var endFrame: Int64 { startingFrame + Int64(frameCount) }
}

/// Latency around the interface, in frames.
public struct Latency: Sendable, Hashable, CustomStringConvertible {
    /// From the physical input to the interface's inputs, as JACK reports it.
    public var capture: Int
    /// From the interface's outputs to the physical output, as JACK reports it.
    public var playback: Int
    /// What input chunks are compensated by: capture + playback, plus one
    /// period when an input is fed straight from the interface's own output
    /// (JACK delays such a cycle by exactly one period).
    public var roundTrip: Int

    /// The three figures in words.
    public var description: String { "capture \(capture), playback \(playback), round trip \(roundTrip) frames" }
}

/// Something that happened to the interface.
public enum AudioInterfaceEvent: Sendable, Hashable {
    /// JACK reported an xrun; `total` counts them since the interface opened.
    case xrun(total: Int)
    /// The server went away; the interface is unusable from now on.
    case serverShutdown(reason: String)
    /// The server's period size changed.
    case periodSizeChanged(frames: Int)
    /// The server's sample rate changed.
    case sampleRateChanged(rate: Int)
    /// The latency around the interface changed (ports were connected, the period changed).
    case latencyChanged(Latency)
    /// The engine lost input frames (capture ring full or a server stall); `total` since opening.
    case inputFramesDropped(total: Int)
}
