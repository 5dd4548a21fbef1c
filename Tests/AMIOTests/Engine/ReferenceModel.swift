@testable import AMIO
import Foundation

/// A deterministic generator, so a failing case can be replayed from its seed.
typealias SeededGenerator = SplitMix

/// The playspec semantics written for clarity, one output sample at a time.
/// It shares no code with the engine: the fade curves, the envelope's
/// interpolation and the crossfade are written out here from their
/// definitions (Docs/Playspec.md, ``FadeShape``, ``GainEnvelope``,
/// ``Crossfade``), not taken from AMIO.
struct ReferenceMixer {
    /// One call a program makes, in the order it makes them.
    enum Command {
        /// `schedulePlayspecChange`.
        case change(Playspec, insertAt: Int64, startFrom: Int64, superseding: Bool, crossfade: Crossfade = .none)
        /// `setPlayspec`: at once, keeping the position.
        case replace(Playspec, crossfade: Crossfade = .none)
        /// `setPosition`.
        case seek(Int64, crossfade: Crossfade = .none)
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

    /// s(x) of `shape` for x in [0, 1], from its definition.
    static func curve(_ shape: FadeShape, _ x: Double) -> Float {
        let x = min(max(x, 0), 1)
        switch shape {
        case .linear: return Float(x)
        case .equalPower: return Float(sin(x * Double.pi / 2))
        case .exponential: return Float((pow(10, 3 * (x - 1)) - 0.001) / (1 - 0.001))
        }
    }

    /// The fade weight of occurrence frame `p` of an occurrence of `length` frames.
    static func fadeWeight(of entry: PlayspecEntry, occurrenceFrame p: Int64, length: Int64) -> Float {
        let fadeIn = Int64(entry.fadeIn), fadeOut = Int64(entry.fadeOut)
        if p < fadeIn { return curve(entry.fadeShape, Double(p) / Double(fadeIn)) }
        if length - p < fadeOut { return curve(entry.fadeShape, Double(length - p) / Double(fadeOut)) }
        return 1
    }

    /// The envelope's gain for output `channel` at frame `u` of its time base.
    static func envelopeGain(_ envelope: GainEnvelope, channel: Int, at u: Int64) -> Float {
        let points = envelope.points
        func gain(_ point: GainEnvelope.Point) -> Float { point.gains.count == 1 ? point.gains[0] : point.gains[channel] }
        if u <= points[0].frame { return gain(points[0]) }
        if u >= points[points.count - 1].frame { return gain(points[points.count - 1]) }
        let after = points.firstIndex { $0.frame > u }!
        let a = points[after - 1], b = points[after]
        let fraction = Double(u - a.frame) / Double(b.frame - a.frame)
        return Float(Double(gain(a)) + (Double(gain(b)) - Double(gain(a))) * fraction)
    }

    /// The value entry `entry` adds to output channel `channel` at timeline frame `frame`.
    func sample(of entry: PlayspecEntry, channel: Int, at frame: Int64) -> Float {
        let length = Int64(entry.frames.count)
        guard frame >= entry.playAt else { return 0 }
        var offset = frame - entry.playAt
        var occurrence = length
        if entry.repeatInterval > 0 {
            offset %= entry.repeatInterval
            occurrence = min(length, entry.repeatInterval)
            if offset >= occurrence { return 0 }
        } else if offset >= length {
            return 0
        }
        let clipChannel: Int
        if entry.clip.channelCount == 1 { clipChannel = 0 }
        else if channel < entry.clip.channelCount { clipChannel = channel }
        else { return 0 }
        let fade = Self.fadeWeight(of: entry, occurrenceFrame: offset, length: occurrence)
        var envelope: Float = 1
        if let curve = entry.envelope {
            envelope = Self.envelopeGain(curve, channel: channel, at: curve.timeBase == .occurrence ? offset : frame)
        }
        let weight = fade * envelope
        return entry.gains[channel] * weight * entry.clip[channel: clipChannel, frame: entry.frames.lowerBound + Int(offset)]
    }

