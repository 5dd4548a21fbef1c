@testable import AMIO

/// A deterministic generator, so a failing case can be replayed from its seed.
typealias SeededGenerator = SplitMix

/// The playspec semantics written for clarity, one output sample at a time.
/// It shares no code with the engine.
struct ReferenceMixer {
    /// One call a program makes, in the order it makes them.
    enum Command {
        /// `schedulePlayspecChange`.
        case change(Playspec, insertAt: Int64, startFrom: Int64, superseding: Bool)
        /// `setPlayspec`: at once, keeping the position.
        case replace(Playspec)
        /// `setPosition`.
        case seek(Int64)
        /// `setTransportRolling`.
        case roll(Bool)

        var isTransport: Bool {
            switch self {
            case .seek, .roll: true
            case .change, .replace: false
            }
        }
    }

    struct Call {
        var command: Command
        /// The output frame from which the engine can see the call (the
        /// start of the cycle before which it was made).
        var visibleFrom: Int
    }

    /// What became of a change; `nil` while it is still pending.
    typealias Outcome = PlayspecChangeResult?

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

    /// Renders `frames` output frames from a stopped transport at position 0.
    /// Returns the output (planar) and, per call that is a change (in call
    /// order, transport commands left out), what became of it.
    func render(frames: Int, calls: [Call]) -> (output: [[Float]], outcomes: [Outcome]) {
        var output = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        var position: Int64 = 0
        var rolling = false
        var current = Playspec()
        // A pending change: its index among the changes, the call itself.
        var pending: [(change: Int, command: Command)] = []
        var outcomes: [Outcome] = []
        var seen = 0

        func isDue(_ command: Command) -> Bool {
            switch command {
            case .replace: true
            case let .change(_, insertAt, _, _): insertAt <= position
            case .seek, .roll: true
            }
        }
        func apply(_ command: Command, change: Int?) {
            switch command {
            case let .change(playspec, insertAt, startFrom, _):
                outcomes[change!] = .applied(atFrame: position)
                position = startFrom + (position - insertAt)
                current = playspec
            case let .replace(playspec):
                outcomes[change!] = .applied(atFrame: position)
                current = playspec
            case let .seek(frame):
                position = frame
                // A change the seek moved past is never fired late.
                pending.removeAll { item in
                    guard case let .change(_, insertAt, _, _) = item.command, insertAt < frame else { return false }
                    outcomes[item.change] = .skipped(seekTo: frame)
                    return true
                }
            case let .roll(value):
                rolling = value
            }
        }
        func applyDue() {
            while let head = pending.first, isDue(head.command) {
                pending.removeFirst()
                apply(head.command, change: head.change)
            }
        }

        for t in 0..<frames {
            while seen < calls.count && calls[seen].visibleFrom <= t {
                let command = calls[seen].command
                seen += 1
                if command.isTransport {
                    // In its place in submission order: after what is due, not
                    // waiting for what is pending for a later frame.
                    applyDue()
                    apply(command, change: nil)
                    continue
                }
                if case .change(_, _, _, superseding: true) = command {
                    for item in pending { outcomes[item.change] = .superseded }
                    pending = []
                }
                outcomes.append(nil)
                pending.append((outcomes.count - 1, command))
            }
            applyDue()
            guard rolling else { continue }
            for channel in 0..<outputChannels {
                var sum: Float = 0
                for entry in current.entries.sorted(by: { $0.playAt < $1.playAt }) {
                    sum += sample(of: entry, channel: channel, at: position)
                }
                output[channel][t] = sum
            }
            position += 1
        }
        return (output, outcomes)
    }
}
