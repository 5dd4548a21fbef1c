/// Settings of an ``AudioInterface`` beyond its ports.
public struct AudioInterfaceOptions: Sendable {
    /// How many changes (playspec changes, seeks, transport commands) may be
    /// outstanding at once; one more throws ``AMIOError/changeQueueFull(capacity:)``.
    public var changeCapacity: Int = 256
    /// The capture ring between the realtime thread and the bridge thread:
    /// the frames (of all input channels) it holds at least, from 16384 (two
    /// of JACK's largest periods) to 2^26; `nil` means four seconds at the
    /// server's rate. Its memory is rounded up to a power of two, so it may
    /// hold more: ``AudioInterface/inputRingCapacity`` says how much.
    public var inputRingFrames: FrameCount? = nil
    /// Frames of each input channel kept to line up channels whose round
    /// trips differ (one through a latent client, one on a direct loop):
    /// round trips that differ by up to this less one period are
    /// compensated; beyond that the input is counted as lost
    /// (``InputAudioChunk/droppedFramesBefore``), never delivered out of
    /// line. Rounded up to a power of two, at most 2^24; `nil` means 16384,
    /// or fewer for many channels so that the buffers take at most 16 MiB.
    public var inputAlignmentFrames: FrameCount? = nil
    /// The most entries one playspec may have.
    public var maximumPlayspecEntries: Int = 65536
    /// Whether the clips of each playspec are locked in RAM (mlock) when it
    /// is scheduled, and stay locked while the clip lives, so the realtime
    /// thread never waits for a page to come back from swap. The engine's
    /// own buffers are always locked. Where RLIMIT_MEMLOCK is too small for
    /// them (`ulimit -l`; a member of the `audio` group usually has no
    /// limit), they are resident but may be swapped out:
    /// ``AudioInterface/isMemoryLocked`` is then false.
    public var locksClipMemory: Bool = true
    /// How many input chunks and events each consumer may fall behind by default.
    public var consumerBufferLimit: Int = 1024

    /// The default settings.
    public init() {}
}
