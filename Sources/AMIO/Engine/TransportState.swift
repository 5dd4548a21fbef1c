/// Where the transport stands at the end of one process cycle.
public struct TransportState: Sendable, Hashable {
    /// The timeline frame after the cycle.
    public var position: FramePosition
    /// Whether the timeline was moving.
    public var isRolling: Bool
    /// The playspec sounding (0 for none).
    public var playspecID: UInt64

    /// Creates a state from its figures.
    ///
    /// - Parameters:
    ///   - position: The timeline frame.
    ///   - isRolling: Whether the timeline moves.
    ///   - playspecID: The playspec sounding.
    public init(position: FramePosition, isRolling: Bool, playspecID: UInt64) {
        self.position = position
        self.isRolling = isRolling
        self.playspecID = playspecID
    }
}
