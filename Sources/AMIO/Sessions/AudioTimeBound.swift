/// The end of a crop: a time from the start of the clip, or the clip's end (`"end"`).
///
/// Bounds are not ordered by themselves: whether a time in seconds comes
/// before one in frames depends on the rate the frames count at, which is
/// the session's (``Session/sampleRate``).
public enum AudioTimeBound: Sendable, Hashable {
    /// A time from the clip's start.
    case time(AudioTime)
    /// The clip's end: the frame after its last.
    case end

    /// The frame it stands for in a clip of `length` frames at `sampleRate`,
    /// a time in frames counting at `sampleRate` too.
    ///
    /// - Parameters:
    ///   - sampleRate: The clip's rate.
    ///   - length: The clip's frames.
    ///   - name: What the bound is, for the error.
    /// - Returns: The frame, rounded to the nearest.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the time does not fit the timeline.
    public func frame(sampleRate: Int, length: Int, name: String = "crop") throws(AMIOError) -> Int {
        try frame(sampleRate: sampleRate, countingFramesAt: sampleRate, length: length, name: name)
    }

    /// The frame it stands for in a clip of `length` frames at `sampleRate`,
    /// a time in frames counting at `frameRate` (a session's `sampleRate`).
    ///
    /// - Parameters:
    ///   - sampleRate: The clip's rate (the rate it is played at, once resampled).
    ///   - frameRate: The rate a time in frames counts at.
    ///   - length: The clip's frames.
    ///   - name: What the bound is, for the error.
    /// - Returns: The frame, rounded to the nearest.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the time does
    ///   not fit the timeline, or a rate is below 1.
    public func frame(sampleRate: Int, countingFramesAt frameRate: Int, length: Int,
                      name: String = "crop") throws(AMIOError) -> Int {
        switch self {
        case let .time(time): Int(try time.frames(atSampleRate: sampleRate, countingFramesAt: frameRate, name: name))
        case .end: length
        }
    }

    /// The time, or nil for `end`.
    var time: AudioTime? {
        if case let .time(time) = self { return time }
        return nil
    }
}
