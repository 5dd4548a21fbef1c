import Foundation

/// A session file: clips and where they play, in versioned JSON
/// (see Docs/Session-Format.md and Docs/session.schema.json).
///
/// ```json
/// { "version": 1, "outputs": 2, "length": "0:08",
///   "clips": { "kick": { "file": "audio/kick.wav", "generate": { "kind": "kick" } } },
///   "entries": [ { "clip": "kick", "start": 0, "repeat": 0.5, "gains": ["-3 dB", 1] } ] }
/// ```
///
/// Every number in the file is range-checked before it is used (the limits
/// are listed in Docs/Session-Format.md): a time never leaves the timeline's
/// ±2^62 frames (``TimelineLimit``), and a problem is an
/// ``AMIOError/invalidSession(path:location:reason:)`` naming the JSON path.
///
/// A session keeps its arrangement at any rate: times in frames (`"24000s"`)
/// count at its ``sampleRate`` and, like times in seconds, become frames of
/// the playing rate in ``playspec(sampleRate:)`` (see "Times at any rate" in
/// Docs/Session-Format.md).
///
/// Build one in Swift with ``init(url:outputs:sampleRate:length:loop:clips:entries:)``
/// and save it with ``write(to:)``; ``init(contentsOf:)`` reads back what it
/// wrote, equal.
public struct Session: Sendable, Hashable {
    /// The format version this library reads and writes.
    public static let formatVersion = 1

    /// The largest session file read: 64 MiB.
    public static let maximumFileSize = 64 << 20

    /// The most entries a session may have: 65 536, the engine's default
    /// playspec limit (``AudioInterfaceOptions/maximumPlayspecEntries``), so
    /// what renders also plays.
    public static let maximumEntries = 65536

    /// The longest session ``render(to:format:encoding:sampleRate:progress:)``
    /// bounces: 24 hours, at any rate.
    public static let maximumRenderSeconds = 86_400

    /// The most samples (frames × outputs) ``render(sampleRate:progress:)``
    /// holds in memory: 2^28, 1 GiB of Float32 (2 outputs × 46 minutes at
    /// 48 kHz). Longer sessions stream to a file with
    /// ``render(to:format:encoding:sampleRate:progress:)``.
    public static let maximumInMemorySamples = 1 << 28

    /// The longest generated clip: 600 s (see ``Generator``).
    public static let maximumGeneratedSeconds = 600.0

    /// A clip of the session.
    public struct Clip: Sendable, Hashable {
        /// The name entries refer to it by.
        public var name: String
        /// The audio file, resolved against the session file's folder; kept
        /// standardized (absolute, without `.` or `..`), so two clips of one
        /// file are equal however their URLs were spelled.
        public var file: URL {
            didSet { file = file.standardizedFileURL }
        }
        /// The part of the file to use, if not all of it.
        public var crop: Crop?
        /// How to make the file when it is missing (the example sessions ship no audio).
        public var generator: Generator?

        /// A clip; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks it.
        ///
        /// - Parameters:
        ///   - name: The name entries refer to it by (its key in the file's `clips`).
        ///   - file: The audio file; written relative to the session's folder when it lies inside it.
        ///   - crop: The part of the file entries use unless they give their own; all of it if nil.
        ///   - generator: How to make the file when it is missing; nil if it must exist.
        public init(name: String, file: URL, crop: Crop? = nil, generator: Generator? = nil) {
            self.name = name
            self.file = file.standardizedFileURL
            self.crop = crop
            self.generator = generator
        }
    }

    /// The part of a clip to play, `[start, end]` in the file: times from the
    /// clip's start, at the session's rate like every other time (a time in
    /// frames counts at the session's `sampleRate`, not at the rate of the
    /// clip's file), so a crop and a repeat in frames line up at any rate.
    public struct Crop: Sendable, Hashable {
        /// Where the crop begins, from the clip's start.
        public var start: AudioTime
        /// Where it ends (the frame after its last), or the clip's end.
        public var end: AudioTimeBound

        /// A crop; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)``
        /// checks that its end comes after its start.
        ///
        /// - Parameters:
        ///   - start: Where the crop begins, from the clip's start.
        ///   - end: Where it ends, or ``AudioTimeBound/end`` for the clip's end.
        public init(start: AudioTime = .seconds(0), end: AudioTimeBound = .end) {
            self.start = start
            self.end = end
        }

        /// Whether the end comes after the start, a time in frames counting at `frameRate`.
        func endIsAfterStart(countingFramesAt frameRate: Int) -> Bool {
            guard case let .time(end) = end else { return true }
            // The exact check is the playing rate's, once both ends are frames of the loaded clip.
            return start.isBefore(end, countingFramesAt: frameRate)
        }
    }

    /// One placement of a clip on the timeline.
    public struct Entry: Sendable, Hashable {
        /// The clip's name.
        public var clip: String
        /// The part of the clip to play; the clip's own crop if nil.
        public var crop: Crop?
        /// Where the crop starts sounding.
        public var start: AudioTime
        /// The distance between repetitions, or nil to play once.
        public var repeatEvery: AudioTime?
        /// One linear gain per output.
        public var gains: [Float]
        /// How long every occurrence (the one play, or each repetition: the
        /// crop, cut at the repeat) fades in; nil for no fade.
        public var fadeIn: AudioTime?
        /// How long every occurrence fades out at its end; nil for no fade.
        /// `fadeIn` and `fadeOut` together fit in one occurrence at the playing rate.
        public var fadeOut: AudioTime?
        /// The curve of both fades (`shape` in the file).
        public var fadeShape: FadeShape
        /// A gain that changes over time, on top of ``gains`` and the fades; nil for none.
        public var envelope: Envelope?

