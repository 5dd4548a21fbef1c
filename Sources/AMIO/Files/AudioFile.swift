import CSndFile
import Foundation

/// A container format libsndfile reads or writes.
public struct AudioFileFormat: Hashable, Sendable, CustomStringConvertible {
    /// A short name: `wav`, `flac`, …
    public let name: String
    /// libsndfile's `SF_FORMAT_…` major format code.
    public let code: Int32

    /// Microsoft WAV (RIFF).
    public static let wav = AudioFileFormat(name: "wav", code: Int32(SF_FORMAT_WAV))
    /// WAV with the WAVE_FORMAT_EXTENSIBLE header (what most tools write above 16 bits).
    public static let wavExtensible = AudioFileFormat(name: "wavex", code: Int32(SF_FORMAT_WAVEX))
    /// Sony Wave64, for files over 4 GiB.
    public static let wav64 = AudioFileFormat(name: "w64", code: Int32(SF_FORMAT_W64))
    /// RF64, the EBU's WAV for files over 4 GiB.
    public static let rf64 = AudioFileFormat(name: "rf64", code: Int32(SF_FORMAT_RF64))
    /// Apple/SGI AIFF.
    public static let aiff = AudioFileFormat(name: "aiff", code: Int32(SF_FORMAT_AIFF))
    /// Apple Core Audio Format.
    public static let caf = AudioFileFormat(name: "caf", code: Int32(SF_FORMAT_CAF))
    /// FLAC, lossless.
    public static let flac = AudioFileFormat(name: "flac", code: Int32(SF_FORMAT_FLAC))
    /// Ogg, holding Vorbis or Opus.
    public static let ogg = AudioFileFormat(name: "ogg", code: Int32(SF_FORMAT_OGG))
    /// MPEG-1/2 audio (MP3).
    public static let mp3 = AudioFileFormat(name: "mp3", code: Int32(SF_FORMAT_MPEG))
    /// Sun/NeXT AU, whose header allows an unknown length: sox's format for pipes.
    public static let au = AudioFileFormat(name: "au", code: Int32(SF_FORMAT_AU))
    /// Headerless samples: the rate, channels and encoding must be given.
    public static let raw = AudioFileFormat(name: "raw", code: Int32(SF_FORMAT_RAW))

    static let known: [AudioFileFormat] = [.wav, .wavExtensible, .wav64, .rf64, .aiff, .caf, .flac, .ogg, .mp3, .au, .raw]

    /// The encodings libsndfile can write in this container, of those named
    /// by a constant of ``AudioFileEncoding``.
    public var encodings: [AudioFileEncoding] { AudioFileEncoding.known.filter(supports) }

    /// Whether libsndfile can write `encoding` in this container (as
    /// `sf_format_check` says, for a stereo file at 48 kHz).
    ///
    /// - Parameter encoding: The sample encoding.
    /// - Returns: Whether the pair is one libsndfile writes.
    public func supports(_ encoding: AudioFileEncoding) -> Bool {
        // sf_format_check accepts MP3 in a WAV (a wave format exists for it),
        // but libsndfile writes MP3 only as an MPEG stream.
        if encoding == .mp3 { return self == .mp3 }
        var info = SF_INFO(frames: 0, samplerate: 48000, channels: 2, format: code | encoding.code, sections: 0, seekable: 0)
        return sf_format_check(&info) == Int32(SF_TRUE)
    }

    /// The format `code` names; formats without a constant here get libsndfile's own name.
    init(code: Int32) {
        if let known = Self.known.first(where: { $0.code == code }) {
            self = known
            return
        }
        var info = SF_FORMAT_INFO(format: code, name: nil, extension: nil)
        sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        self.init(name: info.name.map { String(cString: $0) } ?? "format 0x\(String(code, radix: 16))", code: code)
    }

    init(name: String, code: Int32) {
        self.name = name
        self.code = code
    }

    /// The format a file name's extension suggests, if any.
    ///
    /// - Parameter url: A file URL such as `take.flac`.
    public init?(fileExtensionOf url: URL) {
        switch url.pathExtension.lowercased() {
        case "wav", "wave": self = .wav
        case "w64": self = .wav64
        case "rf64": self = .rf64
        case "aif", "aiff", "aifc": self = .aiff
        case "caf": self = .caf
        case "flac": self = .flac
        case "ogg", "oga", "opus": self = .ogg
        case "mp3": self = .mp3
        case "au", "snd": self = .au
        case "raw": self = .raw
        default: return nil
        }
    }

