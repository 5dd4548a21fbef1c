import CAMIO

/// One clip placed on the timeline.
///
/// Clip frames `frames.lowerBound ..< frames.upperBound` (the crop) sound from
/// timeline frame `playAt` on: clip frame `frames.lowerBound` sounds at `playAt`.
/// With a `repeatInterval` greater than 0 the cropped region starts again at
/// `playAt + k * repeatInterval` for every k ≥ 0; a crop longer than the
/// interval is cut where the next repetition starts. Clip channel i goes to
/// output i, a mono clip to every output, each scaled by `gains[output]`.
///
/// Each occurrence (the one play, or each repetition, of L frames: the crop,
/// cut at the interval) may fade in over its first `fadeIn` frames and out
/// over its last `fadeOut` frames, with the curve `fadeShape` (see
/// ``FadeShape``), and the whole entry may follow a gain ``envelope``. A
/// sample of occurrence frame p is
/// `gains[output] × fade(p) × envelope(output, frame) × clip sample`.
public struct PlayspecEntry: Sendable {
    /// The audio.
    public var clip: AudioClip
    /// The crop, in clip frames.
    public var frames: Range<FrameCount>
    /// The timeline frame where the crop's first frame sounds.
    public var playAt: FramePosition
    /// 0 to play once; otherwise the distance between repetitions in frames.
    public var repeatInterval: FramePosition
    /// One linear gain per output channel.
    public var gains: [Float]
    /// Frames at the start of every occurrence that fade in (0: none).
    public var fadeIn: FrameCount
    /// Frames at the end of every occurrence that fade out (0: none); the end
    /// of an occurrence cut short by the next repetition counts as an end.
    public var fadeOut: FrameCount
    /// The curve of both fades.
    public var fadeShape: FadeShape
    /// A gain that changes over time, on top of ``gains`` and the fades; nil for none.
    public var envelope: GainEnvelope?

    /// Places `frames` of `clip` at timeline frame `playAt`.
    ///
    /// - Parameters:
    ///   - clip: The audio.
    ///   - frames: The crop in clip frames; must lie inside the clip and not be empty.
    ///   - playAt: The timeline frame where `frames.lowerBound` sounds.
    ///   - repeatInterval: 0 (once) or the repetition period in frames.
    ///   - gains: One linear gain per output channel of the interface.
    ///   - fadeIn: Frames that fade in at the start of every occurrence.
    ///   - fadeOut: Frames that fade out at the end of every occurrence;
    ///     `fadeIn + fadeOut` must fit in one occurrence.
    ///   - fadeShape: The curve of both fades (default: linear).
    ///   - envelope: A gain envelope on top of `gains`, or nil.
    public init(clip: AudioClip, frames: Range<FrameCount>, playAt: FramePosition, repeatInterval: FramePosition = 0,
                gains: [Float], fadeIn: FrameCount = 0, fadeOut: FrameCount = 0, fadeShape: FadeShape = .linear,
                envelope: GainEnvelope? = nil) {
        self.clip = clip
        self.frames = frames
        self.playAt = playAt
        self.repeatInterval = repeatInterval
        self.gains = gains
        self.fadeIn = fadeIn
        self.fadeOut = fadeOut
        self.fadeShape = fadeShape
        self.envelope = envelope
    }

    /// Places the whole of `clip` at timeline frame `playAt`.
    ///
    /// - Parameters:
    ///   - clip: The audio.
    ///   - playAt: The timeline frame where the clip's first frame sounds.
    ///   - repeatInterval: 0 (once) or the repetition period in frames.
    ///   - gains: One linear gain per output channel of the interface.
    ///   - fadeIn: Frames that fade in at the start of every occurrence.
    ///   - fadeOut: Frames that fade out at the end of every occurrence.
    ///   - fadeShape: The curve of both fades (default: linear).
    ///   - envelope: A gain envelope on top of `gains`, or nil.
    public init(clip: AudioClip, playAt: FramePosition, repeatInterval: FramePosition = 0, gains: [Float],
                fadeIn: FrameCount = 0, fadeOut: FrameCount = 0, fadeShape: FadeShape = .linear,
                envelope: GainEnvelope? = nil) {
        self.init(clip: clip, frames: 0..<clip.frameCount, playAt: playAt, repeatInterval: repeatInterval, gains: gains,
                  fadeIn: fadeIn, fadeOut: fadeOut, fadeShape: fadeShape, envelope: envelope)
    }

