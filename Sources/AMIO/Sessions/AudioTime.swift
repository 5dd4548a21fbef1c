import Foundation

/// A point or span of time as people write it: `hh:mm:ss.frac` (or `mm:ss`,
/// or plain seconds such as `1.5`), or a number of frames with an `s` suffix
/// (`48000s`), as sox and pastream accept.
///
/// The text grammar is the one `Docs/session.schema.json` gives for a time
/// string (``pattern``): decimal digits only (no sign, exponent, hex or
/// `inf`), minutes and seconds after a colon below 60, spaces or tabs around.
/// A time is never negative, and always fits the timeline: at most
/// ``TimelineLimit/maximumSeconds`` seconds, or 2^62 frames.
public enum AudioTime: Sendable, Hashable, CustomStringConvertible {
    /// A time in seconds.
    case seconds(Double)
    /// An exact number of frames, at the rate the times count at: a
    /// session's `sampleRate`, or the playing rate on the command line.
    case frames(FramePosition)

    /// The grammar of a time string, as an ECMA-262 regular expression (the
    /// one `Docs/session.schema.json` uses; a test checks that they agree).
    public static let pattern =
        #"^[ \t]*([0-9]+(\.[0-9]+)?|\.[0-9]+|[0-9]+:([0-5]?[0-9]:)?[0-5]?[0-9](\.[0-9]+)?|[0-9]+s)[ \t]*$"#

    /// Parses `text`.
    ///
    /// - Parameter text: `1:02:03.5`, `2:30`, `90`, `0.25` or `48000s`.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` naming the text
    ///   (shortened to 60 characters) for what is not a time, and for a time
    ///   beyond the timeline limit.
    public init(parsing text: String) throws(AMIOError) {
        try self.init(parsing: text, name: "time")
    }

    /// Parses `text`, naming it `name` in errors.
    init(parsing text: String, name: String) throws(AMIOError) {
        func bad() -> AMIOError {
            var reason = "\(quoted(text)) is not a time: hh:mm:ss.frac, mm:ss, seconds, or frames with an s suffix (48000s)"
            // Swift's own number syntax (exponents, hex, signs, inf) is not a time; say why.
            if let number = Double(text.trimmingCharacters(in: .whitespaces)) {
                reason += number < 0 ? "; a time is never negative"
                    : "; seconds are plain decimal digits"
                    + (number > TimelineLimit.maximumSeconds
                        ? ", at most \(TimelineLimit.formatSeconds(TimelineLimit.maximumSeconds)) s (the timeline limit, 2^62 frames at 768000 Hz)" : "")
            }
            return .invalidArgument(name: name, reason: reason)
        }
        var bytes = Substring(text).utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw bad() }
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