    /// The short name.
    public var description: String { name }
}

extension AudioFileEncoding {
    /// What a file with `url`'s name is written in when no encoding is
    /// chosen: `preferred` where the container its extension names holds
    /// it, else what that container is made for (24 bits in FLAC, Vorbis in
    /// `.ogg`, Opus in `.opus`, MP3 in `.mp3`), as `amio` writes it.
    ///
    /// - Parameters:
    ///   - url: A file name such as `take.flac`.
    ///   - preferred: The encoding wanted where the container takes it.
    /// - Returns: The encoding; nil when the extension names no file type.
    public static func `default`(forFileNamed url: URL, preferring preferred: AudioFileEncoding = .float) -> AudioFileEncoding? {
        guard let format = AudioFileFormat(fileExtensionOf: url) else { return nil }
        if format.supports(preferred) { return preferred }
        switch format {
        case .flac: return .pcm24
        case .ogg: return url.pathExtension.lowercased() == "opus" ? .opus : .vorbis
        default: return format.encodings.first ?? .pcm24
        }
    }
}

/// How samples are encoded inside a file.
public struct AudioFileEncoding: Hashable, Sendable, CustomStringConvertible {
    /// A short name: `pcm16`, `float`, …
    public let name: String
    /// libsndfile's `SF_FORMAT_…` subtype code.
    public let code: Int32

    /// Signed 8-bit PCM.
    public static let pcmS8 = AudioFileEncoding(name: "pcmS8", code: Int32(SF_FORMAT_PCM_S8))
    /// Unsigned 8-bit PCM.
    public static let pcmU8 = AudioFileEncoding(name: "pcmU8", code: Int32(SF_FORMAT_PCM_U8))
    /// 16-bit PCM.
    public static let pcm16 = AudioFileEncoding(name: "pcm16", code: Int32(SF_FORMAT_PCM_16))
    /// 24-bit PCM.
    public static let pcm24 = AudioFileEncoding(name: "pcm24", code: Int32(SF_FORMAT_PCM_24))
    /// 32-bit PCM.
    public static let pcm32 = AudioFileEncoding(name: "pcm32", code: Int32(SF_FORMAT_PCM_32))
    /// 32-bit IEEE float.
    public static let float = AudioFileEncoding(name: "float", code: Int32(SF_FORMAT_FLOAT))
    /// 64-bit IEEE float.
    public static let double = AudioFileEncoding(name: "double", code: Int32(SF_FORMAT_DOUBLE))
    /// Ogg Vorbis.
    public static let vorbis = AudioFileEncoding(name: "vorbis", code: Int32(SF_FORMAT_VORBIS))
    /// Opus.
    public static let opus = AudioFileEncoding(name: "opus", code: Int32(SF_FORMAT_OPUS))
    /// MPEG layer III.
    public static let mp3 = AudioFileEncoding(name: "mp3", code: Int32(SF_FORMAT_MPEG_LAYER_III))

    static let known: [AudioFileEncoding] = [.pcmS8, .pcmU8, .pcm16, .pcm24, .pcm32, .float, .double, .vorbis, .opus, .mp3]

    /// The encoding `code` names; others get libsndfile's own name.
    init(code: Int32) {
        if let known = Self.known.first(where: { $0.code == code }) {
            self = known
            return
        }
        var info = SF_FORMAT_INFO(format: code, name: nil, extension: nil)
        sf_command(nil, Int32(SFC_GET_FORMAT_SUBTYPE), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        self.init(name: info.name.map { String(cString: $0) } ?? "encoding 0x\(String(code, radix: 16))", code: code)
    }

    init(name: String, code: Int32) {
        self.name = name
        self.code = code
    }

    /// Whether samples are stored as integers, which must be clipped (and may be dithered).
    public var isInteger: Bool { integerBits != nil }

    /// Bytes per sample of the uncompressed encodings.
    var bytesPerSample: Int? {
        switch self {
        case .pcmS8, .pcmU8: 1
        case .pcm16: 2
        case .pcm24: 3
        case .pcm32, .float: 4
        case .double: 8
        default: nil
        }
    }

    /// Bits per sample of the integer PCM encodings.
    var integerBits: Int? {
        switch self {
        case .pcmS8, .pcmU8: 8
        case .pcm16: 16
        case .pcm24: 24
        case .pcm32: 32
        default: nil
        }
    }

    /// The short name.
    public var description: String { name }
}

/// What a file of headerless samples holds, which it cannot say itself.
public struct RawAudioFormat: Sendable, Hashable {
    /// Frames per second, 1…768 000.
    public var sampleRate: Int
    /// Samples per frame, 1…1024.
    public var channelCount: Int
    /// How each sample is stored: a PCM or float encoding (`pcm16`, `pcm24`, `pcm32`, `float`, `double` …).
    public var encoding: AudioFileEncoding

