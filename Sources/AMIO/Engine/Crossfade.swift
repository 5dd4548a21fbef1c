/// How a change of the timeline joins the old sound to the new: an exact
/// cut (``none``), or a crossfade of some frames.
///
/// With a crossfade of X frames, the change still takes effect on exactly
/// its frame: the new playspec or timeline sounds from there, weighted by
/// s(k / X) for the k-th frame after the change, while what played before
/// goes on underneath for X frames, weighted by s((X − k) / X) (s of
/// ``shape``). Captured input is labelled by the new timeline from the
/// change's frame on; the old tail is output only.
///
/// One crossfade runs at a time. A change that replaces the playspec, a
/// seek or a stop while one runs ends it at once (its tail stops), then
/// starts its own; starting the transport does not. A change applied while
/// the transport is stopped has nothing to fade from and cuts.
///
/// An integer literal is a crossfade of that many frames in the default
/// shape: `crossfade: 256`.
public struct Crossfade: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// Its length in frames; 0 is an exact cut.
    public var frames: FrameCount
    /// Its curve.
    public var shape: FadeShape

    /// A crossfade of `frames` frames.
    ///
    /// - Parameters:
    ///   - frames: The length, 0 … ``maximumFrames``; 0 is an exact cut.
    ///   - shape: The curve (default: equal power, for material that is not alike).
    public init(frames: FrameCount, shape: FadeShape = .equalPower) {
        self.frames = frames
        self.shape = shape
    }

    /// A crossfade of `value` frames, equal power.
    ///
    /// - Parameter value: The length in frames.
    public init(integerLiteral value: Int) { self.init(frames: value) }

    /// The exact cut: the old sound stops on the change's frame.
    public static let none = Crossfade(frames: 0)

    /// The longest crossfade, 2^24 frames (almost six minutes at 48 kHz).
    public static let maximumFrames: FrameCount = 1 << 24

    /// Why a crossfade of `frames` is too long, or nil when it fits: the one
    /// wording of the limit, for the session reader and the command line.
    ///
    /// - Parameters:
    ///   - shown: The time as the user wrote it.
    ///   - frames: Its length in frames at `sampleRate`.
    ///   - sampleRate: The rate it was counted at.
    /// - Returns: The reason, or nil for at most ``maximumFrames`` frames.
    public static func excessReason(_ shown: String, frames: FramePosition, sampleRate: Int) -> String? {
        guard frames > FramePosition(maximumFrames) else { return nil }
        return "\(shown) is \(frames) frames at \(sampleRate) Hz; a crossfade is at most \(maximumFrames) frames (2^24)"
    }

    /// The crossfade as the realtime core takes it, checked.
    func checkedFrames() throws(AMIOError) -> UInt32 {
        guard (0...Self.maximumFrames).contains(frames) else {
            throw .invalidArgument(name: "crossfade", reason: "\(frames) frames is outside 0...\(Self.maximumFrames)")
        }
        return UInt32(frames)
    }
}
