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

    /// The encodings `--encoding` takes, by name.
    static let encodings: [(name: String, encoding: AudioFileEncoding)] = [
        ("pcm16", .pcm16), ("pcm24", .pcm24), ("pcm32", .pcm32), ("float", .float), ("double", .double),
        ("vorbis", .vorbis), ("opus", .opus), ("mp3", .mp3),
    ]

    static let encodingNames = encodings.map(\.name).joined(separator: ", ")

    /// The help of `--type` and `--encoding`, listing every choice and default.
    static let typeHelp = ArgumentHelp(
        "File type: \(names) (default: from the file name; wav for -, standard output).", valueName: "type")
    static func encodingHelp(defaultEncoding: AudioFileEncoding) -> ArgumentHelp {
        let commandDefault = all.filter { $0.encoding == nil }.map(\.name)
        let own = all.compactMap { type in type.encoding.map { "\($0) in \(type.name)" } }
        return ArgumentHelp("Sample encoding: \(encodingNames) (default: \(defaultEncoding) in "
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

    /// The encoding to write: `requested` (checked against the container),
    /// else the type's own, else `commandDefault` where the container takes
    /// it (pcm24 else).
    func encoding(_ requested: String?, commandDefault: AudioFileEncoding) throws -> AudioFileEncoding {
        guard let requested else {
            if let encoding { return encoding }
            return format.supports(commandDefault) ? commandDefault : .pcm24
        }
        guard let encoding = Self.encodings.first(where: { $0.name == requested.lowercased() })?.encoding else {
            throw ValidationError("--encoding '\(requested)' is not one of \(Self.encodingNames)")
        }
        guard fits(encoding) else {
            let fits = Self.encodings.filter { self.fits($0.encoding) }.map(\.name)
            throw ValidationError("--encoding \(requested) cannot be written in \(name): it takes \(fits.joined(separator: ", "))")
        }
        return encoding
    }
}