    /// Describes raw samples.
    ///
    /// - Parameters:
    ///   - sampleRate: Frames per second.
    ///   - channelCount: Samples per frame, interleaved.
    ///   - encoding: How each sample is stored.
    public init(sampleRate: Int, channelCount: Int, encoding: AudioFileEncoding) {
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.encoding = encoding
    }

    /// Checks the numbers before libsndfile sees them.
    func validate() throws(AMIOError) {
        guard (1...TimelineLimit.maximumSampleRate).contains(sampleRate) else {
            throw .invalidArgument(name: "sampleRate", reason: "\(sampleRate) Hz is outside 1...\(TimelineLimit.maximumSampleRate)")
        }
        guard (1...1024).contains(channelCount) else {
            throw .invalidArgument(name: "channelCount", reason: "\(channelCount) is outside 1...1024")
        }
        guard encoding.bytesPerSample != nil, AudioFileFormat.raw.supports(encoding) else {
            throw .invalidArgument(name: "encoding", reason: "raw samples are PCM or float, not \(encoding)")
        }
    }
}

/// Reads an audio file in blocks of Float32 frames, in any format libsndfile
/// supports: WAV, WAV64/RF64, AIFF, CAF, FLAC, Ogg Vorbis, Opus, MP3 …
///
/// A reader holds one open file and a read position; it streams, so a
/// two-hour file never has to fit in memory. Integer encodings come back
/// scaled to [-1, 1). Not for use from several threads at once.
public final class AudioFile {
    /// The file.
    public let url: URL
    /// Frames per channel, as the file's header announces them; `nil` when
    /// it does not say (a FLAC or Ogg written to a pipe, or left by a killed
    /// recorder): reading then goes on to the end of the data. For
    /// compressed formats the figure is the header's word only: reading
    /// finds out whether the file holds that much.
    public let frameCount: FrameCount?
    /// Whether ``frameCount`` is known to fit in the file (uncompressed
    /// samples, counted from the data's size), so it can size memory.
    let frameCountIsBoundedBySize: Bool
    /// Number of channels.
    public let channelCount: Int
    /// Frames per second.
    public let sampleRate: Int
    /// The container.
    public let format: AudioFileFormat
    /// The sample encoding.
    public let encoding: AudioFileEncoding
    /// The next frame ``read(maxFrames:)`` returns.
    public private(set) var position: FrameCount = 0

    private var handle: OpaquePointer?
    /// libsndfile's message once decoding has failed (it may clear its error by the next call).
    private var decodingFailure: String?

    /// Opens `url` for reading: the header is read, the audio is not (read
    /// it in blocks with ``read(maxFrames:)``). To load a whole file into
    /// memory at once, use ``AudioClip/init(contentsOf:progress:)``.
    ///
    /// Named after Foundation's `FileHandle(forReadingFrom:)`: `contentsOf`
    /// names initialisers that load everything, as `Data(contentsOf:)` and
    /// `AudioClip(contentsOf:)` do.
    ///
    /// - Parameter url: A file URL.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when the file is
    ///   missing, unreadable, empty, truncated, corrupt or of an unsupported format.
    public convenience init(forReading url: URL) throws(AMIOError) {
        try self.init(opening: url, raw: nil)
    }

    /// Opens a file of headerless samples (sox's `-t raw`) for reading.
    ///
    /// - Parameters:
    ///   - url: A file URL.
    ///   - format: What the samples are: their rate, channels and encoding.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a rate,
    ///   channel count or encoding libsndfile cannot read raw;
    ///   ``AMIOError/fileError(path:problem:message:)`` as ``init(forReading:)``.
    public convenience init(forReading url: URL, raw format: RawAudioFormat) throws(AMIOError) {
        try format.validate()
        try self.init(opening: url, raw: format)
    }