    /// The frames of one occurrence: the crop, cut at the repeat interval.
    public var occurrenceLength: FrameCount {
        repeatInterval > 0 ? Int(min(Int64(frames.count), repeatInterval)) : frames.count
    }
}

/// A schedule of clips: the entries overlap and add.
public struct Playspec: Sendable, RandomAccessCollection, MutableCollection, RangeReplaceableCollection,
    ExpressibleByArrayLiteral
{
    /// The entries, in any order.
    public var entries: [PlayspecEntry]

    /// An empty playspec: silence.
    public init() { entries = [] }
    /// A playspec of the given entries.
    ///
    /// - Parameter entries: The entries, in any order.
    public init(_ entries: [PlayspecEntry]) { self.entries = entries }
    /// A playspec of the given entries: `[PlayspecEntry(…), PlayspecEntry(…)]`.
    ///
    /// - Parameter elements: The entries, in any order.
    public init(arrayLiteral elements: PlayspecEntry...) { entries = elements }

    /// The first entry's index.
    public var startIndex: Int { entries.startIndex }
    /// One past the last entry's index.
    public var endIndex: Int { entries.endIndex }
    /// The entry at `position`.
    ///
    /// - Parameter position: An index, `startIndex..<endIndex`.
    public subscript(position: Int) -> PlayspecEntry {
        get { entries[position] }
        set { entries[position] = newValue }
    }
    /// Replaces the entries in `subrange` with `newElements`.
    ///
    /// - Parameters:
    ///   - subrange: The indices of the entries to replace.
    ///   - newElements: The entries to put there; any number of them.
    public mutating func replaceSubrange<C: Collection<PlayspecEntry>>(_ subrange: Range<Int>, with newElements: C) {
        entries.replaceSubrange(subrange, with: newElements)
    }
}

extension Playspec {
    /// Sets `gains` on every entry `predicate` accepts, e.g. one track's
    /// clips: `playspec.setGains([0.5, 0.5]) { $0.clip.name == "drums.wav" }`.
    ///
    /// To hear it without a click, swap it in with a short linear crossfade,
    /// as ``AudioInterface/setGains(_:forEntriesMatching:in:supersedingPending:crossfade:)`` does.
    ///
    /// - Parameters:
    ///   - gains: One linear gain per output channel.
    ///   - predicate: Which entries get them.
    /// - Returns: How many entries it changed.
    /// - Throws: What `predicate` throws (nothing is changed then).
    @discardableResult
    public mutating func setGains<Failure: Error>(
        _ gains: [Float], forEntriesMatching predicate: (PlayspecEntry) throws(Failure) -> Bool
    ) throws(Failure) -> Int {
        var changed = entries
        var count = 0
        for index in changed.indices where try predicate(changed[index]) {
            changed[index].gains = gains
            count += 1
        }
        entries = changed
        return count
    }
}

/// The crossfade of a live gain change: 10 ms, linear. The two sides are
/// the same audio at two gains, so a linear crossfade is exactly a gain ramp
/// (an equal-power one would swell by up to 3 dB halfway).
func gainChangeCrossfade(sampleRate: Int) -> Crossfade {
    Crossfade(frames: min(Crossfade.maximumFrames, max(1, sampleRate / 100)), shape: .linear)
}

/// The limits a playspec is checked against before it is compiled.
extension PlayspecEntry {
    /// The farthest timeline frame an entry plays at, either way: `playAt`
    /// and `repeatInterval` are within ±2^60 frames (the timeline reaches
    /// 2^62), so an entry's end never overflows.
    public static let maximumFrame: FramePosition = PlayspecLimits.frameLimit
}

struct PlayspecLimits {
    var outputChannels: Int
    var sampleRate: Int
    var maximumEntries: Int

    /// Timeline frames are kept well inside Int64 so `playAt + length` never overflows.
    static let frameLimit: Int64 = 1 << 60
}

