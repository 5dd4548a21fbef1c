/// Settings of an ``AudioInterface`` beyond its ports.
public struct AudioInterfaceOptions: Sendable {
    /// How many changes (playspec changes, seeks, transport commands) may be
    /// outstanding at once; one more throws ``AMIOError/changeQueueFull(capacity:)``.
    public var changeCapacity: Int = 256
    /// The capture ring between the realtime thread and the bridge thread, in
    /// frames; `nil` means four seconds at the server's rate.
    public var inputRingFrames: Int? = nil
    /// The most entries one playspec may have.
    public var maximumPlayspecEntries: Int = 65536
    /// How many input chunks and events each consumer may fall behind by default.
    public var consumerBufferLimit: Int = 1024

    /// The default settings.
    public init() {}
}
