import Foundation

extension Session {
    /// Writes the session as a session file, in the format
    /// ``init(contentsOf:)`` reads (Docs/Session-Format.md): pretty-printed
    /// JSON, fields in the order the format lists them, clips by name, one
    /// line for each clip and each entry, so two versions of a session diff
    /// line by line.
    ///
    /// The text is read back with every rule of ``init(contentsOf:)`` before
    /// it is written, and must equal the session (but for ``url``, which is
    /// `url` then): `Session(contentsOf: url)` gives back what was written.
    /// Times keep their kind (seconds as numbers, frames as `"Ns"` strings),
    /// gains are written as linear numbers, and a clip's file inside `url`'s
    /// folder is written relative to it (any other as an absolute path), so
    /// the folder can move. The file is replaced atomically: a reader never
    /// sees half of it.
    ///
    /// ```swift
    /// let url = FileManager.default.temporaryDirectory.appendingPathComponent("click.json")
    /// let click = Session.Clip(name: "click", file: url.deletingLastPathComponent().appendingPathComponent("click.wav"),
    ///                          generator: Session.Generator(kind: "click"))
    /// let session = try Session(url: url, clips: [click], entries: [Session.Entry(clip: "click", gains: [1, 1])])
    /// try session.write(to: url)
    /// print(try Session(contentsOf: url) == session)   // true
    /// ```
    ///
    /// - Parameter url: The file to write; its folder must exist.
    /// - Throws: ``AMIOError/invalidSession(path:location:reason:)`` naming
    ///   `url` and the JSON path of a value that cannot be written or would not
    ///   read back (one changed since the session was made: a gain that is not
    ///   finite, a clip kept under another name than its own);
    ///   ``AMIOError/fileError(path:problem:message:)`` when writing fails.
    public func write(to url: URL) throws(AMIOError) {
        let text = try SessionWriter(path: url.path, folder: url.deletingLastPathComponent()).text(of: self)
        var expected = self
        expected.url = url
        let readBack = try Session(data: Data(text.utf8), url: url)
        guard readBack == expected else {
            // The writer's own checks leave nothing the reader changes; this would be a bug here.
            throw .invalidSession(path: url.path, location: "$", reason: "the session would not read back as it is")
        }
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw .fileError(path: url.path, problem: .writeFailed, message: error.localizedDescription)
        }
    }
}

/// Writes a session as the text of a session file, failing with the JSON
/// path of what JSON cannot hold or the reader would read otherwise.
struct SessionWriter {
    /// The file, for errors.
    let path: String
    /// The folder clip files are written relative to (those inside it); nil: every path absolute.
    let folder: URL?

    func fail(_ location: String, _ reason: String) -> AMIOError {
        .invalidSession(path: path, location: Session.shorten(location), reason: reason)
    }