        /// An entry; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks it.
        ///
        /// - Parameters:
        ///   - clip: The name of the clip to play.
        ///   - start: Where the crop starts sounding on the timeline.
        ///   - repeatEvery: The distance between repetitions (more than 0), or nil to play once.
        ///   - crop: The part of the clip to play; the clip's own crop if nil.
        ///   - gains: One linear gain per output.
        ///   - fadeIn: How long every occurrence fades in; nil for no fade.
        ///   - fadeOut: How long every occurrence fades out; nil for no fade.
        ///   - fadeShape: The curve of both fades (default: linear).
        ///   - envelope: A gain envelope on top of `gains`, or nil.
        public init(clip: String, start: AudioTime = .seconds(0), repeatEvery: AudioTime? = nil, crop: Crop? = nil,
                    gains: [Float], fadeIn: AudioTime? = nil, fadeOut: AudioTime? = nil, fadeShape: FadeShape = .linear,
                    envelope: Envelope? = nil) {
            self.clip = clip
            self.crop = crop
            self.start = start
            self.repeatEvery = repeatEvery
            self.gains = gains
            self.fadeIn = fadeIn
            self.fadeOut = fadeOut
            self.fadeShape = fadeShape
            self.envelope = envelope
        }
    }

    /// Synthetic audio for a clip whose file is missing.
    public struct Generator: Sendable, Hashable {
        /// The kinds there are: `click`, `kick`, `snare`, `hat`, `tone` (a
        /// sine) and `take` (a major-scale phrase).
        public static let kinds = ["click", "kick", "snare", "hat", "tone", "take"]

        /// `click`, `kick`, `snare`, `hat`, `tone` or `take`.
        public var kind: String
        /// The length in seconds, more than 0 and at most ``Session/maximumGeneratedSeconds``.
        public var seconds: Double
        /// The pitch of `tone` and the root of `take`, more than 0 and at most 24 000 Hz.
        public var frequency: Double
        /// Channels of the generated file, 1…8.
        public var channels: Int

        /// A generator; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks its values.
        ///
        /// - Parameters:
        ///   - kind: One of ``kinds``.
        ///   - seconds: The length; if nil, the kind's own (``defaultSeconds(of:)``).
        ///   - frequency: The pitch of `tone` and the root of `take`, in Hz.
        ///   - channels: Channels of the generated file, 1…8.
        public init(kind: String, seconds: Double? = nil, frequency: Double = 440, channels: Int = 1) {
            self.kind = kind
            self.seconds = seconds ?? Self.defaultSeconds(of: kind)
            self.frequency = frequency
            self.channels = channels
        }

        /// How long a kind's audio is when a session does not say: a click
        /// 0.05 s, a kick 0.4, a snare 0.3, a hat 0.1, a tone 1, a take 4.
        ///
        /// - Parameter kind: One of ``kinds``; 1 s for any other.
        /// - Returns: The length in seconds.
        public static func defaultSeconds(of kind: String) -> Double {
            ["click": 0.05, "kick": 0.4, "snare": 0.3, "hat": 0.1, "tone": 1, "take": 4][kind] ?? 1
        }
    }

    /// The session file: where it was read from, or where a session built in
    /// Swift says it lives; errors name it.
    public var url: URL
    /// The format version.
    public var version: Int
    /// Output channels.
    public var outputs: Int
    /// The rate the session's times in frames (`"24000s"`) count at, and the
    /// rate to render at when none is given; nil if the session gives none
    /// (then it uses no time in frames, and renders at 48 000 Hz).
    public var sampleRate: Int?
    /// How long the session is; by default where the last one-shot entry ends.
    public var length: AudioTime?
    /// How a loop of it plays (the crossfade of `amio mix --loop`'s jump); nil for an exact jump.
    public var loop: Loop?
    /// The clips, by name.
    public var clips: [String: Clip]
    /// The entries, in file order.
    public var entries: [Entry]

    /// A session built in Swift, checked by every rule a session file is
    /// checked by (the same code reads it), so what
    /// ``write(to:)`` writes reads back.
    ///
    /// ```swift
    /// let folder = URL(fileURLWithPath: "/tmp/song")
    /// let session = try Session(
    ///     url: folder.appendingPathComponent("song.json"), outputs: 2, sampleRate: 48000, length: .seconds(8),
    ///     clips: [Session.Clip(name: "kick", file: folder.appendingPathComponent("audio/kick.wav"),
    ///                          generator: Session.Generator(kind: "kick"))],
    ///     entries: [Session.Entry(clip: "kick", start: .frames(24000), repeatEvery: .seconds(1), gains: [0.9, 0.9])])
    /// ```
    ///
    /// - Parameters:
    ///   - url: Where the session's file is or is to be: errors name it.
    ///   - outputs: Output channels, 1…4096.
    ///   - sampleRate: The rate times in frames count at and renders default
    ///     to, 1…768 000; required if any time is in frames.
    ///   - length: How long the session is; by default where the last one-shot
    ///     entry ends; required if an entry repeats.
    ///   - loop: How a loop of the session plays (its jump's crossfade); nil for an exact jump.
    ///   - clips: The clips, each name once.
    ///   - entries: The entries, at most ``maximumEntries``.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` naming the
    ///   JSON path the bad value would have in the file (`entries[3].gains`)
    ///   and what is wrong with it, as ``init(contentsOf:)`` reports it.
    public init(url: URL, outputs: Int = 2, sampleRate: Int? = nil, length: AudioTime? = nil, loop: Loop? = nil,
                clips: [Clip] = [], entries: [Entry] = []) throws(AMIOError) {
        var byName: [String: Clip] = [:]
        for clip in clips {
            guard byName.updateValue(clip, forKey: clip.name) == nil else {
                throw .invalidSession(path: url.path, location: "clips" + JSONPath.component(clip.name, first: false),
                                      reason: "two clips are named \(quoted(clip.name))")
            }
        }
        let draft = Session(unchecked: url, version: Self.formatVersion, outputs: outputs, sampleRate: sampleRate,
                            length: length, loop: loop, clips: byName, entries: entries)
        // The reader is the one place the rules live: the draft goes through
        // it as text, with its clips' paths absolute.
        let text = try SessionWriter(path: url.path, folder: nil).text(of: draft)
        try self.init(data: Data(text.utf8), url: url)
    }