extension Playspec {
    /// Checks every rule the realtime mixer relies on.
    ///
    /// - Throws: ``AMIOError/invalidPlayspec(entry:reason:)`` naming the first bad entry.
    func validate(_ limits: PlayspecLimits) throws(AMIOError) {
        if entries.count > limits.maximumEntries {
            throw .invalidPlayspec(entry: limits.maximumEntries,
                                   reason: "\(entries.count) entries exceed the limit of \(limits.maximumEntries)")
        }
        for (index, entry) in entries.enumerated() {
            func fail(_ reason: String) -> AMIOError { .invalidPlayspec(entry: index, reason: reason) }
            let clip = entry.clip
            if entry.frames.isEmpty {
                throw fail("the crop \(entry.frames) is empty")
            }
            if entry.frames.lowerBound < 0 || entry.frames.upperBound > clip.frameCount {
                throw fail("the crop \(entry.frames) lies outside the clip's \(clip.frameCount) frames")
            }
            if entry.repeatInterval < 0 {
                throw fail("repeatInterval is \(entry.repeatInterval); it must be 0 (once) or positive")
            }
            if entry.playAt < -PlayspecLimits.frameLimit || entry.playAt > PlayspecLimits.frameLimit
                || entry.repeatInterval > PlayspecLimits.frameLimit
            {
                throw fail("playAt \(entry.playAt) or repeatInterval \(entry.repeatInterval) is beyond ±2^60 frames")
            }
            if entry.gains.count != limits.outputChannels {
                throw fail("\(entry.gains.count) gains given for \(limits.outputChannels) output channels")
            }
            if let bad = entry.gains.firstIndex(where: { !$0.isFinite }) {
                throw fail("gain \(bad) is \(entry.gains[bad]); gains must be finite")
            }
            if entry.fadeIn < 0 || entry.fadeOut < 0 {
                throw fail("fadeIn \(entry.fadeIn) and fadeOut \(entry.fadeOut) must not be negative")
            }
            if entry.fadeIn > entry.occurrenceLength - entry.fadeOut {
                throw fail("fadeIn \(entry.fadeIn) + fadeOut \(entry.fadeOut) exceed the \(entry.occurrenceLength) frames "
                    + "of one occurrence")
            }
            if let envelope = entry.envelope {
                try envelope.validate(outputChannels: limits.outputChannels, fail: fail)
            }
            if clip.sampleRate != limits.sampleRate {
                throw fail("clip \(clip.label) is at \(clip.sampleRate) Hz but the interface runs at "
                    + "\(limits.sampleRate) Hz; convert it with clip.resampled(to: \(limits.sampleRate))")
            }
        }
    }

    /// For each clip (by its storage) the entries play in timeline frames
    /// `window`, how many of its frames from the start they read there, at
    /// most: the frames that must be loaded before the window plays. A
    /// repeating entry whose window wraps counts its whole occurrence.
    func clipFramesRead(in window: Range<FramePosition>) -> [ObjectIdentifier: Int] {
        var read: [ObjectIdentifier: Int] = [:]
        for entry in entries where !window.isEmpty {
            let length = FramePosition(entry.occurrenceLength)
            let start = Swift.max(window.lowerBound, entry.playAt)
            guard start < window.upperBound, length > 0 else { continue }
            var end: FramePosition
            if entry.repeatInterval == 0 {
                guard start < entry.playAt + length else { continue }
                end = Swift.min(window.upperBound, entry.playAt + length) - entry.playAt
            } else {
                let phase = (start - entry.playAt) % entry.repeatInterval
                let span = window.upperBound - start
                end = phase + span >= entry.repeatInterval ? length : Swift.min(length, phase + span)
                if phase >= length && phase + span < entry.repeatInterval { continue }
            }
            let frames = entry.frames.lowerBound + Int(end)
            let key = ObjectIdentifier(entry.clip.storage)
            read[key] = Swift.max(read[key] ?? 0, frames)
        }
        return read
    }

