/// What became of a scheduled change.
public enum PlayspecChangeResult: Sendable, Hashable {
    /// The change took effect when the old timeline reached `atFrame`
    /// (its `insertAt`, or a later frame when that had already passed). From
    /// then on the timeline runs from `startFrom + (atFrame − insertAt)`.
    case applied(atFrame: Int64)
    /// A later change scheduled with `supersedingPending: true` replaced it
    /// before it took effect.
    case superseded
    /// A seek (``AudioInterface/setPosition(_:)``) moved the timeline to
    /// `seekTo`, past the change's `insertAt`, before the timeline reached
    /// it. The change never took effect: a loop jump the play head was moved
    /// past is not fired late. (A change pending for a frame at or after the
    /// new position stays pending.)
    case skipped(seekTo: Int64)
    /// The interface closed (or its server went away) before it took effect.
    case cancelled
}

/// A handle on one scheduled playspec change: await ``result`` to learn when,
/// or whether, it took effect.
public final class PlayspecChange: Sendable {
    /// Unique per interface; changes are applied in the order of their ids.
    public let id: UInt64
    /// The id that input chunks recorded under this playspec carry in
    /// ``InputAudioChunk/playspecID``.
    public let playspecID: UInt64
    /// The frame of the old timeline at which the change was asked to take effect.
    public let insertAt: Int64
    /// The frame of the new timeline that plays at `insertAt`.
    public let startFrom: Int64

    private let outcome = Completion<PlayspecChangeResult>()

    init(id: UInt64, playspecID: UInt64, insertAt: Int64, startFrom: Int64) {
        self.id = id
        self.playspecID = playspecID
        self.insertAt = insertAt
        self.startFrom = startFrom
    }

    /// The outcome, once it is known; suspends until then.
    public var result: PlayspecChangeResult {
        get async { await outcome.value }
    }

    /// The outcome if it is known already, without waiting.
    public var currentResult: PlayspecChangeResult? { outcome.current }

    /// Sets the outcome once; later calls are ignored.
    func resolve(_ result: PlayspecChangeResult) {
        outcome.resolve(result)
    }
}