    /// The parts as they are, unchecked: what ``init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks.
    private init(unchecked url: URL, version: Int, outputs: Int, sampleRate: Int?, length: AudioTime?, loop: Loop?,
                 clips: [String: Clip], entries: [Entry]) {
        self.url = url
        self.version = version
        self.outputs = outputs
        self.sampleRate = sampleRate
        self.length = length
        self.loop = loop
        self.clips = clips
        self.entries = entries
    }

    /// Reads and checks a session file.
    ///
    /// - Parameter url: The JSON file.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` naming the
    ///   JSON path of the problem (`entries[3].gains`) and, for a JSON syntax
    ///   error, its line and column; ``AMIOError/fileError(path:problem:message:)``
    ///   when the file cannot be read.
    public init(contentsOf url: URL) throws(AMIOError) {
        try self.init(data: try Self.read(url), url: url)
    }

    /// Parses and checks a session's text, naming `url` in errors and
    /// resolving clip files against its folder.
    init(data: Data, url: URL) throws(AMIOError) {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch {
            let limit = JSONParser.maximumDepth
            let reason = error.reason.contains("deeper than \(limit)")
                ? "line \(error.line), column \(error.column): \(error.reason) (a session nests 5 levels)"
                : "invalid JSON at line \(error.line), column \(error.column): \(error.reason)"
            throw .invalidSession(path: url.path, location: Self.shorten(error.location), reason: reason)
        }
        try self.init(root, url: url)
    }

    /// Reads at most ``maximumFileSize`` bytes, so `/dev/zero` or a huge file is refused, not slurped.
    private static func read(_ url: URL) throws(AMIOError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw .fileError(path: url.path, problem: .missing, message: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw .fileError(path: url.path, problem: .unreadable, message: "it is a directory, not a session file")
        }
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var data = Data()
            while data.count <= maximumFileSize {
                guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { return data }
                data.append(chunk)
            }
            throw AMIOError.invalidSession(path: url.path, location: "$",
                                           reason: "the file is larger than \(maximumFileSize >> 20) MiB")
        } catch let error as AMIOError {
            throw error
        } catch {
            throw .fileError(path: url.path, problem: .unreadable, message: "\(error.localizedDescription)")
        }
    }

    /// Why a time in frames (`text`) is refused in a session without a
    /// `sampleRate`: its frames would count at whatever rate it is played at,
    /// and so move with it; guessing a rate would move them silently.
    static func framesNeedARate(_ text: String) -> String {
        "\(quoted(text)) is a time in frames, which count at the session's sampleRate, and the session gives none: "
            + "add \"sampleRate\" (the rate the frames were counted at, such as 48000), or give the time in seconds"
    }

    /// A JSON path cut to about 200 characters (a path 64 levels deep can be long).
    static func shorten(_ location: String) -> String {
        location.count <= 200 ? location : "\(location.prefix(100))…\(location.suffix(80))"
    }

    init(_ root: JSONValue, url: URL) throws(AMIOError) {
        self.url = url
        var reader = SessionReader(path: url.path)
        let top = try reader.object(root, at: "$")
        try reader.allowOnly(["$schema", "version", "outputs", "sampleRate", "length", "loop", "clips", "entries"], in: top, at: "")
        if let schema = top["$schema"] { _ = try reader.string(schema, at: "$schema") }
        guard let versionValue = top["version"] else { throw reader.fail("version", "required: 1") }
        guard case let .number(versionNumber) = versionValue, versionNumber == versionNumber.rounded(), versionNumber >= 1 else {
            throw reader.fail("version", "expected the format version 1, found \(reader.describe(versionValue))")
        }
        guard versionNumber <= Double(Self.formatVersion) else {
            throw reader.fail("version", "\(reader.describe(versionValue)) is outside 1...\(Self.formatVersion): "
                + "a later format version than this library reads")
        }
        version = Int(versionNumber)
        outputs = try reader.integer(top["outputs"], at: "outputs", required: false, in: 1...4096) ?? 2
        sampleRate = try reader.integer(top["sampleRate"], at: "sampleRate", required: false, in: 1...TimelineLimit.maximumSampleRate)
        // Read before any time, so a time in frames knows the rate it counts at.
        reader.sampleRate = sampleRate
        length = try top["length"].map { value throws(AMIOError) in try reader.time(value, at: "length") }
        loop = try top["loop"].map { value throws(AMIOError) in try reader.loop(value, at: "loop") }

        let base = url.deletingLastPathComponent()
        var clips: [String: Clip] = [:]
        let clipObjects = try reader.object(top["clips"] ?? .object([:]), at: "clips")
        for (name, value) in clipObjects.sorted(by: { $0.key < $1.key }) {
            let at = "clips" + JSONPath.component(name, first: false)
            let fields = try reader.object(value, at: at)
            try reader.allowOnly(["file", "crop", "generate"], in: fields, at: at)
            let file = try reader.string(fields["file"], at: "\(at).file")
            guard !file.unicodeScalars.contains("\0") else { throw reader.fail("\(at).file", "a file name cannot hold a NUL character") }
            let generator = try fields["generate"].map { value throws(AMIOError) in try reader.generator(value, at: "\(at).generate") }
            clips[name] = Clip(name: name, file: URL(fileURLWithPath: file, relativeTo: base).standardizedFileURL,
                               crop: try fields["crop"].map { value throws(AMIOError) in try reader.crop(value, at: "\(at).crop") },
                               generator: generator)
        }
        self.clips = clips

        guard let entriesValue = top["entries"] else { throw reader.fail("entries", "required: an array of entries") }
        guard case let .array(items) = entriesValue else {
            throw reader.fail("entries", "expected an array of entries, found \(entriesValue.kind)")
        }
        guard items.count <= Self.maximumEntries else {
            throw reader.fail("entries", "\(items.count) entries; a session holds at most \(Self.maximumEntries)")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(items.count)
        for (index, value) in items.enumerated() {
            let at = "entries[\(index)]"
            let fields = try reader.object(value, at: at)
            try reader.allowOnly(["clip", "crop", "start", "repeat", "fadeIn", "fadeOut", "shape", "envelope", "gains"],
                                 in: fields, at: at)
            let clip = try reader.string(fields["clip"], at: "\(at).clip")
            guard clips[clip] != nil else {
                let names = clips.keys.sorted()
                let listed = names.prefix(10).map { String($0.prefix(40)) }.joined(separator: ", ")
                throw reader.fail("\(at).clip", "no clip named \(quoted(clip)) (clips: "
                    + (names.isEmpty ? "none" : listed + (names.count > 10 ? ", … \(names.count) in all" : "")) + ")")
            }
            let start = try fields["start"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).start") } ?? .seconds(0)
            let repeatEvery = try fields["repeat"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).repeat") }
            if let repeatEvery, repeatEvery == .seconds(0) || repeatEvery == .frames(0) {
                throw reader.fail("\(at).repeat", "must be longer than 0 (leave it out to play once)")
            }
            entries.append(Entry(
                clip: clip, start: start, repeatEvery: repeatEvery,
                crop: try fields["crop"].map { value throws(AMIOError) in try reader.crop(value, at: "\(at).crop") },
                gains: try reader.gains(fields["gains"], outputs: outputs, at: "\(at).gains"),
                fadeIn: try fields["fadeIn"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).fadeIn") },
                fadeOut: try fields["fadeOut"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).fadeOut") },
                fadeShape: try fields["shape"].map { value throws(AMIOError) in try reader.shape(value, at: "\(at).shape") } ?? .linear,
                envelope: try fields["envelope"].map { [outputs] value throws(AMIOError) in
                    try reader.envelope(value, outputs: outputs, at: "\(at).envelope")
                }))
        }
        self.entries = entries
        if length == nil, entries.contains(where: { $0.repeatEvery != nil }) {
            throw reader.fail("length", "required when an entry repeats")
        }
    }
}

