extension Session {
    /// How a loop of the session plays: the crossfade of its jump back.
    ///
    /// `amio mix --loop A B` jumps from B back to A; with a crossfade of X,
    /// A sounds on its exact frame, fading in over X, while what follows B
    /// goes on underneath for X, fading out (see ``Crossfade``).
    ///
    /// ```json
    /// "loop": { "crossfade": 0.01, "shape": "equalPower" }
    /// ```
    public struct Loop: Sendable, Hashable {
        /// The crossfade's length; 0 is an exact cut.
        public var crossfade: AudioTime
        /// Its curve.
        public var shape: FadeShape

        /// A loop's settings; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks them.
        ///
        /// - Parameters:
        ///   - crossfade: The crossfade of the jump back, at most
        ///     ``Crossfade/maximumFrames`` at the playing rate; 0 for an exact cut.
        ///   - shape: Its curve (default: equal power, as for material that is not alike).
        public init(crossfade: AudioTime, shape: FadeShape = .equalPower) {
            self.crossfade = crossfade
            self.shape = shape
        }
    }

    /// The crossfade of the session's loop at `sampleRate`: ``Crossfade/none``
    /// when the session gives no ``loop``.
    ///
    /// ```swift
    /// let fade = try session.loopCrossfade(sampleRate: 44100)   // 441 frames, equal power
    /// ```
    ///
    /// - Parameter sampleRate: The rate to play at, 1…768 000.
    /// - Returns: The crossfade in frames at that rate, times in frames counting
    ///   at the session's ``sampleRate``.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` at
    ///   `loop.crossfade` for a crossfade longer than ``Crossfade/maximumFrames``
    ///   at that rate, or in frames in a session without a ``sampleRate``;
    ///   ``AMIOError/invalidArgument(name:reason:)`` for a rate outside 1…768 000.
    public func loopCrossfade(sampleRate: Int) throws(AMIOError) -> Crossfade {
        guard (1...TimelineLimit.maximumSampleRate).contains(sampleRate) else {
            throw .invalidArgument(name: "sampleRate", reason: "\(sampleRate) Hz is outside 1...\(TimelineLimit.maximumSampleRate)")
        }
        guard let loop else { return .none }
        let at = "loop.crossfade"
        func fail(_ reason: String) -> AMIOError { .invalidSession(path: url.path, location: at, reason: reason) }
        if case .frames = loop.crossfade, self.sampleRate == nil { throw fail(Self.framesNeedARate(loop.crossfade.description)) }
        let frames: FramePosition
        do { frames = try loop.crossfade.frames(atSampleRate: sampleRate, countingFramesAt: self.sampleRate ?? sampleRate, name: at) } catch {
            if case let .invalidArgument(_, reason) = error { throw fail(reason) }
            throw error
        }
        if let reason = Crossfade.excessReason(loop.crossfade.shown, frames: frames, sampleRate: sampleRate) {
            throw fail(reason)
        }
        return Crossfade(frames: Int(frames), shape: loop.shape)
    }
}

extension SessionReader {
    /// `{"crossfade": time, "shape": shape}`.
    func loop(_ value: JSONValue, at location: String) throws(AMIOError) -> Session.Loop {
        let fields = try object(value, at: location)
        try allowOnly(["crossfade", "shape"], in: fields, at: location)
        guard let crossfade = fields["crossfade"] else { throw fail("\(location).crossfade", "required: the crossfade of the jump back") }
        return Session.Loop(crossfade: try time(crossfade, at: "\(location).crossfade"),
                            shape: try fields["shape"].map { value throws(AMIOError) in
                                try shape(value, at: "\(location).shape")
                            } ?? .equalPower)
    }

    /// `"linear"`, `"equalPower"` or `"exponential"`.
    func shape(_ value: JSONValue, at location: String) throws(AMIOError) -> FadeShape {
        guard case let .string(name) = value, let shape = FadeShape(rawValue: name) else {
            throw fail(location, "expected one of \(FadeShape.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), "
                + "found \(describe(value))")
        }
        return shape
    }
}
