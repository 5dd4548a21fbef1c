import AMIO
import ArgumentParser
import Foundation

/// A TIME on the command line, in sox's grammar: one or more parts joined by
/// `+` or `-`, each either a clock time `[[hh:]mm:]ss[.frac]` with an
/// optional `t` (`1:30`, `90`, `.5`, `5025t`, `79:0285` — fields are not
/// limited to 60, `1:` is a minute) or a number of frames with an `s`, which
/// may have a fraction and an exponent (`48000s`, `1.7e6s`, rounded to the
/// nearest frame), or milliseconds with `ms` (`10ms`, amio's addition).
/// Parts are added left to right; a difference below zero
/// is zero, as in sox. The session format's times are `AudioTime`'s
/// stricter subset.
struct TimeArgument: Sendable, Equatable, CustomStringConvertible, ExpressibleByArgument {
    enum Part: Sendable, Equatable {
        case seconds(Double)
        /// Exact when written in digits alone, however many; rounded to the
        /// nearest frame with a fraction or an exponent (`1.7e6s`). Nil:
        /// beyond the timeline's 2^62 frames.
        case frames(Int64?)
    }

    /// Each part with whether it is subtracted.
    let parts: [(subtract: Bool, part: Part)]
    let text: String

    static let forms = "[[hh:]mm:]ss[.frac][t] (1:30, 90, 0.5, 5025t), frames with s (48000s, 1.7e6s), "
        + "milliseconds with ms (10ms), or a sum or difference of those (1:00+24000s)"

    static func == (lhs: TimeArgument, rhs: TimeArgument) -> Bool { lhs.text == rhs.text }

    var description: String { text }

    static let zero = TimeArgument(parts: [(false, .frames(0))], text: "0")

    private init(parts: [(subtract: Bool, part: Part)], text: String) {
        self.parts = parts
        self.text = text
    }

    init?(argument: String) { try? self.init(parsing: argument) }

    /// Parses `text`; what is not a TIME is an error listing the forms.
    init(parsing text: String) throws {
        let bad = ValidationError("'\(text.prefix(60))' is not a TIME: \(Self.forms)")
        var parts: [(Bool, Part)] = []
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var subtract = false
        while true {
            let end = rest.firstIndex(where: { $0 == "+" || $0 == "-" }) ?? rest.endIndex
            guard let part = Self.part(rest[..<end]) else { throw bad }
            parts.append((subtract, part))
            guard end < rest.endIndex else { break }
            subtract = rest[end] == "-"
            rest = rest[rest.index(after: end)...]
        }
        self.init(parts: parts, text: text)
    }

    /// One part: frames (`…s`), milliseconds (`…ms`) or a clock time.
    private static func part(_ text: Substring) -> Part? {
        // Milliseconds, amio's one addition to sox's grammar: fades and
        // crossfades are written so (`--crossfade 10ms`).
        if text.hasSuffix("ms") {
            let number = text.dropLast(2)
            guard let first = number.first, first.isNumber || first == ".",
                  number.allSatisfy({ $0.isNumber || $0 == "." }), number.filter({ $0 == "." }).count <= 1,
                  let value = Double(String(number))
            else { return nil }
            return .seconds(value / 1000)
        }
        let allowed = Set("0123456789:.ets")
        guard !text.isEmpty, text.allSatisfy(allowed.contains) else { return nil }
        let isClock = text.contains(":") || (text.contains(".") && !text.contains("e")) || text.last == "t"
        if !isClock, text.last == "s" {
            let number = text.dropLast()
            // Digits, an optional fraction and an optional exponent; nothing Swift's
            // Double(_:) would also take (a sign, hex, inf).
            guard let first = number.first, first.isNumber || first == ".",
                  number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" }),
                  let value = Double(String(number))
            else { return nil }
            // nil: more than Int64 holds, beyond the timeline in any case.
            if number.allSatisfy(\.isNumber) { return .frames(Int64(String(number))) }
            let rounded = value.rounded()
            return .frames(rounded <= Double(TimelineLimit.limit) ? Int64(rounded) : nil)
        }
        var clock = text
        if clock.last == "t" { clock = clock.dropLast() }
        let (whole, fraction): (Substring, Substring?) = {
            guard let dot = clock.firstIndex(of: ".") else { return (clock, nil) }
            return (clock[..<dot], clock[dot...])
        }()
        let fields = whole.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count <= 3, fields.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return nil }
        // The first field is required, unless the time is a bare fraction (.5).
        guard !fields[0].isEmpty || (fields.count == 1 && fraction != nil) else { return nil }
        var seconds = 0.0
        for field in fields { seconds = seconds * 60 + (Double(String(field)) ?? 0) }
        // A field of hours or minutes left empty (`1:`, `1::`) is zero.
        if let fraction {
            guard fraction.count > 1, fraction.dropFirst().allSatisfy(\.isNumber), let value = Double("0" + fraction)
            else { return nil }
            seconds += value
        }
        return seconds.isFinite ? .seconds(seconds) : nil
    }

    /// The time in seconds, summed as ``frames(atSampleRate:countingFramesAt:name:)``
    /// sums frames (a difference below zero is zero); nil if a part is in
    /// frames, which count at a rate not known yet.
    var seconds: Double? {
        var total = 0.0
        for (subtract, part) in parts {
            guard case let .seconds(seconds) = part else { return nil }
            total = subtract ? max(0, total - seconds) : total + seconds
        }
        return total
    }

    /// The time in frames at `sampleRate`: each part rounded to the nearest
    /// frame, summed left to right, never below zero. Parts in frames count
    /// at `frameRate` (a session's own rate, for `mix`), `sampleRate` if nil.
    ///
    /// - Throws: `AMIOError.invalidArgument` naming `name` when a part or the
    ///   sum is beyond the timeline limit at that rate.
    func frames(atSampleRate sampleRate: Int, countingFramesAt frameRate: Int? = nil,
                name: String) throws(AMIOError) -> Int64 {
        var total: Int64 = 0
        for (subtract, part) in parts {
            let frames: Int64
            switch part {
            case let .seconds(seconds):
                frames = try TimelineLimit.frames(seconds: seconds, sampleRate: sampleRate, name: name)
            case let .frames(count):
                guard let count, count <= TimelineLimit.limit else {
                    throw .invalidArgument(name: name, reason: "'\(text)' is beyond the timeline limit of 2^62 frames")
                }
                frames = try TimelineLimit.frames(count, countedAt: frameRate ?? sampleRate, convertedTo: sampleRate, name: name)
            }
            total = subtract ? max(0, total - frames) : try TimelineLimit.sum(total, frames, name: name)
        }
        return total
    }
}