extension Session {
    /// Loads (and, where missing and described, generates) every clip at
    /// `sampleRate` and builds the playspec.
    ///
    /// Every time becomes frames at `sampleRate`, rounded to the nearest
    /// frame (halves away from zero): one in seconds from its seconds, one
    /// in frames from its frames at the session's ``sampleRate`` (24000
    /// frames of a 48 kHz session are 22050 at 44.1 kHz). Crops are times
    /// like the others, so a session keeps its arrangement at any rate; each
    /// time is rounded on its own, so an entry's end is within a frame of
    /// where it would be exactly.
    ///
    /// - Parameter sampleRate: The rate to play or render at, 1…768 000.
    /// - Returns: The playspec and the session's length in frames.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` for a crop
    ///   outside its clip or shorter than a frame at this rate, a time that
    ///   does not fit the timeline at this rate, a time in frames in a session
    ///   without a ``sampleRate``, a repeat shorter than a frame, an entry
    ///   naming no clip, or a clip file that cannot be read or
    ///   resampled (at `clips.NAME.file`); ``AMIOError/fileError(path:problem:message:)``
    ///   when a generated clip cannot be written.
    public func playspec(sampleRate: Int) async throws(AMIOError) -> (playspec: Playspec, length: FramePosition) {
        let (playspec, length, _) = try await playspec(sampleRate: sampleRate, loadingWhilePlaying: false)
        return (playspec, length)
    }

    /// ``playspec(sampleRate:)`` with clips that play while they load
    /// (``AudioClipLoad``): it returns once every clip's first second is
    /// converted, and the rest follows far ahead of playback.
    ///
    /// - Parameter sampleRate: The rate to play at, 1…768 000.
    /// - Returns: The playspec, the session's length in frames, and each
    ///   clip's load by its name in ``clips``: watch their ``AudioClipLoad/error``
    ///   and ``AudioClipLoad/starvedFrames`` while playing.
    /// - Throws: As ``playspec(sampleRate:)``.
    public func streamingPlayspec(sampleRate: Int) async throws(AMIOError)
        -> (playspec: Playspec, length: FramePosition, loads: [String: AudioClipLoad]) {
        try await playspec(sampleRate: sampleRate, loadingWhilePlaying: true)
    }