    func text(of session: Session) throws(AMIOError) -> String {
        var top: [(String, String)] = [("version", "\(session.version)"), ("outputs", "\(session.outputs)")]
        if let sampleRate = session.sampleRate { top.append(("sampleRate", "\(sampleRate)")) }
        if let length = session.length { top.append(("length", try time(length, at: "length"))) }
        if let loop = session.loop {
            top.append(("loop", Self.object([("crossfade", try time(loop.crossfade, at: "loop.crossfade")),
                                             ("shape", Self.string(loop.shape.rawValue))])))
        }
        var clipLines: [String] = []
        for (name, clip) in session.clips.sorted(by: { $0.key < $1.key }) {
            let at = "clips" + JSONPath.component(name, first: false)
            clipLines.append("\(Self.string(name)): \(try self.clip(clip, named: name, at: at))")
        }
        var entryLines: [String] = []
        for (index, entry) in session.entries.enumerated() {
            entryLines.append(try self.entry(entry, at: "entries[\(index)]"))
        }
        func block(_ open: String, _ lines: [String], _ close: String) -> String {
            lines.isEmpty ? open + close : open + "\n" + lines.map { "    " + $0 }.joined(separator: ",\n") + "\n  " + close
        }
        top.append(("clips", block("{", clipLines, "}")))
        top.append(("entries", block("[", entryLines, "]")))
        return "{\n" + top.map { "  \(Self.string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    func clip(_ clip: Session.Clip, named name: String, at location: String) throws(AMIOError) -> String {
        guard clip.name == name else {
            throw fail(location, "the clip is named \(quoted(clip.name)) but kept as \(quoted(name)); entries refer to clips by the name they are kept under")
        }
        guard clip.file.isFileURL else { throw fail("\(location).file", "\(quoted(clip.file.absoluteString)) is not a file URL") }
        var fields = [("file", Self.string(relativePath(of: clip.file)))]
        if let crop = clip.crop { fields.append(("crop", try self.crop(crop, at: "\(location).crop"))) }
        if let generator = clip.generator {
            let at = "\(location).generate"
            fields.append(("generate", Self.object([
                ("kind", Self.string(generator.kind)),
                ("seconds", try number(generator.seconds, at: "\(at).seconds")),
                ("frequency", try number(generator.frequency, at: "\(at).frequency")),
                ("channels", "\(generator.channels)"),
            ])))
        }
        return Self.object(fields)
    }

    func entry(_ entry: Session.Entry, at location: String) throws(AMIOError) -> String {
        var fields = [("clip", Self.string(entry.clip)), ("start", try time(entry.start, at: "\(location).start"))]
        if let repeatEvery = entry.repeatEvery { fields.append(("repeat", try time(repeatEvery, at: "\(location).repeat"))) }
        if let crop = entry.crop { fields.append(("crop", try self.crop(crop, at: "\(location).crop"))) }
        if let fadeIn = entry.fadeIn { fields.append(("fadeIn", try time(fadeIn, at: "\(location).fadeIn"))) }
        if let fadeOut = entry.fadeOut { fields.append(("fadeOut", try time(fadeOut, at: "\(location).fadeOut"))) }
        if entry.fadeShape != .linear { fields.append(("shape", Self.string(entry.fadeShape.rawValue))) }
        if let envelope = entry.envelope { fields.append(("envelope", try self.envelope(envelope, at: "\(location).envelope"))) }
        fields.append(("gains", try gains(entry.gains, at: "\(location).gains")))
        return Self.object(fields)
    }

    /// `[g, …]`, each in as few digits as read back as the same Float.
    func gains(_ gains: [Float], at location: String) throws(AMIOError) -> String {
        var written: [String] = []
        for (index, gain) in gains.enumerated() { written.append(try self.gain(gain, at: "\(location)[\(index)]")) }
        return "[" + written.joined(separator: ", ") + "]"
    }

    /// `{ "timeBase": …, "points": [{ "at": time, "gain": g or [g, …] }, …] }`: a point's one gain as a number.
    func envelope(_ envelope: Session.Envelope, at location: String) throws(AMIOError) -> String {
        var points: [String] = []
        for (index, point) in envelope.points.enumerated() {
            let at = "\(location).points[\(index)]"
            let gain = point.gains.count == 1 ? try self.gain(point.gains[0], at: "\(at).gain")
                : try gains(point.gains, at: "\(at).gain")
            points.append(Self.object([("at", try time(point.time, at: "\(at).at")), ("gain", gain)]))
        }
        return Self.object([("timeBase", Self.string(envelope.timeBase.rawValue)), ("points", "[" + points.joined(separator: ", ") + "]")])
    }

    func crop(_ crop: Session.Crop, at location: String) throws(AMIOError) -> String {
        let end = switch crop.end {
        case let .time(time): try self.time(time, at: "\(location)[1]")
        case .end: Self.string("end")
        }
        return "[\(try time(crop.start, at: "\(location)[0]")), \(end)]"
    }

    /// Seconds as a number, frames as a string with an `s`, so each reads back as the kind it is.
    func time(_ time: AudioTime, at location: String) throws(AMIOError) -> String {
        switch time {
        case let .seconds(seconds): try number(seconds, at: location)
        case let .frames(frames): Self.string("\(frames)s")
        }
    }

    /// A gain in as few digits as read back as the same Float; they are read
    /// as a Double, then rounded to a Float, and where that double rounding
    /// could land elsewhere the Double's own digits are written.
    func gain(_ gain: Float, at location: String) throws(AMIOError) -> String {
        guard gain.isFinite else { throw fail(location, "\(gain) is not a finite gain; JSON holds only finite numbers") }
        let short = "\(gain)"
        // The largest Float's short form (3.4028235e+38) lies beyond it as a Double, where the reader refuses it.
        if let read = Double(short), Float(read) == gain, abs(read) <= Double(Float.greatestFiniteMagnitude) {
            return try number(read, at: location)
        }
        return try number(Double(gain), at: location)
    }

    /// A finite number in the fewest digits that read back as it: whole
    /// numbers without a fraction, others as Swift prints a Double (which is
    /// JSON's number syntax).
    func number(_ value: Double, at location: String) throws(AMIOError) -> String {
        guard value.isFinite else { throw fail(location, "\(value) is not a finite number; JSON holds only finite numbers") }
        // Below 2^53 every whole number is exact, and Int64 holds it.
        if value == value.rounded(), abs(value) < 0x1p53 { return "\(Int64(value))" }
        return "\(value)"
    }

    /// The file's path relative to ``folder`` when it lies inside it, else absolute.
    func relativePath(of file: URL) -> String {
        let path = file.standardizedFileURL.path
        // A directory keeps its slash, so it reads back as one.
        let written = file.hasDirectoryPath && !path.hasSuffix("/") ? path + "/" : path
        guard let folder else { return written }
        let prefix = folder.standardizedFileURL.path
        guard prefix != "/", written.hasPrefix(prefix + "/"), written.count > prefix.count + 1 else { return written }
        return String(written.dropFirst(prefix.count + 1))
    }

    /// `{ "key": value, … }` on one line.
    static func object(_ fields: [(String, String)]) -> String {
        "{ " + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + " }"
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as it is (UTF-8).
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
