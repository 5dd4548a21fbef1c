import Foundation

/// A session file: clips and where they play, in versioned JSON
/// (see Docs/Session-Format.md and Docs/session.schema.json).
///
/// ```json
/// { "version": 1, "outputs": 2, "length": "0:08",
///   "clips": { "kick": { "file": "audio/kick.wav", "generate": { "kind": "kick" } } },
///   "entries": [ { "clip": "kick", "start": 0, "repeat": 0.5, "gains": ["-3 dB", 1] } ] }
/// ```
public struct Session: Sendable {
    /// The format version this library reads and writes.
    public static let formatVersion = 1

    /// A clip of the session.
    public struct Clip: Sendable, Hashable {
        /// The name entries refer to it by.
        public var name: String
        /// The audio file, resolved against the session file's folder.
        public var file: URL
        /// The part of the file to use, if not all of it.
        public var crop: ClosedRange<AudioTimeBound>?
        /// How to make the file when it is missing (the example sessions ship no audio).
        public var generator: Generator?
    }

    /// One placement of a clip on the timeline.
    public struct Entry: Sendable, Hashable {
        /// The clip's name.
        public var clip: String
        /// The part of the clip to play; the clip's own crop if nil.
        public var crop: ClosedRange<AudioTimeBound>?
        /// Where the crop starts sounding.
        public var start: AudioTime
        /// The distance between repetitions, or nil to play once.
        public var repeatEvery: AudioTime?
        /// One linear gain per output.
        public var gains: [Float]
    }

    /// Synthetic audio for a clip whose file is missing.
    public struct Generator: Sendable, Hashable {
        /// `click`, `kick`, `snare`, `hat`, `tone` or `take`.
        public var kind: String
        /// The length in seconds.
        public var seconds: Double
        /// The pitch of `tone` and the root of `take`.
        public var frequency: Double
        /// Channels of the generated file.
        public var channels: Int
    }

    /// The session file.
    public var url: URL
    /// The format version.
    public var version: Int
    /// Output channels.
    public var outputs: Int
    /// The sample rate to render at when none is given.
    public var sampleRate: Int?
    /// How long the session is; by default where the last one-shot entry ends.
    public var length: AudioTime?
    /// The clips, by name.
    public var clips: [String: Clip]
    /// The entries, in file order.
    public var entries: [Entry]