    private func playspec(sampleRate: Int, loadingWhilePlaying: Bool) async throws(AMIOError)
        -> (playspec: Playspec, length: FramePosition, loads: [String: AudioClipLoad]) {
        guard (1...TimelineLimit.maximumSampleRate).contains(sampleRate) else {
            throw .invalidArgument(name: "sampleRate", reason: "\(sampleRate) Hz is outside 1...\(TimelineLimit.maximumSampleRate)")
        }
        func fail(_ location: String, _ reason: String) -> AMIOError {
            .invalidSession(path: url.path, location: location, reason: reason)
        }
        /// A conversion's range error, moved to the JSON path of the value.
        func frames(_ time: AudioTime, at location: String) throws(AMIOError) -> Int64 {
            // A session read from a file has a rate when it has frames; one whose rate was set to nil after has not.
            if case .frames = time, self.sampleRate == nil { throw fail(location, Self.framesNeedARate(time.description)) }
            do { return try time.frames(atSampleRate: sampleRate, countingFramesAt: self.sampleRate ?? sampleRate, name: location) } catch {
                if case let .invalidArgument(_, reason) = error { throw fail(location, reason) }
                throw error
            }
        }
        var loaded: [String: AudioClip] = [:]
        var loads: [String: AudioClipLoad] = [:]
        let used = Set(entries.map(\.clip))
        // By key, the name entries use (a clip's own name is the same unless changed since).
        for (name, clip) in clips.sorted(by: { $0.key < $1.key }) where used.contains(name) {
            let at = "clips" + JSONPath.component(name, first: false) + ".file"
            if let generator = clip.generator, !FileManager.default.fileExists(atPath: clip.file.path) {
                try generator.write(to: clip.file)
            }
            do {
                if loadingWhilePlaying {
                    let load = try await AudioClipLoad(contentsOf: clip.file, resamplingTo: sampleRate)
                    loads[name] = load
                    loaded[name] = load.clip
                } else {
                    loaded[name] = try await AudioClip(contentsOf: clip.file, resamplingTo: sampleRate)
                }
            } catch {
                switch error {
                case .cancelled, .outOfMemory: throw error
                case let .invalidArgument(_, reason): throw fail(at, "cannot be played at \(sampleRate) Hz: \(reason)")
                default: throw fail(at, "\(error)")
                }
            }
        }
        var playspec = Playspec()
        var end: Int64 = 0
        for (index, entry) in entries.enumerated() {
            let at = "entries[\(index)]"
            guard let clip = loaded[entry.clip] else { throw fail("\(at).clip", "no clip named \(quoted(entry.clip))") }
            // In seconds, so a session without a rate needs none for it.
            let crop = entry.crop ?? clips[entry.clip]?.crop ?? Crop(start: .seconds(0), end: .end)
            let cropAt = entry.crop != nil ? "\(at).crop" : "clips" + JSONPath.component(entry.clip, first: false) + ".crop"
            let a = Int(try frames(crop.start, at: "\(cropAt)[0]"))
            let b = try crop.end.time.map { time throws(AMIOError) in Int(try frames(time, at: "\(cropAt)[1]")) } ?? clip.frameCount
            guard a != b else {
                throw fail(cropAt, "frames \(a)..<\(b): the crop is shorter than one frame at \(sampleRate) Hz")
            }
            guard 0 <= a, a < b, b <= clip.frameCount else {
                throw fail(entry.crop != nil ? "\(at).crop" : at,
                           "frames \(a)..<\(b) are not inside clip \(quoted(entry.clip)) of \(clip.frameCount) frames")
            }
            let start = try frames(entry.start, at: "\(at).start")
            var interval: Int64 = 0
            if let repeatEvery = entry.repeatEvery {
                interval = try frames(repeatEvery, at: "\(at).repeat")
                guard interval >= 1 else {
                    throw fail("\(at).repeat", "\(repeatEvery) is shorter than one frame at \(sampleRate) Hz")
                }
            }
            let stop: Int64
            do { stop = try TimelineLimit.sum(start, Int64(b - a), name: "\(at).start") } catch {
                throw fail("\(at).start", "the entry ends beyond the timeline limit of ±2^62 frames (\(start) + \(b - a) frames)")
            }
            let (fadeIn, fadeOut) = try fades(of: entry, at: at, occurrence: interval > 0 ? min(Int64(b - a), interval) : Int64(b - a),
                                              cutAtTheRepeat: interval > 0 && interval < Int64(b - a), rate: sampleRate, frames: frames)
            playspec.append(PlayspecEntry(clip: clip, frames: a..<b, playAt: start, repeatInterval: interval, gains: entry.gains,
                                          fadeIn: fadeIn, fadeOut: fadeOut, fadeShape: entry.fadeShape,
                                          envelope: try entry.envelope.map { envelope throws(AMIOError) in
                                              try gainEnvelope(envelope, at: "\(at).envelope", rate: sampleRate, frames: frames)
                                          }))
            if entry.repeatEvery == nil { end = max(end, stop) }
        }
        // The engine's own rules (its frame limit for where an entry starts,
        // finite gains), checked here so a failure names the session's entry.
        do {
            try playspec.validate(PlayspecLimits(outputChannels: outputs, sampleRate: sampleRate, maximumEntries: Self.maximumEntries))
        } catch {
            if case let .invalidPlayspec(entry, reason) = error { throw fail("entries[\(entry)]", reason) }
            throw error
        }
        let total = try length.map { time throws(AMIOError) in try frames(time, at: "length") } ?? end
        // Checked here too, so a session that loads at a rate also loops at it.
        _ = try loopCrossfade(sampleRate: sampleRate)
        return (playspec, total, loads)
    }

    /// An entry's fades in frames, checked to fit in one `occurrence` of it.
    private func fades(of entry: Entry, at location: String, occurrence: Int64, cutAtTheRepeat: Bool, rate: Int,
                       frames: (AudioTime, String) throws(AMIOError) -> Int64) throws(AMIOError) -> (Int, Int) {
        let fadeIn = try entry.fadeIn.map { time throws(AMIOError) in try frames(time, "\(location).fadeIn") } ?? 0
        let fadeOut = try entry.fadeOut.map { time throws(AMIOError) in try frames(time, "\(location).fadeOut") } ?? 0
        // Each is within 2^62, so the sum cannot overflow.
        guard fadeIn + fadeOut <= occurrence else {
            let given = [("fadeIn", entry.fadeIn, fadeIn), ("fadeOut", entry.fadeOut, fadeOut)].filter { $0.1 != nil && $0.2 > 0 }
            let named = given.map { "\($0.0) \($0.1!.shown) (\($0.2) frames)" }.joined(separator: " + ")
            throw .invalidSession(path: url.path, location: given.count == 1 ? "\(location).\(given[0].0)" : location,
                                  reason: "\(named) \(given.count == 1 ? "is" : "are") longer than one occurrence of the entry at "
                                      + "\(rate) Hz (\(occurrence) frames: the crop" + (cutAtTheRepeat ? ", cut at the repeat)" : ")"))
        }
        return (Int(fadeIn), Int(fadeOut))
    }