    private init(opening url: URL, raw: RawAudioFormat?) throws(AMIOError) {
        self.url = url
        let path = url.path
        var info = SF_INFO()
        if let raw {
            info.samplerate = Int32(raw.sampleRate)
            info.channels = Int32(raw.channelCount)
            info.format = Int32(SF_FORMAT_RAW) | raw.encoding.code
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .fileError(path: path, problem: .unreadable, message: "it is a directory")
        }
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            let message = String(cString: sf_strerror(nil))
            let code = sf_error(nil)
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let isEmptyFile = attributes?[.type] as? FileAttributeType == .typeRegular && attributes?[.size] as? Int == 0
            let problem: FileProblem
            if !FileManager.default.fileExists(atPath: path) { problem = .missing }
            else if !FileManager.default.isReadableFile(atPath: path) { problem = .unreadable }
            else if isEmptyFile { problem = .empty }
            else if code == Int32(SF_ERR_UNRECOGNISED_FORMAT) { problem = .unsupported }
            else if code == Int32(SF_ERR_SYSTEM) { problem = .unreadable }
            else { problem = .corrupt }
            throw .fileError(path: path, problem: problem, message: message)
        }
        // A header announcing more data than the file holds: libsndfile reads
        // what is there and notes the discrepancy in its log.
        let bytesPerSample = AudioFileEncoding(code: info.format & Int32(SF_FORMAT_SUBMASK)).bytesPerSample
        let uncompressed = Self.uncompressedContainers.contains(AudioFileFormat(code: info.format & Int32(SF_FORMAT_TYPEMASK)))
        if let shortfall = Self.truncation(in: Self.log(of: handle), frames: info.frames,
                                           bytesPerFrame: uncompressed ? bytesPerSample.map { $0 * Int(info.channels) } : nil) {
            sf_close(handle)
            throw .fileError(path: path, problem: .truncated, message: shortfall)
        }
        guard info.channels > 0, info.samplerate > 0 else {
            sf_close(handle)
            throw .fileError(path: path, problem: .corrupt,
                             message: "the header gives \(info.channels) channels at \(info.samplerate) Hz")
        }
        guard info.frames > 0 else {
            sf_close(handle)
            throw .fileError(path: path, problem: .empty, message: "the file holds no audio frames")
        }
        self.handle = handle
        format = AudioFileFormat(code: info.format & Int32(SF_FORMAT_TYPEMASK))
        encoding = AudioFileEncoding(code: info.format & Int32(SF_FORMAT_SUBMASK))
        // libsndfile says SF_COUNT_MAX for a stream whose length its header leaves open.
        frameCount = info.frames == sf_count_t.max ? nil : Int(info.frames)
        frameCountIsBoundedBySize = frameCount != nil && encoding.bytesPerSample != nil
            && Self.uncompressedContainers.contains(format)
        channelCount = Int(info.channels)
        sampleRate = Int(info.samplerate)
    }

    /// Opens `url` for reading; the former name of ``init(forReading:)``.
    ///
    /// - Parameter url: A file URL.
    /// - Throws: As ``init(forReading:)``.
    @available(*, deprecated, renamed: "init(forReading:)",
               message: "AudioFile opens lazily; AudioClip(contentsOf:) is the one that loads the whole file")
    public convenience init(contentsOf url: URL) throws(AMIOError) {
        try self.init(forReading: url)
    }

    /// Containers whose PCM data libsndfile counts from the data's size.
    static let uncompressedContainers: Set<AudioFileFormat> = [.wav, .wavExtensible, .wav64, .rf64, .aiff, .caf, .raw]

    deinit { close() }

    /// Closes the file; further reads return nothing. Calling it again does nothing.
    public func close() {
        if let handle { sf_close(handle) }
        handle = nil
    }

