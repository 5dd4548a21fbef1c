/// What became of a scheduled change.
public enum PlayspecChangeResult: Sendable, Hashable {
    /// The change took effect when the old timeline reached `atFrame`
    /// (its `insertAt`, or a later frame when that had already passed). From
    /// then on the timeline runs from `startFrom + (atFrame − insertAt)`.
    case applied(atFrame: FramePosition)
    /// A later change scheduled with `supersedingPending: true` replaced it
    /// before it took effect.
    case superseded
    /// A seek (``AudioInterface/setPosition(_:crossfade:)``) moved the timeline to
    /// `seekTo`, past the change's `insertAt`, before the timeline reached
    /// it. The change never took effect: a loop jump the play head was moved
    /// past is not fired late. (A change pending for a frame at or after the
    /// new position stays pending.)
    case skipped(seekTo: FramePosition)
    /// The interface closed (or its server went away) before it took effect.
    /// A task that stops *waiting* for the result is another matter: its
    /// wait throws ``AMIOError/cancelled``, and the change stays scheduled.
    case cancelled
}

/// A handle on one scheduled playspec change: await ``result`` to learn when,
/// or whether, it took effect.
///
/// The handle only observes the change: releasing it, or cancelling a task
/// that awaits it, leaves the change scheduled.
public final class PlayspecChange: Sendable {
    /// Unique per interface; changes are applied in the order of their ids.
    public let id: UInt64
    /// The id that input chunks recorded under this playspec carry in
    /// ``InputAudioChunk/playspecID``.
    public let playspecID: UInt64
    /// The frame of the old timeline at which the change was asked to take effect.
    public let insertAt: FramePosition
    /// The frame of the new timeline that plays at `insertAt`.
    public let startFrom: FramePosition

    private let outcome = Completion<PlayspecChangeResult>()

    init(id: UInt64, playspecID: UInt64, insertAt: Int64, startFrom: Int64) {
        self.id = id
        self.playspecID = playspecID
        self.insertAt = insertAt
        self.startFrom = startFrom
    }

    /// The outcome, once it is known; suspends until then.
    ///
    /// Every change gets an outcome: it applies, is superseded or skipped,
    /// or is cancelled when the interface closes. A change pending for a
    /// frame the timeline never reaches (the transport stopped) waits that
    /// long, so a task that may be cancelled meanwhile stops waiting:
    /// cancelling the *waiting* task does not touch the change, which stays
    /// scheduled and still takes effect; only the wait ends. Its outcome
    /// stays readable (``currentResult``, or await ``result`` again).
    ///
    /// ```swift
    /// switch try await change.result {
    /// case let .applied(frame): print("jumped at \(frame)")
    /// case .superseded, .skipped, .cancelled: print("it never played")
    /// }
    /// ```
    ///
    /// - Throws: ``AMIOError/cancelled`` when the waiting task is cancelled
    ///   before the outcome is known (at once if it was cancelled already).
    ///   That is about the wait, not the change: the change's own
    ///   cancellation, by a closing interface, is the outcome
    ///   ``PlayspecChangeResult/cancelled``.
    public var result: PlayspecChangeResult {
        get async throws(AMIOError) {
            guard let result = await outcome.wait() else { throw .cancelled }
            return result
        }
    }

    /// The outcome, waiting for it at most `timeout`.
    ///
    /// As ``result``, with a limit: "wait half a second for the jump, then
    /// carry on". The change is not touched when the time runs out; its
    /// outcome comes as it would have.
    ///
    /// - Parameter timeout: How long to wait at most; `.zero` (or less)
    ///   returns ``currentResult`` without suspending.
    /// - Returns: The outcome, or nil when it was not known within `timeout`.
    /// - Throws: ``AMIOError/cancelled`` when the waiting task is cancelled
    ///   before the outcome is known (the change stays scheduled).
    public func result(timeout: Duration) async throws(AMIOError) -> PlayspecChangeResult? {
        if let known = outcome.current { return known }
        let result = await outcome.wait(timeout: timeout)
        if result == nil && Task.isCancelled { throw .cancelled }
        return result
    }

    /// The outcome if it is known already, without waiting.
    public var currentResult: PlayspecChangeResult? { outcome.current }

    /// Sets the outcome once; later calls are ignored.
    func resolve(_ result: PlayspecChangeResult) {
        outcome.resolve(result)
    }
}