    /// Validates and compiles into the flat C form the mixer reads.
    func compile(id: UInt64, limits: PlayspecLimits) throws(AMIOError) -> CompiledPlayspec {
        try validate(limits)
        let envelopes = entries.compactMap(\.envelope)
        let envelopePoints = envelopes.reduce(0) { $0 + $1.points.count }
        let envelopeGains = envelopes.reduce(0) { $0 + $1.points.count * $1.width }
        guard let pointer = camio_playspec_create(id, UInt32(entries.count), UInt32(limits.outputChannels),
                                                  UInt64(envelopePoints), UInt64(envelopeGains)) else {
            throw .outOfMemory
        }
        for (index, entry) in entries.enumerated() {
            let storage = entry.clip.storage
            // C copies output_channels gains; with no outputs it reads none, but needs a pointer.
            let gains = entry.gains.isEmpty ? [0] : entry.gains
            gains.withUnsafeBufferPointer { gains in
                camio_playspec_set_entry(
                    pointer, UInt32(index), storage.channelPointers, UInt32(storage.channelCount),
                    Int64(entry.frames.lowerBound), Int64(entry.frames.upperBound),
                    entry.playAt, entry.repeatInterval, gains.baseAddress!)
            }
            // A clip still loading plays only its frames written so far (and
            // one whose load failed only those before the failure: the pages
            // after it were never written, and would fault on first touch).
            if let progress = storage.progress, !progress.succeeded {
                camio_playspec_set_progress(pointer, UInt32(index), progress.pointer)
            }
            if entry.fadeIn > 0 || entry.fadeOut > 0 {
                camio_playspec_set_fades(pointer, UInt32(index), Int64(entry.fadeIn), Int64(entry.fadeOut),
                                         entry.fadeShape.cShape)
            }
            if let envelope = entry.envelope {
                let frames = envelope.points.map(\.frame)
                let gains = envelope.points.flatMap(\.gains)
                // Reserved above exactly, and validated: it cannot fail.
                let stored = camio_playspec_set_envelope(pointer, UInt32(index), frames, gains, UInt32(frames.count),
                                                         UInt32(envelope.width), envelope.timeBase == .occurrence)
                precondition(stored, "envelope storage was reserved for every point")
            }
        }
        camio_playspec_finish(pointer)
        return CompiledPlayspec(id: id, pointer: pointer, clips: entries.map(\.clip.storage))
    }
}

/// A compiled playspec and the clips it reads. The clips stay alive as long as
/// this value is held, which is until the engine has retired the playspec.
struct CompiledPlayspec: @unchecked Sendable {
    let id: UInt64
    let pointer: OpaquePointer
    let clips: [ClipStorage]

    func destroy() { camio_playspec_destroy(pointer) }
}

extension GainEnvelope {
    /// Gains per point: 1, or one per output channel.
    var width: Int { points.first?.gains.count ?? 1 }

    /// Checks the rules the mixer relies on.
    func validate(outputChannels: Int, fail: (String) -> AMIOError) throws(AMIOError) {
        guard !points.isEmpty else { throw fail("the envelope has no points") }
        guard points.count <= Self.maximumPoints else {
            throw fail("the envelope's \(points.count) points exceed the limit of \(Self.maximumPoints)")
        }
        let width = self.width
        guard width == 1 || width == outputChannels else {
            throw fail("envelope points have \(width) gains; give 1 (every output) or \(outputChannels) (one per output)")
        }
        for (index, point) in points.enumerated() {
            if point.gains.count != width {
                throw fail("envelope point \(index) has \(point.gains.count) gains, point 0 has \(width)")
            }
            if let bad = point.gains.firstIndex(where: { !$0.isFinite }) {
                throw fail("envelope point \(index) has gain \(point.gains[bad]); gains must be finite")
            }
            if point.frame < -PlayspecLimits.frameLimit || point.frame > PlayspecLimits.frameLimit {
                throw fail("envelope point \(index) is at frame \(point.frame), beyond ±2^60")
            }
            if index > 0, point.frame <= points[index - 1].frame {
                throw fail("envelope point \(index) is at frame \(point.frame), not after point \(index - 1) "
                    + "at \(points[index - 1].frame); frames must increase")
            }
        }
    }
}