    /// The log line of a header that announces more than the file holds:
    /// a data chunk larger than the data that follows it (`data : 96000
    /// (should be 49956)`, RF64's `Data size : …`, W64's `data : …`), or a
    /// frame count above the frames libsndfile found (AIFF's and RF64's
    /// `Frames : …`). libsndfile reads what is there and only logs the
    /// difference; `frames` is what it found, and `bytesPerFrame` the size of
    /// one frame of uncompressed samples (nil for compressed ones, whose
    /// sizes say nothing of their frames).
    ///
    /// A size of 0x7F000000 bytes or more is no claim but the placeholder a
    /// writer that cannot seek back puts there (sox, ffmpeg and arecord
    /// writing to a pipe: 0x7FFFF000, 0x7F000000, 0xFFFFFFFF): such a file
    /// is read to the end of its data, as libsndfile and sox read it. So a
    /// copy cut short is recognised when its header announces less than
    /// about 2 GiB.
    static func truncation(in log: String, frames: Int64, bytesPerFrame: Int?) -> String? {
        let placeholder: Int64 = 0x7F00_0000
        for line in log.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard let colon = text.firstIndex(of: ":") else { continue }
            let key = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard let announced = Int64(value.prefix { $0.isNumber }), announced < placeholder else { continue }
            if let open = text.range(of: "(should be "), key == "data" || key == "SSND",
               let actual = Int64(text[open.upperBound...].prefix { $0.isNumber }), actual < announced {
                return text
            }
            guard frames != sf_count_t.max else { continue }
            if key == "Frames" && announced > frames {
                if let bytesPerFrame, announced.multipliedReportingOverflow(by: Int64(bytesPerFrame)).partialValue >= placeholder {
                    continue
                }
                return "\(text) (the file holds \(frames))"
            }
            // A chunk's size may include its own header and a pad byte.
            if let bytesPerFrame, key == "data" || key == "Data size",
               announced > frames * Int64(bytesPerFrame) + 64 {
                return "\(text) (the file holds \(frames * Int64(bytesPerFrame)) bytes of samples)"
            }
        }
        return nil
    }

    private static func log(of handle: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 8192)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return String(cBuffer: buffer)
    }

    private func failure(_ problem: FileProblem, _ fallback: String) -> AMIOError {
        let message = handle.map { String(cString: sf_strerror($0)) } ?? fallback
        return .fileError(path: url.path, problem: problem, message: message == "No Error." ? fallback : message)
    }

    /// Reads up to `buffer.count / channelCount` interleaved frames at the
    /// read position into `buffer`.
    ///
    /// - Parameter buffer: Room for the frames, `channelCount` samples per
    ///   frame; the samples past the frames read are left as they were.
    /// - Returns: The frames read; 0 at the end of the file.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when the file
    ///   turns out corrupt, or ends before the frames its header announced
    ///   (``FileProblem/truncated``, from the call after the last frames
    ///   there were returned, so a caller may keep them).
    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws(AMIOError) -> FrameCount {
        guard let handle, let base = buffer.baseAddress else { return 0 }
        let room = buffer.count / channelCount
        let wanted = frameCount.map { min(room, $0 - position) } ?? room
        guard wanted > 0 else { return 0 }
        let read = Int(sf_readf_float(handle, base, sf_count_t(wanted)))
        position += read
        if sf_error(handle) != Int32(SF_ERR_NO_ERROR) && decodingFailure == nil {
            decodingFailure = String(cString: sf_strerror(handle))
        }
        // Frames read are returned; a file that ends too soon says so on the
        // next call, which reads none.
        guard read == 0 else { return read }
        let reason = decodingFailure
        if position == 0, let reason {
            throw .fileError(path: url.path, problem: .corrupt, message: "decoding failed at frame 0: \(reason)")
        }
        if let frameCount {
            throw .fileError(path: url.path, problem: .truncated,
                             message: "the file ends at frame \(position) of the \(frameCount) it announces"
                                 + (reason.map { " (\($0))" } ?? ""))
        }
        // A stream of unannounced length ends where its data ends; one that
        // cannot be decoded further (a recorder killed mid-frame) was cut short.
        if let reason {
            throw .fileError(path: url.path, problem: .truncated, message: "decoding stopped at frame \(position): \(reason)")
        }
        return 0
    }

    /// Reads up to `maxFrames` frames at the read position, one array per channel.
    ///
    /// - Parameter maxFrames: The most frames to read (at least 1).
    /// - Returns: The channels' samples; empty arrays at the end of the file.
    /// - Throws: As ``read(into:)``.
    public func read(maxFrames: FrameCount) throws(AMIOError) -> [[Float]] {
        let frames = max(0, min(maxFrames, frameCount.map { $0 - position } ?? maxFrames))
        var interleaved = [Float](repeating: 0, count: frames * channelCount)
        let read = try interleaved.withUnsafeMutableBufferPointer { buffer throws(AMIOError) in try self.read(into: buffer) }
        return deinterleave(interleaved, channels: channelCount, frames: read)
    }

    /// Moves the read position.
    ///
    /// - Parameter frame: The frame to read next, `0...frameCount` (or any
    ///   frame from 0 on when the length is not announced).
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a frame outside
    ///   the file; ``AMIOError/fileError(path:problem:message:)`` when the file cannot seek.
    public func seek(to frame: FrameCount) throws(AMIOError) {
        guard frame >= 0, frame <= frameCount ?? Int.max else {
            throw .invalidArgument(name: "frame", reason: "\(frame) is outside 0...\(frameCount.map(String.init) ?? "the end")")
        }
        guard let handle else { throw .fileError(path: url.path, problem: .unreadable, message: "the file is closed") }
        guard sf_seek(handle, sf_count_t(frame), Int32(SEEK_SET)) == sf_count_t(frame) else {
            throw failure(.unsupported, "this file cannot seek")
        }
        position = frame
    }
}