    /// Reads and checks a session file.
    ///
    /// - Parameter url: The JSON file.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` naming the
    ///   JSON path of the problem (`entries[3].gains`), or
    ///   ``AMIOError/fileError(path:problem:message:)`` when the file cannot be read.
    public init(contentsOf url: URL) throws(AMIOError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            let missing = !FileManager.default.fileExists(atPath: url.path)
            throw .fileError(path: url.path, problem: missing ? .missing : .unreadable, message: "\(error.localizedDescription)")
        }
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw .invalidSession(path: url.path, location: "$", reason: "not valid JSON: \(Self.describe(error))")
        }
        try self.init(root, url: url)
    }

    private static func describe(_ error: any Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            return (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
        }
        return "\(error)"
    }

    init(_ root: JSONValue, url: URL) throws(AMIOError) {
        self.url = url
        let reader = SessionReader(path: url.path)
        let top = try reader.object(root, at: "$")
        try reader.allowOnly(["version", "outputs", "sampleRate", "length", "clips", "entries"], in: top, at: "")
        version = try reader.integer(top["version"], at: "version", required: true, in: 1...Self.formatVersion)!
        outputs = try reader.integer(top["outputs"], at: "outputs", required: false, in: 1...4096) ?? 2
        sampleRate = try reader.integer(top["sampleRate"], at: "sampleRate", required: false, in: 1...768_000)
        length = try top["length"].map { value throws(AMIOError) in try reader.time(value, at: "length") }

        let base = url.deletingLastPathComponent()
        var clips: [String: Clip] = [:]
        let clipObjects = try reader.object(top["clips"] ?? .object([:]), at: "clips")
        for (name, value) in clipObjects.sorted(by: { $0.key < $1.key }) {
            let at = "clips.\(name)"
            let fields = try reader.object(value, at: at)
            try reader.allowOnly(["file", "crop", "generate"], in: fields, at: at)
            let file = try reader.string(fields["file"], at: "\(at).file")
            let generator = try fields["generate"].map { value throws(AMIOError) in try reader.generator(value, at: "\(at).generate") }
            clips[name] = Clip(name: name, file: URL(fileURLWithPath: file, relativeTo: base).standardizedFileURL,
                               crop: try fields["crop"].map { value throws(AMIOError) in try reader.crop(value, at: "\(at).crop") },
                               generator: generator)
        }
        self.clips = clips

        guard case let .array(items)? = top["entries"] else {
            throw reader.fail("entries", "required: an array of entries")
        }
        var entries: [Entry] = []
        for (index, value) in items.enumerated() {
            let at = "entries[\(index)]"
            let fields = try reader.object(value, at: at)
            try reader.allowOnly(["clip", "crop", "start", "repeat", "gains"], in: fields, at: at)
            let clip = try reader.string(fields["clip"], at: "\(at).clip")
            guard clips[clip] != nil else {
                throw reader.fail("\(at).clip", "no clip named '\(clip)' (clips: \(clips.keys.sorted().joined(separator: ", ")))")
            }
            let start = try fields["start"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).start") } ?? .seconds(0)
            let repeatEvery = try fields["repeat"].map { value throws(AMIOError) in try reader.time(value, at: "\(at).repeat") }
            if let repeatEvery, repeatEvery.frames(atSampleRate: 1_000_000) <= 0 {
                throw reader.fail("\(at).repeat", "must be longer than 0")
            }
            entries.append(Entry(
                clip: clip, crop: try fields["crop"].map { value throws(AMIOError) in try reader.crop(value, at: "\(at).crop") },
                start: start, repeatEvery: repeatEvery,
                gains: try reader.gains(fields["gains"], outputs: outputs, at: "\(at).gains")))
        }
        self.entries = entries
        if length == nil, entries.contains(where: { $0.repeatEvery != nil }) {
            throw reader.fail("length", "required when an entry repeats")
        }
    }
}

/// One end of a crop: a time from the start of the clip, or its end (`"end"`).
public enum AudioTimeBound: Sendable, Hashable, Comparable {
    /// A time from the clip's start.
    case time(AudioTime)
    /// The clip's last frame.
    case end

    /// The frame it stands for in a clip of `length` frames at `sampleRate`.
    public func frame(sampleRate: Int, length: Int) -> Int {
        switch self {
        case let .time(time): Int(time.frames(atSampleRate: sampleRate))
        case .end: length
        }
    }

    public static func < (a: AudioTimeBound, b: AudioTimeBound) -> Bool {
        switch (a, b) {
        case (.end, _): false
        case (.time, .end): true
        case let (.time(x), .time(y)): x.frames(atSampleRate: 1_000_000) < y.frames(atSampleRate: 1_000_000)
        }
    }
}

extension Session {
    /// Loads (and, where missing and described, generates) every clip at
    /// `sampleRate` and builds the playspec.
    ///
    /// - Parameter sampleRate: The rate to play or render at.
    /// - Returns: The playspec and the session's length in frames.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` for a crop
    ///   outside its clip; file and resampling errors of the clips.
    public func playspec(sampleRate: Int) async throws(AMIOError) -> (playspec: Playspec, length: Int64) {
        var loaded: [String: AudioClip] = [:]
        for clip in clips.values.sorted(by: { $0.name < $1.name }) where entries.contains(where: { $0.clip == clip.name }) {
            if let generator = clip.generator, !FileManager.default.fileExists(atPath: clip.file.path) {
                try generator.write(to: clip.file)
            }
            loaded[clip.name] = try await AudioClip(contentsOf: clip.file, resamplingTo: sampleRate)
        }
        var playspec = Playspec()
        var end: Int64 = 0
        for (index, entry) in entries.enumerated() {
            let clip = loaded[entry.clip]!
            let crop = entry.crop ?? clips[entry.clip]?.crop ?? (.time(.frames(0)) ... .end)
            let a = crop.lowerBound.frame(sampleRate: sampleRate, length: clip.frameCount)
            let b = crop.upperBound.frame(sampleRate: sampleRate, length: clip.frameCount)
            guard 0 <= a, a < b, b <= clip.frameCount else {
                throw .invalidSession(path: url.path, location: "entries[\(index)].crop",
                                      reason: "frames \(a)..<\(b) are not inside clip '\(entry.clip)' of \(clip.frameCount) frames")
            }
            let start = entry.start.frames(atSampleRate: sampleRate)
            playspec.append(PlayspecEntry(clip: clip, frames: a..<b, playAt: start,
                                          repeatInterval: entry.repeatEvery?.frames(atSampleRate: sampleRate) ?? 0,
                                          gains: entry.gains))
            if entry.repeatEvery == nil { end = max(end, start + Int64(b - a)) }
        }
        return (playspec, length?.frames(atSampleRate: sampleRate) ?? end)
    }