    /// The sum of `entries` (in play_at order) at `frame` on output `channel`.
    func mix(_ entries: [PlayspecEntry], channel: Int, at frame: Int64) -> Float {
        var sum: Float = 0
        for entry in entries {
            sum += sample(of: entry, channel: channel, at: frame)
        }
        return sum
    }

    /// A playspec's entries in the order their samples are summed: by play_at
    /// (ties in the order given).
    static func summingOrder(_ playspec: Playspec) -> [PlayspecEntry] {
        playspec.entries.enumerated().sorted { ($0.element.playAt, $0.offset) < ($1.element.playAt, $1.offset) }
            .map(\.element)
    }

    /// A crossfade under way: the timeline that played before a change,
    /// going on underneath the new one.
    struct Fade {
        var entries: [PlayspecEntry]
        var position: Int64
        var length: Int
        var shape: FadeShape
        var done = 0
    }

    /// Renders `frames` output frames from a stopped transport at position 0.
    /// Returns the output (planar) and, per call that is a change (in call
    /// order, transport commands left out), what became of it.
    func render(frames: Int, calls: [Call]) -> (output: [[Float]], outcomes: [Outcome]) {
        var output = [[Float]](repeating: [Float](repeating: 0, count: frames), count: outputChannels)
        var position: Int64 = 0
        var rolling = false
        var current: [PlayspecEntry] = []
        var fade: Fade?
        // A pending change: its index among the changes, the call itself.
        var pending: [(change: Int, command: Command)] = []
        var outcomes: [Outcome] = []
        var seen = 0

        func isDue(_ command: Command) -> Bool {
            switch command {
            case .replace: true
            case let .change(_, insertAt, _, _, _): insertAt <= position
            case .seek, .roll: true
            }
        }
        func apply(_ command: Command, change: Int?) {
            // A new playspec, a seek or a stop ends a running crossfade (its tail stops).
            switch command {
            case .change, .replace, .seek, .roll(false): fade = nil
            case .roll(true): break
            }
            let before = (entries: current, position: position)
            var crossfade = Crossfade.none
            switch command {
            case let .change(playspec, insertAt, startFrom, _, fadeOver):
                outcomes[change!] = .applied(atFrame: position)
                position = startFrom + (position - insertAt)
                current = Self.summingOrder(playspec)
                crossfade = fadeOver
            case let .replace(playspec, fadeOver):
                outcomes[change!] = .applied(atFrame: position)
                current = Self.summingOrder(playspec)
                crossfade = fadeOver
            case let .seek(frame, fadeOver):
                position = frame
                crossfade = fadeOver
                // A change the seek moved past is never fired late.
                pending.removeAll { item in
                    guard case let .change(_, insertAt, _, _, _) = item.command, insertAt < frame else { return false }
                    outcomes[item.change] = .skipped(seekTo: frame)
                    return true
                }
            case let .roll(value):
                rolling = value
            }
            // Only two timelines that both sound are crossfaded (no command
            // that carries a crossfade changes whether the transport rolls).
            if crossfade.frames > 0 && rolling {
                fade = Fade(entries: before.entries, position: before.position, length: crossfade.frames,
                            shape: crossfade.shape)
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
                if case .change(_, _, _, superseding: true, _) = command {
                    for item in pending { outcomes[item.change] = .superseded }
                    pending = []
                }
                outcomes.append(nil)
                pending.append((outcomes.count - 1, command))
            }
            applyDue()
            guard rolling else { continue }
            if var running = fade {
                // Frame k of X: the new side weighs s(k/X), the old s((X − k)/X).
                let k = running.done, x = running.length
                let newWeight = Self.curve(running.shape, Double(k) / Double(x))
                let oldWeight = Self.curve(running.shape, Double(x - k) / Double(x))
                for channel in 0..<outputChannels {
                    let new = mix(current, channel: channel, at: position)
                    let old = mix(running.entries, channel: channel, at: running.position)
                    output[channel][t] = newWeight * new + oldWeight * old
                }
                running.done += 1
                running.position += 1
                fade = running.done == running.length ? nil : running
            } else {
                for channel in 0..<outputChannels {
                    output[channel][t] = mix(current, channel: channel, at: position)
                }
            }
            position += 1
        }
        return (output, outcomes)
    }
}