/// Planar arrays from interleaved samples.
func deinterleave(_ interleaved: [Float], channels: Int, frames: Int) -> [[Float]] {
    (0..<channels).map { channel in
        [Float](unsafeUninitializedCapacity: frames) { buffer, count in
            for frame in 0..<frames { buffer[frame] = interleaved[frame * channels + channel] }
            count = frames
        }
    }
}

/// Writes Float32 frames to an audio file through libsndfile.
///
/// Integer encodings are quantised here, not by libsndfile (whose conversion
/// rounds towards minus infinity, a DC bias of half a step): a sample x becomes
/// `round(x × 2^(bits−1))`, clipped to the encoding's range instead of wrapping
/// around, so every value that fits reads back exactly. 8-, 16- and 24-bit
/// output can be TPDF-dithered. The file is finalised (header written) by
/// ``close()``, by a write error, or when the writer is released.
public final class AudioFileWriter {
    /// The file.
    public let url: URL
    /// Number of channels.
    public let channelCount: Int
    /// Frames per second.
    public let sampleRate: Int
    /// The container.
    public let format: AudioFileFormat
    /// The sample encoding.
    public let encoding: AudioFileEncoding
    /// Whether integer output of 24 bits or fewer is TPDF-dithered.
    public let dither: Bool
    /// Frames written so far.
    public private(set) var framesWritten: FrameCount = 0
    /// The most frames the container can hold, for those whose sizes are 32
    /// bits (WAV, AIFF: 4 GiB of samples); nil when unbounded. A write beyond
    /// it fails (``FileProblem/writeFailed``) and leaves a valid file: write
    /// RF64, W64 or CAF for longer files.
    public let maximumFrames: FrameCount?
    /// When set, the file's header is brought up to date each time this many
    /// more frames have been written, so that a writer killed before
    /// ``close()`` leaves a file whose header covers what is on disk (WAV,
    /// W64, RF64, AIFF, CAF; FLAC, Ogg and MP3 write their length only on close).
    public var headerUpdateInterval: FrameCount?
    private var framesAtHeaderUpdate = 0

    private var handle: OpaquePointer?
    /// The pipe a WAV stream goes to; released after the handle is closed.
    private var stream: PipeStream?
    private var interleaved: [Float] = []
    private var integers: [Int32] = []
    private var random = SplitMix(seed: 0x5EED)