    /// Bounces the session with the offline driver: what `amio mix` plays, sample for sample.
    ///
    /// - Parameters:
    ///   - sampleRate: The rate; the session's own, else 48000, if nil.
    ///   - progress: Called now and then with the fraction rendered.
    /// - Throws: As ``playspec(sampleRate:)``.
    public func render(sampleRate: Int? = nil, progress: (@Sendable (Double) -> Void)? = nil) async throws(AMIOError) -> AudioClip {
        let rate = sampleRate ?? self.sampleRate ?? 48000
        let (playspec, length) = try await self.playspec(sampleRate: rate)
        let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: outputs)
        try renderer.setPlayspec(playspec)
        try renderer.setTransportRolling(true)
        let total = Int(length)
        var output = [[Float]](repeating: [], count: outputs)
        for channel in 0..<outputs { output[channel].reserveCapacity(total) }
        let period = 4096
        var done = 0
        while done < total {
            if Task.isCancelled { throw .cancelled }
            let block = try renderer.render(frames: min(period, total - done))
            for channel in 0..<outputs { output[channel].append(contentsOf: block[channel]) }
            done += block.first?.count ?? min(period, total - done)
            progress?(Double(done) / Double(max(1, total)))
        }
        var clip = try AudioClip(channels: output, sampleRate: rate)
        clip.name = url.lastPathComponent
        return clip
    }
}

extension Session.Generator {
    /// Writes the generated audio (24-bit WAV or whatever the extension says) to `url`.
    func write(to url: URL) throws(AMIOError) {
        let rate = 48000
        let frames = max(1, Int(seconds * Double(rate)))
        // Seeded by the kind, so a generated file is the same on every machine.
        var rng = SplitMix(seed: kind.utf8.reduce(0xA0D10) { $0 &* 31 &+ UInt64($1) })
        var samples = [Float](repeating: 0, count: frames)
        for n in 0..<frames {
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
            samples[n] = Float(value)
        }
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var clip = try AudioClip(channels: Array(repeating: samples, count: channels), sampleRate: rate)
        clip.name = url.lastPathComponent
        // Written beside the target and renamed into place, so a player or a
        // second generator running at the same time never sees half a file.
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString)-\(url.lastPathComponent)")
        try clip.write(to: partial, encoding: .pcm24)
        guard rename(partial.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partial)
            throw .fileError(path: url.path, problem: .writeFailed, message: reason)
        }
    }
}

/// A JSON document as a tree, so errors can name where in it they are.
enum JSONValue: Decodable, Sendable, Hashable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Reads typed values out of the tree, failing with the JSON path.
private struct SessionReader {
    let path: String

    func fail(_ location: String, _ reason: String) -> AMIOError {
        .invalidSession(path: path, location: location.isEmpty ? "$" : location, reason: reason)
    }

    func object(_ value: JSONValue, at location: String) throws(AMIOError) -> [String: JSONValue] {
        guard case let .object(fields) = value else { throw fail(location, "expected an object, found \(value.kind)") }
        return fields
    }

