/// A run of captured input: contiguous frames of one timeline under one playspec.
///
/// `startingFrame` is on the same timeline as the output, compensated by the
/// round-trip latency, so the input sample at index i was captured while the
/// output sample of timeline frame `startingFrame + i` was sounding. Each
/// channel is compensated by its own round trip
/// (``Latency/inputRoundTrips``): index i of every channel lines up with the
/// same timeline frame.
public struct InputAudioChunk: Sendable {
    /// The timeline frame the first captured frame lines up with.
    public let startingFrame: FramePosition
    /// The playspec that was sounding (0 before the first one).
    public let playspecID: UInt64
    /// Whether the transport was rolling. While stopped the timeline does not
    /// move, and every chunk starts at the same frame.
    public let wasTransportRolling: Bool
    /// Frames per channel.
    public let frameCount: FrameCount
    /// Number of channels.
    public let channelCount: Int
    /// JACK's frame time (extended to 64 bits) of the chunk's first frame: a
    /// frame of the server's clock, which runs on whatever the timeline
    /// does (`jack_last_frame_time`), not a timeline frame.
    public let cycleFrameTime: FramePosition
    /// JACK's microsecond clock at the start of the process cycle that captured the chunk.
    public let cycleTime: UInt64
    /// Input frames lost just before this chunk: by the engine (a full ring, a
    /// server stall, a period or latency change, cycles whose delay was not
    /// known yet) or by this consumer falling behind.
    ///
    /// Within one timeline segment (no swap, seek or jump in between, the
    /// transport rolling), consecutive chunks of one consumer always satisfy
    /// `next.startingFrame == previous.endFrame + next.droppedFramesBefore`:
    /// no frame is labelled twice, and none goes missing uncounted.
    public internal(set) var droppedFramesBefore: FrameCount
    /// All samples, planar: channel 0's frames, then channel 1's, …
    public let samples: [Float]
    /// The engine's count of frames played (``EngineCore/framesPlayed``) when
    /// the first frame was played: it grows from chunk to chunk whatever the
    /// timeline does, so a stop can name a point in time, not a timeline
    /// frame that a loop may pass twice.
    let playedAt: Int64

    /// The samples of one channel.
    ///
    /// - Parameter channel: The channel, `0..<channelCount`.
    /// - Returns: The channel's ``frameCount`` samples, a slice of ``samples``
    ///   (its indices start where the channel does, not at 0).
    public func samples(channel: Int) -> ArraySlice<Float> {
        precondition((0..<channelCount).contains(channel), "channel \(channel) is outside 0..<\(channelCount)")
        return samples[channel * frameCount ..< (channel + 1) * frameCount]
    }

    /// The timeline frame just after the chunk.
    public var endFrame: FramePosition { startingFrame + FramePosition(frameCount) }
}