    /// A session envelope as the engine takes it: frames at the playing rate,
    /// each point a frame after the last; one gain a point, or one per output for all.
    private func gainEnvelope(_ envelope: Envelope, at location: String, rate: Int,
                              frames: (AudioTime, String) throws(AMIOError) -> Int64) throws(AMIOError) -> GainEnvelope {
        let perOutput = envelope.points.contains { $0.gains.count > 1 }
        var points: [GainEnvelope.Point] = []
        points.reserveCapacity(envelope.points.count)
        for (index, point) in envelope.points.enumerated() {
            let at = "\(location).points[\(index)].at"
            let frame = try frames(point.time, at)
            if let last = points.last, frame <= last.frame {
                throw .invalidSession(path: url.path, location: at,
                                      reason: "\(point.time.shown) is frame \(frame) at \(rate) Hz, not after point \(index - 1) at frame \(last.frame): "
                                          + "points must be at least a frame apart at the playing rate")
            }
            let gains = perOutput && point.gains.count == 1 ? Array(repeating: point.gains[0], count: outputs) : point.gains
            points.append(GainEnvelope.Point(frame: frame, gains: gains))
        }
        return GainEnvelope(points, timeBase: envelope.timeBase)
    }

    /// Bounces the session with the offline driver into memory: what `amio mix`
    /// plays, sample for sample.
    ///
    /// - Parameters:
    ///   - sampleRate: The rate; the session's own, else 48000, if nil.
    ///   - progress: Called now and then with the fraction rendered.
    /// - Returns: A clip of ``outputs`` channels and the session's length.
    /// - Throws: As ``playspec(sampleRate:)``, and
    ///   ``AMIOError/invalidSession(path:location:reason:)`` at `length` for a
    ///   session of more than ``maximumInMemorySamples`` samples (frames × outputs).
    public func render(sampleRate: Int? = nil, progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) -> AudioClip {
        let rate = sampleRate ?? self.sampleRate ?? 48000
        let (playspec, length) = try await self.playspec(sampleRate: rate)
        try checkRenderLength(length, rate: rate)
        guard length * Int64(outputs) <= Int64(Self.maximumInMemorySamples) else {
            throw .invalidSession(path: url.path, location: "length",
                                  reason: "\(length) frames × \(outputs) outputs is more than the \(Self.maximumInMemorySamples) "
                                      + "samples rendered in memory; render to a file instead")
        }
        let total = Int(length)
        var output = [[Float]](repeating: [], count: outputs)
        for channel in 0..<outputs { output[channel].reserveCapacity(total) }
        try await bounce(playspec, frames: total, rate: rate, progress: progress) { block throws(AMIOError) in
            for channel in 0..<outputs { output[channel].append(contentsOf: block[channel]) }
        }
        var clip = try AudioClip(channels: output, sampleRate: rate)
        clip.name = url.lastPathComponent
        return clip
    }

    /// Bounces the session with the offline driver straight into a file, a
    /// block at a time, in memory that does not grow with the length: the
    /// same samples as ``render(sampleRate:progress:)``.
    ///
    /// - Parameters:
    ///   - file: The file to write; removed again if the render fails.
    ///   - format: The container; from the file's extension (else WAV) if nil.
    ///   - encoding: The sample encoding.
    ///   - sampleRate: The rate; the session's own, else 48000, if nil.
    ///   - progress: Called now and then with the fraction rendered.
    /// - Returns: The frames written and the rate.
    /// - Throws: As ``playspec(sampleRate:)``;
    ///   ``AMIOError/invalidSession(path:location:reason:)`` at `length` for a
    ///   session longer than ``maximumRenderSeconds``;
    ///   ``AMIOError/fileError(path:problem:message:)`` when writing fails.
    @discardableResult
    public func render(to file: URL, format: AudioFileFormat? = nil, encoding: AudioFileEncoding = .float,
                       sampleRate: Int? = nil, progress: (@Sendable (Double) -> Void)? = nil)
        async throws(AMIOError) -> (frameCount: Int, sampleRate: Int)
    {
        let rate = sampleRate ?? self.sampleRate ?? 48000
        let (playspec, length) = try await self.playspec(sampleRate: rate)
        try checkRenderLength(length, rate: rate)
        let writer = try AudioFileWriter(url: file, format: format ?? AudioFileFormat(fileExtensionOf: file) ?? .wav,
                                         encoding: encoding, channelCount: outputs, sampleRate: rate)
        if let maximum = writer.maximumFrames, length > Int64(maximum) {
            try? writer.close()
            AudioFileWriter.removeUnfinished(file)
            throw .fileError(path: file.path, problem: .unsupported,
                             message: "\(length) frames of \(outputs)-channel \(encoding) are more than a \(writer.format) file holds "
                                 + "(\(maximum), 4 GiB); render to RF64, W64 or CAF")
        }
        do {
            try await bounce(playspec, frames: Int(length), rate: rate, progress: progress) { block throws(AMIOError) in
                try writer.write(planar: block)
            }
            try writer.close()
        } catch {
            try? writer.close()
            AudioFileWriter.removeUnfinished(file)
            throw error
        }
        return (Int(length), rate)
    }

    private func checkRenderLength(_ length: Int64, rate: Int) throws(AMIOError) {
        let maximum = Int64(Self.maximumRenderSeconds) * Int64(rate)
        guard length <= maximum else {
            throw .invalidSession(path: url.path, location: "length",
                                  reason: "\(length) frames at \(rate) Hz is longer than the longest render, "
                                      + "\(Self.maximumRenderSeconds / 3600) hours (\(maximum) frames)")
        }
    }