    func allowOnly(_ keys: Set<String>, in fields: [String: JSONValue], at location: String) throws(AMIOError) {
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail(location.isEmpty ? unknown : "\(location).\(unknown)",
                       "unknown field (expected one of \(keys.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ value: JSONValue?, at location: String) throws(AMIOError) -> String {
        guard let value else { throw fail(location, "required") }
        guard case let .string(text) = value, !text.isEmpty else { throw fail(location, "expected a non-empty string, found \(value.kind)") }
        return text
    }

    func integer(_ value: JSONValue?, at location: String, required: Bool, in range: ClosedRange<Int>) throws(AMIOError) -> Int? {
        guard let value else {
            if required { throw fail(location, "required") }
            return nil
        }
        guard case let .number(number) = value, number == number.rounded(), let integer = Int(exactly: number) else {
            throw fail(location, "expected a whole number, found \(value.kind)")
        }
        guard range.contains(integer) else { throw fail(location, "\(integer) is outside \(range.lowerBound)...\(range.upperBound)") }
        return integer
    }

    /// A number of seconds, or a string in ``AudioTime`` syntax.
    func time(_ value: JSONValue, at location: String) throws(AMIOError) -> AudioTime {
        switch value {
        case let .number(seconds) where seconds >= 0 && seconds.isFinite: return .seconds(seconds)
        case let .string(text):
            do { return try AudioTime(parsing: text) } catch { throw fail(location, "'\(text)' is not a time (hh:mm:ss.frac, seconds, or frames like 48000s)") }
        default: throw fail(location, "expected seconds or a time string, found \(value.kind)")
        }
    }

    func crop(_ value: JSONValue, at location: String) throws(AMIOError) -> ClosedRange<AudioTimeBound> {
        guard case let .array(ends) = value, ends.count == 2 else { throw fail(location, "expected [start, end]") }
        let start = try time(ends[0], at: "\(location)[0]")
        let end: AudioTimeBound = ends[1] == .string("end") ? .end : .time(try time(ends[1], at: "\(location)[1]"))
        guard AudioTimeBound.time(start) < end else { throw fail(location, "the end is not after the start") }
        return .time(start) ... end
    }

    /// One gain for every output, or one per output: linear numbers, or strings in dB (`"-6 dB"`).
    func gains(_ value: JSONValue?, outputs: Int, at location: String) throws(AMIOError) -> [Float] {
        guard let value else { return Array(repeating: 1, count: outputs) }
        func gain(_ item: JSONValue, at location: String) throws(AMIOError) -> Float {
            switch item {
            case let .number(linear) where linear.isFinite: return Float(linear)
            case let .string(text):
                let number = text.lowercased().replacingOccurrences(of: "db", with: "").trimmingCharacters(in: .whitespaces)
                guard text.lowercased().hasSuffix("db"), let decibels = Double(number), decibels.isFinite else {
                    throw fail(location, "'\(text)' is not a gain: a linear number, or decibels like \"-6 dB\"")
                }
                return Float(pow(10, decibels / 20))
            default: throw fail(location, "expected a gain, found \(item.kind)")
            }
        }
        if case let .array(items) = value {
            guard items.count == outputs else { throw fail(location, "\(items.count) gains given for \(outputs) outputs") }
            var result: [Float] = []
            for (index, item) in items.enumerated() { result.append(try gain(item, at: "\(location)[\(index)]")) }
            return result
        }
        return Array(repeating: try gain(value, at: location), count: outputs)
    }

    func generator(_ value: JSONValue, at location: String) throws(AMIOError) -> Session.Generator {
        let fields = try object(value, at: location)
        try allowOnly(["kind", "seconds", "frequency", "channels"], in: fields, at: location)
        let kind = try string(fields["kind"], at: "\(location).kind")
        let kinds = ["click", "kick", "snare", "hat", "tone", "take"]
        guard kinds.contains(kind) else { throw fail("\(location).kind", "'\(kind)' is not one of \(kinds.joined(separator: ", "))") }
        func number(_ key: String, default value: Double) throws(AMIOError) -> Double {
            guard let item = fields[key] else { return value }
            guard case let .number(number) = item, number > 0, number.isFinite else {
                throw fail("\(location).\(key)", "expected a positive number, found \(item.kind)")
            }
            return number
        }
        let defaultSeconds = ["click": 0.05, "kick": 0.4, "snare": 0.3, "hat": 0.1, "tone": 1, "take": 4][kind]!
        return Session.Generator(kind: kind, seconds: try number("seconds", default: defaultSeconds),
                                 frequency: try number("frequency", default: 440),
                                 channels: try integer(fields["channels"], at: "\(location).channels", required: false, in: 1...8) ?? 1)
    }
}
