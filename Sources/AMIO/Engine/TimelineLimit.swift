/// The one range check every number from outside passes before it becomes a
/// frame: times of sessions and of the command line, products of counts and
/// rates, sums of positions and lengths.
///
/// The engine keeps its timeline and every frame value within ±2^62 frames
/// (``limit``), so the realtime core's arithmetic on them
/// (`startFrom + (now − insertAt)`, a position moving on) cannot overflow; a
/// value that would leave that range is refused here with a typed error that
/// names the value and the limit, before anything is compiled or queued,
/// instead of trapping in a conversion or a multiplication.
///
/// ```swift
/// let frames = try TimelineLimit.frames(seconds: 2.5, sampleRate: 48000, name: "start")  // 120000
/// try TimelineLimit.frames(seconds: 1e300, sampleRate: 48000, name: "start")
/// // AMIOError.invalidArgument(name: "start", reason: "1e+300 s at 48000 Hz is beyond the timeline limit of ±2^62 frames …")
/// ```
public enum TimelineLimit {
    /// The largest frame magnitude anything on the timeline may have: 2^62.
    public static let limit: FramePosition = 1 << 62

    /// Every frame value the timeline accepts.
    public static let range: ClosedRange<FramePosition> = -limit...limit

    /// The highest sample rate a time from outside is converted at (768 kHz,
    /// the top of what ``Session`` and `amio render --rate` accept), so a time
    /// checked once against it fits the timeline at every supported rate.
    public static let maximumSampleRate = 768_000

    /// The largest number of seconds that fits the timeline at ``maximumSampleRate``:
    /// 2^62 / 768000 ≈ 6.0 × 10^12 s, about 190 000 years.
    public static let maximumSeconds = Double(limit) / Double(maximumSampleRate)

    /// Checks that `frame` lies within ±2^62.
    ///
    /// - Parameters:
    ///   - frame: The value.
    ///   - name: What it is, for the error (`"--duration"`, `"entries[3].start"`).
    /// - Returns: `frame`.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` naming the value and the limit.
    @discardableResult
    public static func check(_ frame: FramePosition, name: String) throws(AMIOError) -> FramePosition {
        guard range.contains(frame) else {
            throw .invalidArgument(name: name, reason: "\(frame) frames is beyond the timeline limit of ±2^62 frames")
        }
        return frame
    }

    /// Converts seconds to frames at `sampleRate`, rounded to the nearest frame.
    ///
    /// - Parameters:
    ///   - seconds: A finite number of seconds.
    ///   - sampleRate: Frames per second, at least 1.
    ///   - name: What the value is, for the error.
    /// - Returns: The frame count, within ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a non-finite
    ///   time, a rate below 1, or a product beyond ±2^62 frames.
    public static func frames(seconds: Double, sampleRate: Int, name: String) throws(AMIOError) -> FramePosition {
        guard sampleRate >= 1 else {
            throw .invalidArgument(name: name, reason: "the sample rate \(sampleRate) is below 1 Hz")
        }
        guard seconds.isFinite else {
            throw .invalidArgument(name: name, reason: "\(seconds) s is not a finite time")
        }
        let product = (seconds * Double(sampleRate)).rounded()
        // Double(limit) is exactly 2^62, so a product within it converts without trapping.
        guard product.isFinite, abs(product) <= Double(limit) else {
            throw .invalidArgument(
                name: name,
                reason: "\(formatNumber(seconds)) s at \(sampleRate) Hz is beyond the timeline limit of ±2^62 frames "
                    + "(\(formatSeconds(Double(limit) / Double(sampleRate))) s at that rate)")
        }
        return Int64(product)
    }