    /// Runs the offline driver over `frames` frames, handing each block to `take`.
    private func bounce(_ playspec: Playspec, frames total: Int, rate: Int, progress: (@Sendable (Double) -> Void)?,
                        _ take: ([[Float]]) throws(AMIOError) -> Void) async throws(AMIOError) {
        let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: outputs, maximumPlayspecEntries: Self.maximumEntries)
        try renderer.setPlayspec(playspec)
        try renderer.setTransportRolling(true)
        // About 4 MiB a block, whatever the number of outputs.
        let period = max(64, min(4096, (1 << 20) / outputs))
        var done = 0
        while done < total {
            if Task.isCancelled { throw .cancelled }
            let count = min(period, total - done)
            let block = try renderer.render(frames: count)
            try take(block)
            done += count
            progress?(Double(done) / Double(max(1, total)))
        }
    }
}

extension Session.Generator {
    /// Writes the generated audio (24-bit WAV or whatever the extension says)
    /// to `url`, a block at a time.
    func write(to url: URL) throws(AMIOError) {
        let rate = 48000
        // seconds is checked to lie in (0, 600] when the session is read.
        let frames = max(1, Int(seconds * Double(rate)))
        // Seeded by the kind, so a generated file is the same on every machine.
        var rng = SplitMix(seed: kind.utf8.reduce(0xA0D10) { $0 &* 31 &+ UInt64($1) })
        func sample(_ n: Int) -> Float {
            let t = Double(n) / Double(rate)
            let value: Double
            switch kind {
            case "click": value = n < 48 ? (n % 2 == 0 ? 0.9 : -0.9) * exp(-Double(n) / 12) : 0
            case "kick": value = 0.9 * sin(2 * .pi * (55 * t + 60 * (1 - exp(-t * 30)) / 30)) * exp(-t * 8)
            case "snare": value = 0.5 * (Double(rng.nextUnit()) * 2 - 1) * exp(-t * 18) + 0.3 * sin(2 * .pi * 190 * t) * exp(-t * 25)
            case "hat": value = 0.3 * (Double(rng.nextUnit()) * 2 - 1) * exp(-t * 60)
            case "take":
                // A simple phrase: a new note of the major scale every quarter second.
                let steps = [0, 2, 4, 5, 7, 9, 11, 12]
                let note = steps[(n / (rate / 4)) % steps.count]
                let within = Double(n % (rate / 4)) / Double(rate)
                value = 0.4 * sin(2 * .pi * frequency * pow(2, Double(note) / 12) * t) * min(1, within * 200) * exp(-within * 3)
            default: value = 0.5 * sin(2 * .pi * frequency * t)
            }
            return Float(value)
        }
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Written beside the target and renamed into place, so a player or a
        // second generator running at the same time never sees half a file.
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString)-\(url.lastPathComponent)")
        do {
            let writer = try AudioFileWriter(url: partial, format: AudioFileFormat(fileExtensionOf: url) ?? .wav,
                                             encoding: .pcm24, channelCount: channels, sampleRate: rate)
            var block = [Float]()
            block.reserveCapacity(65536)
            var n = 0
            while n < frames {
                block.removeAll(keepingCapacity: true)
                for i in n..<min(frames, n + 65536) { block.append(sample(i)) }
                try writer.write(planar: Array(repeating: block, count: channels))
                n += block.count
            }
            try writer.close()
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        guard rename(partial.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partial)
            throw .fileError(path: url.path, problem: .writeFailed, message: reason)
        }
    }
}

/// Reads typed values out of the tree, failing with the JSON path.
struct SessionReader {
    let path: String
    /// The session's rate, which times in frames count at; none is allowed without it.
    var sampleRate: Int?

    func fail(_ location: String, _ reason: String) -> AMIOError {
        .invalidSession(path: path, location: location.isEmpty ? "$" : Session.shorten(location), reason: reason)
    }

    /// A value for a message: numbers and short strings as they are, other kinds by name.
    func describe(_ value: JSONValue) -> String {
        switch value {
        case let .number(number): TimelineLimit.formatNumber(number)
        case let .string(text): "the string \(quoted(text))"
        default: value.kind
        }
    }

    func object(_ value: JSONValue, at location: String) throws(AMIOError) -> [String: JSONValue] {
        guard case let .object(fields) = value else { throw fail(location, "expected an object, found \(value.kind)") }
        return fields
    }

