@testable import AMIO

/// A deterministic generator, so a failing case can be replayed from its seed.
typealias SeededGenerator = SplitMix

/// The playspec semantics written for clarity, one output sample at a time.
/// It shares no code with the engine.
struct ReferenceMixer {
    struct Change {
        var playspec: Playspec?
        var insertAt: Int64
        var startFrom: Int64
        var superseding: Bool
        /// The output frame from which the engine can see the change (the
        /// start of the cycle before which it was submitted).
        var visibleFrom: Int
    }

    let outputChannels: Int

    /// The value entry `entry` adds to output channel `channel` at timeline frame `frame`.
    func sample(of entry: PlayspecEntry, channel: Int, at frame: Int64) -> Float {
        let length = Int64(entry.frames.count)
        guard frame >= entry.playAt else { return 0 }
        var offset = frame - entry.playAt
        if entry.repeatInterval > 0 {
            offset %= entry.repeatInterval
            if offset >= min(length, entry.repeatInterval) { return 0 }
        } else if offset >= length {
            return 0
        }
        let clipChannel: Int
        if entry.clip.channelCount == 1 { clipChannel = 0 }
        else if channel < entry.clip.channelCount { clipChannel = channel }
        else { return 0 }
        return entry.gains[channel] * entry.clip[channel: clipChannel, frame: entry.frames.lowerBound + Int(offset)]
    }

    /// Renders `frames` output frames with the transport rolling from position 0.
    /// Returns the output (planar) and, per change, the old-timeline frame it
    /// applied at (nil if superseded or never applied).
    func render(frames: Int, changes: [Change]) -> (output: [[Float]], appliedAt: [Int64?]) {
        var output = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        var appliedAt = [Int64?](repeating: nil, count: changes.count)
        var position: Int64 = 0
        var current = Playspec()
        var pending: [Int] = []
        var seen = 0
        for t in 0..<frames {
            while seen < changes.count && changes[seen].visibleFrom <= t {
                if changes[seen].superseding { pending = [] }
                pending.append(seen)
                seen += 1
            }
            while let head = pending.first, changes[head].insertAt <= position {
                pending.removeFirst()
                appliedAt[head] = position
                position = changes[head].startFrom + (position - changes[head].insertAt)
                if let playspec = changes[head].playspec { current = playspec }
            }
            for channel in 0..<outputChannels {
                var sum: Float = 0
                for entry in current.entries.sorted(by: { $0.playAt < $1.playAt }) {
                    sum += sample(of: entry, channel: channel, at: position)
                }
                output[channel][t] = sum
            }
            position += 1
        }
        return (output, appliedAt)
    }
}