    /// Converts a number of frames counted at one rate into frames at
    /// another, rounded to the nearest frame (halves away from zero, as
    /// ``frames(seconds:sampleRate:name:)`` rounds): 24000 frames at 48 kHz
    /// are 22050 at 44.1 kHz.
    ///
    /// The product of frames and rate is formed in 128 bits, so no value
    /// within ±2^62 loses a frame to floating point or overflows.
    ///
    /// - Parameters:
    ///   - frames: The frames, within ±2^62.
    ///   - frameRate: The rate they are counted at, at least 1.
    ///   - sampleRate: The rate to convert them to, at least 1.
    ///   - name: What the value is, for the error.
    /// - Returns: The frames at `sampleRate`, within ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a rate below 1
    ///   or a value beyond ±2^62 frames at either rate.
    public static func frames(_ frames: Int64, countedAt frameRate: Int, convertedTo sampleRate: Int,
                              name: String) throws(AMIOError) -> Int64 {
        for rate in [frameRate, sampleRate] where rate < 1 {
            throw .invalidArgument(name: name, reason: "the sample rate \(rate) is below 1 Hz")
        }
        try check(frames, name: name)
        guard frameRate != sampleRate else { return frames }
        // |frames| ≤ 2^62 and a rate below 2^63, so the product fits 128 bits;
        // its high half below the divisor keeps the quotient within 64 bits,
        // where dividingFullWidth does not trap.
        let product = frames.magnitude.multipliedFullWidth(by: UInt64(sampleRate))
        let divisor = UInt64(frameRate)
        let beyond = AMIOError.invalidArgument(
            name: name, reason: "\(frames) frames at \(frameRate) Hz are beyond the timeline limit of ±2^62 frames at \(sampleRate) Hz")
        guard product.high < divisor else { throw beyond }
        let (quotient, remainder) = divisor.dividingFullWidth(product)
        guard quotient <= UInt64(limit) else { throw beyond }
        // remainder < divisor ≤ 2^63, so doubling it cannot overflow.
        let rounded = remainder * 2 >= divisor ? quotient + 1 : quotient
        guard rounded <= UInt64(limit) else { throw beyond }
        return frames < 0 ? -Int64(rounded) : Int64(rounded)
    }

    /// `a + b`, checked against ±2^62.
    ///
    /// - Parameters:
    ///   - a: A frame value.
    ///   - b: A frame value.
    ///   - name: What the sum is, for the error.
    /// - Returns: The sum, within ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the sum leaves the timeline.
    public static func sum(_ a: FramePosition, _ b: FramePosition, name: String) throws(AMIOError) -> FramePosition {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard !overflow, range.contains(result) else {
            throw .invalidArgument(name: name, reason: "\(a) + \(b) frames is beyond the timeline limit of ±2^62 frames")
        }
        return result
    }

    /// `a × b`, checked against ±2^62: a count times an interval, channels times frames.
    ///
    /// - Parameters:
    ///   - a: A count or frame value.
    ///   - b: A count or frame value.
    ///   - name: What the product is, for the error.
    /// - Returns: The product, within ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the product leaves the timeline.
    public static func product(_ a: FramePosition, _ b: FramePosition, name: String) throws(AMIOError) -> FramePosition {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, range.contains(result) else {
            throw .invalidArgument(name: name, reason: "\(a) × \(b) is beyond the timeline limit of ±2^62")
        }
        return result
    }

    /// A number as a message shows it: whole numbers without a fraction (`300000000000000`), others as Swift prints them.
    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
    }

    /// Seconds in plain decimal notation with at most 3 decimals (`6004799503160.66`), for messages.
    static func formatSeconds(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e15 else { return "\(seconds)" }
        var text = String(Int64((seconds * 1000).rounded()))
        let negative = text.hasPrefix("-")
        if negative { text.removeFirst() }
        while text.count < 4 { text = "0" + text }
        var whole = String(text.dropLast(3)), fraction = String(text.suffix(3))
        while fraction.hasSuffix("0") { fraction.removeLast() }
        if whole.isEmpty { whole = "0" }
        return (negative ? "-" : "") + whole + (fraction.isEmpty ? "" : "." + fraction)
    }
}