        if bytes.last == UInt8(ascii: "s") {
            let digits = bytes.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(isDigit) else { throw bad() }
            var frames: Int64 = 0
            for digit in digits {
                let (times10, o1) = frames.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(digit - 0x30))
                guard !o1, !o2, next <= TimelineLimit.limit else {
                    throw .invalidArgument(name: name, reason: "\(quoted(text)) is beyond the timeline limit of 2^62 frames")
                }
                frames = next
            }
            self = .frames(frames)
            return
        }

        let parts = bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { throw bad() }
        // The last part: digits with an optional fraction (alone it may be `.5`).
        let last = parts[parts.count - 1]
        let pieces = last.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard pieces.count <= 2, pieces.allSatisfy({ $0.allSatisfy(isDigit) }),
              pieces.count == 1 || !pieces[1].isEmpty,
              !pieces[0].isEmpty || (parts.count == 1 && pieces.count == 2)
        else { throw bad() }
        if parts.count > 1 {
            // Seconds after a colon: one or two digits, below 60.
            guard pieces[0].count <= 2, (Int(String(decoding: pieces[0], as: UTF8.self)) ?? 60) < 60 else { throw bad() }
        }
        guard var seconds = Double(String(decoding: last, as: UTF8.self)) else { throw bad() }
        var scale = 60.0
        for (index, part) in parts.dropLast().reversed().enumerated() {
            guard !part.isEmpty, part.allSatisfy(isDigit) else { throw bad() }
            let isLeading = index == parts.count - 2
            // Minutes between hours and seconds are one or two digits below 60;
            // the leading part (minutes or hours) may be any number of digits.
            guard let value = Double(String(decoding: part, as: UTF8.self)),
                  isLeading || (part.count <= 2 && value < 60)
            else { throw bad() }
            seconds += value * scale
            scale *= 60
        }
        guard seconds.isFinite, seconds <= TimelineLimit.maximumSeconds else {
            throw .invalidArgument(name: name, reason: "\(quoted(text)) is beyond the timeline limit of "
                + "\(TimelineLimit.formatSeconds(TimelineLimit.maximumSeconds)) s (2^62 frames at 768000 Hz)")
        }
        self = .seconds(seconds)
    }

    /// A time of `seconds`, checked: never negative, never beyond the timeline.
    ///
    /// - Parameters:
    ///   - seconds: A number of seconds, as a JSON number or a command-line value gives it.
    ///   - name: What the value is, for the error.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a negative or
    ///   non-finite number, or one beyond ``TimelineLimit/maximumSeconds``.
    public init(seconds: Double, name: String) throws(AMIOError) {
        guard seconds.isFinite else {
            throw .invalidArgument(name: name, reason: "\(seconds) is not a finite number of seconds")
        }
        guard seconds >= 0 else {
            throw .invalidArgument(name: name, reason: "\(TimelineLimit.formatNumber(seconds)) is negative: expected a time of 0 or more seconds")
        }
        guard seconds <= TimelineLimit.maximumSeconds else {
            throw .invalidArgument(name: name, reason: "\(TimelineLimit.formatNumber(seconds)) s is beyond the timeline limit of "
                + "\(TimelineLimit.formatSeconds(TimelineLimit.maximumSeconds)) s (2^62 frames at 768000 Hz)")
        }
        self = .seconds(seconds)
    }

    /// The time in frames at `sampleRate`, rounded to the nearest frame; a
    /// time in frames is taken to count at `sampleRate` too, as a command
    /// line's times count at the rate it plays at.
    ///
    /// - Parameters:
    ///   - sampleRate: Frames per second, at least 1.
    ///   - name: What the time is, for the error (`"--duration"`, `"entries[2].start"`).
    /// - Returns: The frames, within the timeline's ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` naming the time
    ///   and the limit when it does not fit the timeline at that rate.
    public func frames(atSampleRate sampleRate: Int, name: String = "time") throws(AMIOError) -> FramePosition {
        try frames(atSampleRate: sampleRate, countingFramesAt: sampleRate, name: name)
    }

    /// The time in frames at `sampleRate`, a time in frames being counted at
    /// `frameRate` (a session's `sampleRate`): both kinds are rounded to the
    /// nearest frame, halves away from zero.
    ///
    /// ```swift
    /// let frames = try AudioTime.frames(24000).frames(atSampleRate: 44100, countingFramesAt: 48000)  // 22050
    /// ```
    ///
    /// - Parameters:
    ///   - sampleRate: The rate to play or render at, at least 1.
    ///   - frameRate: The rate a time in frames counts at, at least 1; a time in seconds ignores it.
    ///   - name: What the time is, for the error (`"entries[2].start"`).
    /// - Returns: The frames at `sampleRate`, within the timeline's ±2^62.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` naming the time
    ///   and the limit when it does not fit the timeline at that rate, or for a rate below 1.
    public func frames(atSampleRate sampleRate: Int, countingFramesAt frameRate: Int,
                       name: String = "time") throws(AMIOError) -> FramePosition {
        switch self {
        case let .seconds(seconds): try TimelineLimit.frames(seconds: seconds, sampleRate: sampleRate, name: name)
        case let .frames(frames): try TimelineLimit.frames(frames, countedAt: frameRate, convertedTo: sampleRate, name: name)
        }
    }

    /// Whether this time comes before `other`, times in frames counting at
    /// `frameRate` (a session's rate): seconds and frames are compared in
    /// frames at that rate, unrounded. The exact order is the playing rate's,
    /// once both are frames there.
    func isBefore(_ other: AudioTime, countingFramesAt frameRate: Int) -> Bool {
        switch (self, other) {
        case let (.seconds(a), .seconds(b)): a < b
        case let (.frames(a), .frames(b)): a < b
        case let (.seconds(a), .frames(b)): a * Double(frameRate) < Double(b)
        case let (.frames(a), .seconds(b)): Double(a) < b * Double(frameRate)
        }
    }

    /// The time as a message shows it: `2.5 s`, `1 s`, or frames with an `s` (`24000s`).
    var shown: String {
        switch self {
        case let .seconds(seconds): "\(TimelineLimit.formatNumber(seconds)) s"
        case let .frames(frames): "\(frames)s"
        }
    }

    /// The text form: seconds, or frames with an `s`.
    public var description: String {
        switch self {
        case let .seconds(seconds): "\(seconds)"
        case let .frames(frames): "\(frames)s"
        }
    }
}

/// `text` in single quotes, cut to `limit` characters so a message never
/// echoes more than a line of what the user gave (a 10 MB string stays out of it).
func quoted(_ text: String, limit: Int = 60) -> String {
    let count = text.count
    guard count > limit else { return "'\(text)'" }
    return "'\(text.prefix(limit))…' (\(count) characters)"
}
