import Foundation

/// A point or span of time as people write it: `hh:mm:ss.frac` (or `mm:ss`,
/// or plain seconds such as `1.5`), or a number of frames with an `s` suffix
/// (`48000s`), as sox and pastream accept.
public enum AudioTime: Sendable, Hashable, CustomStringConvertible {
    /// A time in seconds.
    case seconds(Double)
    /// An exact number of frames.
    case frames(Int64)

    /// Parses `text`.
    ///
    /// - Parameter text: `1:02:03.5`, `2:30`, `90`, `0.25` or `48000s`.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` naming the text.
    public init(parsing text: String) throws(AMIOError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func bad() -> AMIOError {
            .invalidArgument(name: "time", reason: "'\(text)' is not hh:mm:ss.frac, seconds, or frames with an s suffix")
        }
        if trimmed.hasSuffix("s") {
            guard let frames = Int64(trimmed.dropLast()), frames >= 0 else { throw bad() }
            self = .frames(frames)
            return
        }
        let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), let last = Double(parts.last!), last >= 0, last.isFinite else { throw bad() }
        var seconds = last
        if parts.count > 1 && last >= 60 { throw bad() }
        var scale = 60.0
        for (index, part) in parts.dropLast().reversed().enumerated() {
            guard let value = Int(part), value >= 0, index == parts.count - 2 || value < 60 else { throw bad() }
            seconds += Double(value) * scale
            scale *= 60
        }
        self = .seconds(seconds)
    }

    /// The time in frames at `sampleRate`, rounded to the nearest frame.
    public func frames(atSampleRate sampleRate: Int) -> Int64 {
        switch self {
        case let .seconds(seconds): Int64((seconds * Double(sampleRate)).rounded())
        case let .frames(frames): frames
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
