import AMIO
import ArgumentParser
import Foundation

/// A file type as `-t/--type` names it (sox's word for it), or as a file
/// name's extension implies: a container, and the encoding written in it
/// when `--encoding` gives none.
struct FileType: Sendable, Equatable {
    let name: String
    let format: AudioFileFormat
    /// What the type is written with by default; `nil`: the command's own
    /// default (a take is pcm24, a bounce or a measurement float).
    let encoding: AudioFileEncoding?

    static let all: [FileType] = [
        FileType(name: "wav", format: .wav, encoding: nil),
        FileType(name: "w64", format: .wav64, encoding: nil),
        FileType(name: "rf64", format: .rf64, encoding: nil),
        FileType(name: "aiff", format: .aiff, encoding: nil),
        FileType(name: "caf", format: .caf, encoding: nil),
        FileType(name: "au", format: .au, encoding: nil),
        FileType(name: "raw", format: .raw, encoding: nil),
        FileType(name: "flac", format: .flac, encoding: .pcm24),
        FileType(name: "ogg", format: .ogg, encoding: .vorbis),
        FileType(name: "opus", format: .ogg, encoding: .opus),
        FileType(name: "mp3", format: .mp3, encoding: .mp3),
    ]

    /// Every extension a type is recognised by.
    static let extensions: [String: String] = [
        "wav": "wav", "wave": "wav", "w64": "w64", "rf64": "rf64", "aif": "aiff", "aiff": "aiff", "aifc": "aiff",
        "caf": "caf", "au": "au", "snd": "au", "raw": "raw", "flac": "flac", "ogg": "ogg", "oga": "ogg",
        "opus": "opus", "mp3": "mp3",
    ]

    static let names = all.map(\.name).joined(separator: ", ")

    /// The encodings `--encoding` takes, by name, with their bits per
    /// sample (`nil`: compressed, which has none).
    static let encodings: [(name: String, encoding: AudioFileEncoding, bits: Int?)] = [
        ("pcmS8", .pcmS8, 8), ("pcmU8", .pcmU8, 8), ("pcm16", .pcm16, 16), ("pcm24", .pcm24, 24), ("pcm32", .pcm32, 32),
        ("float", .float, 32), ("double", .double, 64), ("vorbis", .vorbis, nil), ("opus", .opus, nil), ("mp3", .mp3, nil),
    ]

    static let encodingNames = encodings.map(\.name).joined(separator: ", ")

    /// sox's names of encodings, which take their width from `-b/--bits`
    /// (`-e signed-integer -b 16`), and the widths amio writes of each; a
    /// name with none is sox's but not an encoding amio writes.
    static let soxEncodings: [(name: String, widths: [Int: AudioFileEncoding])] = [
        ("signed-integer", [8: .pcmS8, 16: .pcm16, 24: .pcm24, 32: .pcm32]),
        ("unsigned-integer", [8: .pcmU8]),
        ("floating-point", [32: .float, 64: .double]),
        ("a-law", [:]), ("u-law", [:]), ("mu-law", [:]), ("oki-adpcm", [:]), ("ima-adpcm", [:]), ("ms-adpcm", [:]),
        ("gsm-full-rate", [:]),
    ]

    /// sox's names amio writes, with their widths: `signed-integer (-b 8, 16, 24, 32)` ….
    static let soxEncodingForms = soxEncodings.filter { !$0.widths.isEmpty }
        .map { "\($0.name) (-b \($0.widths.keys.sorted().map(String.init).joined(separator: ", ")))" }
        .joined(separator: ", ")

    /// The help of `-b/--bits`.
    static let bitsHelp = ArgumentHelp(
        "Bits per sample, as sox's -b: with -e signed-integer, unsigned-integer or floating-point its width; "
            + "alone, the signed integer of that width (the unsigned where the type has no signed one, float for 64).",
        valueName: "bits")

    /// sox's name that `text` is or begins (`unsigned` for `unsigned-integer`, as sox takes it), if one alone.
    static func soxEncoding(named text: String) -> (name: String, widths: [Int: AudioFileEncoding])? {
        if let exact = soxEncodings.first(where: { $0.name == text }) { return exact }
        let begun = soxEncodings.filter { $0.name.hasPrefix(text) }
        return text.isEmpty || begun.count != 1 ? nil : begun[0]
    }

    /// The help of `--type` and `--encoding`, listing every choice and default.
    static let typeHelp = ArgumentHelp(
        "File type: \(names) (default: from the file name; wav for -, standard output).", valueName: "type")
    static func encodingHelp(defaultEncoding: AudioFileEncoding) -> ArgumentHelp {
        let commandDefault = all.filter { $0.encoding == nil }.map(\.name)
        let own = all.compactMap { type in type.encoding.map { "\($0) in \(type.name)" } }
        return ArgumentHelp("Sample encoding: \(encodingNames), or sox's names with -b: \(soxEncodingForms) "
            + "(default: \(defaultEncoding) in "
            + "\(commandDefault.dropLast().joined(separator: ", ")) and \(commandDefault.last!); \(own.joined(separator: ", "))).",
            valueName: "encoding")
    }

