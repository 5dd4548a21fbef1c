/// Something that happened to the interface.
public enum AudioInterfaceEvent: Sendable, Hashable {
    /// An xrun: the server reported one, or the engine saw a cycle miss its
    /// deadline; `total` is ``AudioInterface/xrunCount`` at the time.
    case xrun(total: Int)
    /// The server went away; the interface is unusable from now on.
    case serverShutdown(reason: String)
    /// The server's period size changed.
    case periodSizeChanged(frames: FrameCount)
    /// The server's sample rate changed.
    case sampleRateChanged(rate: Int)
    /// The latency around the interface changed (ports were connected, the period changed).
    case latencyChanged(Latency)
    /// The engine lost input frames (capture ring full or a server stall); `total` since opening.
    case inputFramesDropped(total: FrameCount)
    /// The inputs' round trips (``Latency/inputRoundTrips``) lie further
    /// apart, with a period on top, than the frames kept to align them
    /// (``AudioInterfaceOptions/inputAlignmentFrames``): until the graph
    /// changes, captured input is counted as lost, never delivered out of line.
    case inputsBeyondAlignment(skew: FrameCount, alignmentFrames: FrameCount)
}