    /// Creates (or replaces) `url` for writing.
    ///
    /// - Parameters:
    ///   - url: A file URL.
    ///   - format: The container.
    ///   - encoding: The sample encoding; the pair must be one libsndfile can write.
    ///   - channelCount: Channels per frame (at least 1).
    ///   - sampleRate: Frames per second (at least 1).
    ///   - dither: TPDF-dither integer output of 24 bits or fewer (ignored for other encodings).
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` with
    ///   ``FileProblem/unsupported`` for an impossible format, or
    ///   ``FileProblem/writeFailed`` when the file cannot be created.
    public init(url: URL, format: AudioFileFormat, encoding: AudioFileEncoding, channelCount: Int, sampleRate: Int,
                dither: Bool = false) throws(AMIOError) {
        guard channelCount >= 1 else { throw .invalidArgument(name: "channelCount", reason: "\(channelCount) is below 1") }
        guard sampleRate >= 1 else { throw .invalidArgument(name: "sampleRate", reason: "\(sampleRate) is below 1") }
        var info = SF_INFO(frames: 0, samplerate: Int32(sampleRate), channels: Int32(channelCount),
                           format: format.code | encoding.code, sections: 0, seekable: 0)
        guard sf_format_check(&info) == Int32(SF_TRUE) else {
            throw .fileError(path: url.path, problem: .unsupported,
                             message: "libsndfile cannot write \(encoding) in \(format) with \(channelCount) channels at \(sampleRate) Hz")
        }
        let (opened, stream) = try Self.open(url, &info, format: format)
        guard let handle = opened else {
            throw .fileError(path: url.path, problem: .writeFailed, message: String(cString: sf_strerror(nil)))
        }
        self.stream = stream
        // Float to integer conversion clips instead of wrapping around.
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        self.handle = handle
        self.url = url
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        self.format = format
        self.encoding = encoding
        self.dither = dither && (encoding.integerBits ?? 32) <= 24
        // 32-bit chunk sizes count bytes; leave room for the header chunks.
        let thirtyTwoBit: Set<AudioFileFormat> = [.wav, .wavExtensible, .aiff]
        if thirtyTwoBit.contains(format), let bytes = encoding.bytesPerSample {
            maximumFrames = (Int(UInt32.max) - 65536) / (bytes * channelCount)
        } else {
            maximumFrames = nil
        }
    }

    deinit { try? close() }

    /// Removes the file a failed or cancelled write left unfinished, if it is
    /// a regular file: never a device, a pipe or a link (`/dev/stdout`, which
    /// `amio render … -` writes, is all three at times).
    ///
    /// - Parameter url: The file the write went to.
    static func removeUnfinished(_ url: URL) {
        var status = stat()
        guard lstat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return }
        try? FileManager.default.removeItem(at: url)
    }

    /// The formats that can be written to a pipe: AU and raw, which
    /// libsndfile streams by itself (a length at the start, or none), and
    /// WAV, FLAC, Ogg and MP3, which a `PipeStream` writes forward only (so
    /// that a header rewritten at the end is dropped, not appended, and a
    /// reader that goes away is noticed).
    public static let pipeFormats: [AudioFileFormat] = [.wav, .flac, .ogg, .mp3, .au, .raw]

    /// Opens `url` with libsndfile; a pipe (`/dev/stdout` into `| sox …`, a
    /// FIFO) is written as a stream.
    private static func open(_ url: URL, _ info: inout SF_INFO,
                             format: AudioFileFormat) throws(AMIOError) -> (OpaquePointer?, PipeStream?) {
        let descriptor = Foundation.open(url.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw .fileError(path: url.path, problem: .writeFailed, message: String(cString: strerror(errno)))
        }
        guard PipeStream.isUnseekable(descriptor) else {
            Foundation.close(descriptor)
            return (sf_open(url.path, Int32(SFM_WRITE), &info), nil)
        }
        guard pipeFormats.contains(format) || format == .wavExtensible else {
            Foundation.close(descriptor)
            throw .fileError(path: url.path, problem: .unsupported,
                             message: "\(format) cannot be written to a pipe (its header is completed at the end); "
                                 + "pipe one of \(pipeFormats.map(\.name).joined(separator: ", "))")
        }
        if [.wav, .wavExtensible, .flac, .ogg, .mp3].contains(format) {
            let stream = PipeStream(descriptor: descriptor, isWAV: format == .wav || format == .wavExtensible)
            return (stream.open(&info), stream)
        }
        return (sf_open_fd(descriptor, Int32(SFM_WRITE), &info, Int32(SF_TRUE)), nil)
    }

    /// Writes frames given one collection of samples per channel (all of the same
    /// length): arrays, array slices or unsafe buffers.
    ///
    /// - Parameter channels: `channelCount` collections of equal length.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` with
    ///   ``FileProblem/writeFailed``; the file is then closed with a valid header.
    public func write<Channel: Collection<Float>>(planar channels: [Channel]) throws(AMIOError) {
        guard channels.count == channelCount else {
            throw .invalidArgument(name: "channels", reason: "\(channels.count) given for a \(channelCount)-channel file")
        }
        let frames = channels.first?.count ?? 0
        guard channels.allSatisfy({ $0.count == frames }) else {
            throw .invalidArgument(name: "channels", reason: "the channels differ in length")
        }
        if interleaved.count < frames * channelCount { interleaved = [Float](repeating: 0, count: frames * channelCount) }
        for (channel, samples) in channels.enumerated() {
            var index = channel
            for sample in samples {
                interleaved[index] = sample
                index += channelCount
            }
        }
        try writeInterleaved(frames: frames)
    }