    /// The type named `name`, as `-t` gives it.
    static func named(_ name: String) throws -> FileType {
        // A type's extensions name it too, as in sox (`-t aif`, `-t snd`).
        let name = extensions[name.lowercased()] ?? name.lowercased()
        guard let type = all.first(where: { $0.name == name }) else {
            throw ValidationError("--type '\(name)' is not one of \(names)")
        }
        return type
    }

    /// The type of the file `path` is to be written to: `--type`'s, else
    /// its extension's (standard output, `-`, is wav). A name whose extension
    /// says nothing is an error rather than a guess.
    static func forWriting(_ path: String, type: String?) throws -> FileType {
        if path == "-" {
            let type = try named(type ?? "wav")
            // A pipe takes what can be written forward only.
            guard AudioFileWriter.pipeFormats.contains(type.format) else {
                let streamable = all.filter { AudioFileWriter.pipeFormats.contains($0.format) }.map(\.name)
                throw ValidationError("\(type.name) cannot be written to standard output (its header is completed at the end): "
                    + "use \(streamable.joined(separator: ", "))")
            }
            return type
        }
        if let type { return try named(type) }
        let fileExtension = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let name = extensions[fileExtension] else {
            let what = fileExtension.isEmpty ? "has no extension" : "has the extension '.\(fileExtension)'"
            throw ValidationError("'\(path)' \(what), which names no file type: give -t/--type (\(names))")
        }
        return try named(name)
    }

    /// Whether `file` is of this type, as its header says: any WAV for
    /// `wav`, any Ogg for `ogg`, Opus in an Ogg for `opus`.
    func describes(_ file: AudioFile) -> Bool {
        switch name {
        case "wav": [AudioFileFormat.wav, .wavExtensible].contains(file.format)
        case "opus": file.format == .ogg && file.encoding == .opus
        default: file.format == format
        }
    }

    /// Whether the type holds `encoding`: what its container takes, and for
    /// `opus`, whose name says what is in the Ogg, Opus alone.
    func fits(_ encoding: AudioFileEncoding) -> Bool {
        name == "opus" ? encoding == .opus : format.supports(encoding)
    }

    /// The encoding to write: `requested` (amio's name, or sox's with
    /// `bits` for its width), or the signed integer `bits` wide as sox picks
    /// (the unsigned where the container has no signed one, float where
    /// there is no integer), checked against the container; else the type's
    /// own, else `commandDefault` where the container takes it (pcm24 else).
    func encoding(_ requested: String?, bits: Int? = nil, commandDefault: AudioFileEncoding) throws -> AudioFileEncoding {
        guard requested != nil || bits != nil else {
            if let encoding { return encoding }
            return format.supports(commandDefault) ? commandDefault : .pcm24
        }
        let candidates: [AudioFileEncoding]
        let asked: String
        if let requested, let own = Self.encodings.first(where: { $0.name.lowercased() == requested.lowercased() }) {
            if let bits, own.bits != bits {
                throw ValidationError("--bits \(bits) contradicts --encoding \(requested), which is "
                    + (own.bits.map { "\($0) bits" } ?? "compressed, of no width"))
            }
            candidates = [own.encoding]
            asked = "--encoding \(requested)"
        } else if let requested {
            guard let sox = Self.soxEncoding(named: requested.lowercased()) else {
                throw ValidationError("--encoding '\(requested)' is not one of \(Self.encodingNames), or sox's \(Self.soxEncodingForms)")
            }
            guard !sox.widths.isEmpty else {
                throw ValidationError("--encoding \(sox.name) is sox's but not one amio writes: it takes \(Self.encodingNames), "
                    + "or sox's \(Self.soxEncodingForms)")
            }
            // No width: the default's, as sox keeps the input's (float: 32 bits), else the narrowest.
            let widths = sox.widths.keys.sorted()
            let defaultBits = Self.encodings.first { $0.encoding == (encoding ?? commandDefault) }?.bits
            let width = bits ?? defaultBits.flatMap { widths.contains($0) ? $0 : nil } ?? widths[0]
            guard let chosen = sox.widths[width] else {
                throw ValidationError("-e \(sox.name) -b \(width) is not one amio writes: \(sox.name) takes -b "
                    + widths.map(String.init).joined(separator: ", "))
            }
            candidates = [chosen]
            asked = "-e \(sox.name) -b \(width) (\(chosen))"
        } else {
            let bits = bits!
            candidates = ["signed-integer", "unsigned-integer", "floating-point"].compactMap { name in
                Self.soxEncodings.first { $0.name == name }?.widths[bits]
            }
            guard !candidates.isEmpty else {
                let widths = Set(Self.encodings.compactMap(\.bits)).sorted().map(String.init)
                throw ValidationError("--bits \(bits) is not a width amio writes: \(widths.joined(separator: ", "))")
            }
            asked = "--bits \(bits)"
        }
        guard let chosen = candidates.first(where: fits) else {
            let fits = Self.encodings.filter { self.fits($0.encoding) }.map(\.name)
            throw ValidationError("\(asked) cannot be written in \(name): it takes \(fits.joined(separator: ", "))")
        }
        return chosen
    }
}
