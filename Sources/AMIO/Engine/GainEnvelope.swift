/// A gain that changes over time, drawn through breakpoints: an entry's
/// automation lane.
///
/// At each point's frame the gain is that point's; between two points it is
/// interpolated linearly in amplitude (a ramp from 1 to 0 halves at the
/// middle, −6 dB); before the first point it holds the first gain, after the
/// last the last. It multiplies the entry's ``PlayspecEntry/gains`` and its
/// fades. Frames count on the timeline, or from the first frame of each
/// occurrence of the entry (so every repetition of a loop gets the same
/// curve).
public struct GainEnvelope: Sendable, Hashable {
    /// What a point's frame counts from.
    public enum TimeBase: String, Sendable, Hashable, CaseIterable {
        /// Timeline frames, as ``PlayspecEntry/playAt``.
        case timeline
        /// Frames from the start of each occurrence: 0 is where the crop's
        /// first frame sounds, in every repetition.
        case occurrence
    }

    /// One breakpoint.
    public struct Point: Sendable, Hashable {
        /// Where it is, in the envelope's ``GainEnvelope/timeBase``.
        public var frame: FramePosition
        /// One linear gain for every output, or one per output channel.
        public var gains: [Float]

        /// A breakpoint with one gain per output channel.
        ///
        /// - Parameters:
        ///   - frame: Where it is, in the envelope's time base.
        ///   - gains: One linear gain per output channel of the interface.
        public init(frame: FramePosition, gains: [Float]) {
            self.frame = frame
            self.gains = gains
        }

        /// A breakpoint with one gain for every output.
        ///
        /// - Parameters:
        ///   - frame: Where it is, in the envelope's time base.
        ///   - gain: The linear gain of every output.
        public init(frame: FramePosition, gain: Float) {
            self.init(frame: frame, gains: [gain])
        }
    }

    /// What the points' frames count from.
    public var timeBase: TimeBase
    /// The breakpoints, in strictly increasing frame order; at least one.
    public var points: [Point]

    /// An envelope through `points`.
    ///
    /// - Parameters:
    ///   - points: The breakpoints, frames strictly increasing; every point
    ///     has one gain, or every point one per output channel.
    ///   - timeBase: What their frames count from (default: each occurrence's start).
    public init(_ points: [Point], timeBase: TimeBase = .occurrence) {
        self.points = points
        self.timeBase = timeBase
    }

    /// The most breakpoints one envelope may have.
    public static let maximumPoints = 1 << 20
}