    func allowOnly(_ keys: Set<String>, in fields: [String: JSONValue], at location: String) throws(AMIOError) {
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail(location + JSONPath.component(unknown, first: location.isEmpty),
                       "unknown field (expected one of \(keys.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ value: JSONValue?, at location: String) throws(AMIOError) -> String {
        guard let value else { throw fail(location, "required") }
        guard case let .string(text) = value, !text.isEmpty else {
            throw fail(location, "expected a non-empty string, found \(value == .string("") ? "an empty string" : value.kind)")
        }
        return text
    }

    func integer(_ value: JSONValue?, at location: String, required: Bool, in range: ClosedRange<Int>) throws(AMIOError) -> Int? {
        guard let value else {
            if required { throw fail(location, "required") }
            return nil
        }
        guard case let .number(number) = value, number == number.rounded() else {
            throw fail(location, "expected a whole number in \(range.lowerBound)...\(range.upperBound), found \(describe(value))")
        }
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw fail(location, "\(describe(value)) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(number)
    }

    /// A number of seconds, or a string in ``AudioTime`` syntax; never negative,
    /// never beyond the timeline, and in frames only with a ``sampleRate``.
    func time(_ value: JSONValue, at location: String) throws(AMIOError) -> AudioTime {
        do throws(AMIOError) {
            switch value {
            case let .number(seconds): return try AudioTime(seconds: seconds, name: location)
            case let .string(text):
                let time = try AudioTime(parsing: text, name: location)
                if case .frames = time, sampleRate == nil { throw fail(location, Session.framesNeedARate(text)) }
                return time
            default:
                throw fail(location, "expected a time (seconds, or a string such as \"1:30\", \"2.5\" or \"48000s\"), found \(value.kind)")
            }
        } catch {
            if case let .invalidArgument(_, reason) = error { throw fail(location, reason) }
            throw error
        }
    }

    func crop(_ value: JSONValue, at location: String) throws(AMIOError) -> Session.Crop {
        guard case let .array(ends) = value, ends.count == 2 else {
            throw fail(location, "expected [start, end], found \(value.kind == "an array" ? "an array that does not hold 2 values" : value.kind)")
        }
        let start = try time(ends[0], at: "\(location)[0]")
        let end: AudioTimeBound = ends[1] == .string("end") ? .end : .time(try time(ends[1], at: "\(location)[1]"))
        let crop = Session.Crop(start: start, end: end)
        // A rate is given when either end is in frames (time() saw to it); any will do otherwise.
        guard crop.endIsAfterStart(countingFramesAt: sampleRate ?? 1) else { throw fail(location, "the end is not after the start") }
        return crop
    }

    /// One gain for every output, or one per output: linear numbers, or strings in dB (`"-6 dB"`).
    /// One gain is given back once per output, or once if not `expandingOne`.
    func gains(_ value: JSONValue?, outputs: Int, at location: String, expandingOne: Bool = true) throws(AMIOError) -> [Float] {
        guard let value else { return Array(repeating: 1, count: expandingOne ? outputs : 1) }
        if case let .array(items) = value {
            guard items.count == outputs else { throw fail(location, "\(items.count) gains given for \(outputs) outputs") }
            var result: [Float] = []
            for (index, item) in items.enumerated() { result.append(try gain(item, at: "\(location)[\(index)]")) }
            return result
        }
        return Array(repeating: try gain(value, at: location), count: expandingOne ? outputs : 1)
    }

    /// A linear number, or a string in dB (`"-6 dB"`); finite as a 32-bit float.
    func gain(_ item: JSONValue, at location: String) throws(AMIOError) -> Float {
        let largest = Double(Float.greatestFiniteMagnitude)
        switch item {
        case let .number(linear):
            guard abs(linear) <= largest else { throw fail(location, "\(TimelineLimit.formatNumber(linear)) is beyond a 32-bit float gain (±3.4e38)") }
            return Float(linear)
        case let .string(text):
            guard let decibels = Self.decibels(text) else {
                throw fail(location, "\(quoted(text)) is not a gain: a linear number, or decibels like \"-6 dB\"")
            }
            let linear = pow(10, decibels / 20)
            guard linear <= largest else { throw fail(location, "\(quoted(text)) is beyond a 32-bit float gain (at most +770 dB)") }
            return Float(linear)
        default: throw fail(location, "expected a gain (a linear number, or decibels like \"-6 dB\"), found \(item.kind)")
        }
    }

    /// The grammar of a gain in decibels (the schema's pattern for one).
    static let decibelPattern = #"^[ \t]*[-+]?([0-9]+(\.[0-9]+)?|\.[0-9]+)[ \t]*[dD][bB][ \t]*$"#

    /// `"-6 dB"` → -6, by ``decibelPattern``: a sign, decimal digits, spaces or tabs, `dB` in any case.
    static func decibels(_ text: String) -> Double? {
        var bytes = Substring(text).utf8[...]
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while let first = bytes.first, isBlank(first) { bytes.removeFirst() }
        while let last = bytes.last, isBlank(last) { bytes.removeLast() }
        guard bytes.count >= 2, bytes.suffix(2).map({ $0 | 0x20 }) == [UInt8(ascii: "d"), UInt8(ascii: "b")] else { return nil }
        bytes.removeLast(2)
        while let last = bytes.last, isBlank(last) { bytes.removeLast() }
        var number = bytes
        if let sign = number.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { number.removeFirst() }
        let pieces = number.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), pieces.allSatisfy({ $0.allSatisfy { (0x30...0x39).contains($0) } }),
              pieces.count == 1 ? !pieces[0].isEmpty : !pieces[1].isEmpty
        else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    func generator(_ value: JSONValue, at location: String) throws(AMIOError) -> Session.Generator {
        let fields = try object(value, at: location)
        try allowOnly(["kind", "seconds", "frequency", "channels"], in: fields, at: location)
        let kind = try string(fields["kind"], at: "\(location).kind")
        let kinds = Session.Generator.kinds
        guard kinds.contains(kind) else { throw fail("\(location).kind", "\(quoted(kind)) is not one of \(kinds.joined(separator: ", "))") }
        func number(_ key: String, default value: Double, maximum: Double, unit: String) throws(AMIOError) -> Double {
            guard let item = fields[key] else { return value }
            guard case let .number(number) = item else {
                throw fail("\(location).\(key)", "expected a number of \(unit) above 0, found \(item.kind)")
            }
            guard number > 0, number <= maximum else {
                throw fail("\(location).\(key)", "\(describe(item)) is outside the \(unit) allowed: more than 0, at most \(describe(.number(maximum)))")
            }
            return number
        }
        return Session.Generator(
            kind: kind,
            seconds: try number("seconds", default: Session.Generator.defaultSeconds(of: kind),
                                maximum: Session.maximumGeneratedSeconds, unit: "seconds"),
            frequency: try number("frequency", default: 440, maximum: 24000, unit: "Hz"),
            channels: try integer(fields["channels"], at: "\(location).channels", required: false, in: 1...8) ?? 1)
    }
}
