@testable import AMIO
import Foundation
import Testing

/// Times in frames convert between rates exactly, rounded to the nearest frame.
@Suite struct SessionRateTests {
    @Test func framesConvertBetweenRatesRoundingToTheNearest() throws {
        #expect(try AudioTime.frames(24000).frames(atSampleRate: 44100, countingFramesAt: 48000) == 22050)
        #expect(try AudioTime.frames(22050).frames(atSampleRate: 48000, countingFramesAt: 44100) == 24000)
        #expect(try AudioTime.seconds(0.5).frames(atSampleRate: 44100, countingFramesAt: 48000) == 22050, "seconds ignore the frame rate")
        // Halves away from zero, as seconds round.
        #expect(try TimelineLimit.frames(1, countedAt: 2, convertedTo: 1, name: "t") == 1)
        #expect(try TimelineLimit.frames(3, countedAt: 2, convertedTo: 1, name: "t") == 2)
        #expect(try TimelineLimit.frames(-1, countedAt: 2, convertedTo: 1, name: "t") == -1)
        #expect(try TimelineLimit.frames(1, countedAt: 3, convertedTo: 1, name: "t") == 0)
        #expect(try TimelineLimit.frames(2, countedAt: 3, convertedTo: 1, name: "t") == 1)
        // The whole timeline converts without overflow, to a lower rate and back to the limit.
        let limit = TimelineLimit.limit
        #expect(try TimelineLimit.frames(limit, countedAt: 768_000, convertedTo: 1, name: "t") == 6_004_799_503_161)
        #expect(try TimelineLimit.frames(limit, countedAt: 7, convertedTo: 7, name: "t") == limit)
        #expect(try TimelineLimit.frames(-limit, countedAt: 2, convertedTo: 1, name: "t") == -limit / 2)
        for (frames, from, to) in [(limit, 1, 2), (limit / 2 + 1, 1, 2), (Int64.max, 1, 1), (Int64.min, 2, 1), (limit, 1, 768_000),
                                   (1, 0, 48000), (1, 48000, 0), (1, -1, 1)] {
            let error = #expect(throws: AMIOError.self) { try TimelineLimit.frames(frames, countedAt: from, convertedTo: to, name: "start") }
            guard case let .invalidArgument(name, reason)? = error else { continue }
            #expect(name == "start" && (reason.contains("2^62") || reason.contains("below 1 Hz")), "\(reason)")
        }
    }

    /// Seeded random frames and rates: the conversion is the exact quotient, rounded half up.
    @Test func framesConvertExactlyForRandomValues() throws {
        var rng = SplitMix(seed: 0x4A7E)
        for _ in 0..<20000 {
            let from = 1 + rng.below(768_000), to = 1 + rng.below(768_000)
            // Below 2^40 frames, 2·frames·rate fits Int64 and gives the exact rounding.
            let frames = Int64(rng.below(1 << 40))
            let exact = (2 * frames * Int64(to) + Int64(from)) / (2 * Int64(from))
            #expect(try TimelineLimit.frames(frames, countedAt: from, convertedTo: to, name: "t") == exact, "\(frames) at \(from) → \(to)")
            // Near the limit, within a frame of the real quotient, or refused.
            let large = TimelineLimit.limit - Int64(rng.below(1 << 40))
            let real = Double(large) * Double(to) / Double(from)
            if let converted = try? TimelineLimit.frames(large, countedAt: from, convertedTo: to, name: "t") {
                #expect(abs(Double(converted) - real) <= max(1, real * 1e-15) && converted <= TimelineLimit.limit)
            } else {
                #expect(real > Double(TimelineLimit.limit) * (1 - 1e-15))
            }
        }
    }
}