    /// Writes `frames` frames of silence.
    ///
    /// - Parameter frames: How many frames, on every channel; 0 or less writes none.
    /// - Throws: As ``write(planar:)``.
    public func writeSilence(frames: FrameCount) throws(AMIOError) {
        var remaining = frames
        while remaining > 0 {
            let block = min(remaining, 16384)
            if interleaved.count < block * channelCount { interleaved = [Float](repeating: 0, count: block * channelCount) }
            for i in 0..<block * channelCount { interleaved[i] = 0 }
            try writeInterleaved(frames: block)
            remaining -= block
        }
    }

    private func writeInterleaved(frames: Int) throws(AMIOError) {
        guard let handle else { throw .fileError(path: url.path, problem: .writeFailed, message: "the file is closed") }
        guard frames > 0 else { return }
        if let maximumFrames, framesWritten + frames > maximumFrames {
            try? close()
            throw .fileError(path: url.path, problem: .writeFailed,
                             message: "a \(format) file holds at most \(maximumFrames) frames of \(channelCount)-channel \(encoding) "
                                 + "(4 GiB); \(framesWritten) were written and the file closed: write RF64, W64 or CAF for longer files")
        }
        let written: Int
        if let bits = encoding.integerBits {
            let count = frames * channelCount
            if integers.count < count { integers = [Int32](repeating: 0, count: count) }
            let scale = Double(1 << (bits - 1)), shift = Int32(32 - bits)
            for i in 0..<count {
                var value = Double(interleaved[i]) * scale
                // TPDF: the difference of two uniform values, ±1 step at most.
                if dither { value += Double(random.nextUnit() - random.nextUnit()) }
                let quantised = max(-scale, min(scale - 1, value.rounded()))
                // libsndfile takes 32-bit integers and keeps their top `bits` bits.
                integers[i] = Int32(quantised) << shift
            }
            written = Int(integers.withUnsafeBufferPointer { sf_writef_int(handle, $0.baseAddress, sf_count_t(frames)) })
        } else {
            written = Int(interleaved.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) })
        }
        framesWritten += max(0, written)
        if let headerUpdateInterval, framesWritten - framesAtHeaderUpdate >= headerUpdateInterval {
            sf_command(handle, Int32(SFC_UPDATE_HEADER_NOW), nil, 0)
            framesAtHeaderUpdate = framesWritten
        }
        // A pipe whose reader went away, though the encoder said nothing (MP3's buffers).
        if written != frames || stream?.failure != nil {
            // A pipe's own error (its reader went away) says more than libsndfile's.
            let message = stream?.failure.map { String(cString: strerror($0)) } ?? String(cString: sf_strerror(handle))
            try? close()
            throw .fileError(path: url.path, problem: .writeFailed,
                             message: "\(message) (\(framesWritten) frames were written and the file closed)")
        }
    }

    /// Flushes and closes the file, writing its final header. Calling it again does nothing.
    ///
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when closing fails.
    public func close() throws(AMIOError) {
        guard let handle else { return }
        self.handle = nil
        let result = sf_close(handle)
        let failure = stream?.failure
        stream = nil  // closes the pipe: its reader sees the end
        if let failure {
            throw .fileError(path: url.path, problem: .writeFailed, message: String(cString: strerror(failure)))
        }
        if result != 0 {
            throw .fileError(path: url.path, problem: .writeFailed, message: String(cString: sf_error_number(result)))
        }
    }
}

/// A small, fast, seedable generator (SplitMix64): dither noise here, and
/// reproducible random cases in the tests.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
