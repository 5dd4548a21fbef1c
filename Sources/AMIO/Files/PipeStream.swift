import CSndFile
import Foundation

/// A file descriptor that cannot seek (a pipe, a socket, standard output
/// into `| sox …`), made into a libsndfile destination for the formats that
/// rewrite their header on close: WAV, which libsndfile refuses to write to
/// a pipe, and FLAC, whose STREAMINFO update libsndfile would append to the
/// end of the stream when the seek back fails, where decoders lose sync.
///
/// The stream is written forward only: the header goes out as libsndfile
/// writes it at open (FLAC's says "length unknown"; a WAV header's two length
/// fields are set to the placeholder sox writes to a pipe, a RIFF of
/// `0x7ffff000` bytes of data, which sox and libsndfile read to the end of
/// the stream); every later rewrite of bytes already sent (the final header,
/// float WAV's peak chunk) is dropped, as nothing can take them back.
final class PipeStream {
    /// The data size announced for a stream of unknown length: what sox writes
    /// (readers stop there, about 2 GiB in; pipe FLAC or AU for longer takes).
    static let placeholderDataBytes: UInt32 = 0x7fff_f000

    private let descriptor: Int32
    private let isWAV: Bool
    /// Where libsndfile believes it is, and how far the stream has been written.
    private var position: sf_count_t = 0
    private var sent: sf_count_t = 0
    /// The first failed write's errno: the reader went away (EPIPE) or the disk is full.
    private(set) var failure: Int32?

    init(descriptor: Int32, isWAV: Bool) {
        self.descriptor = descriptor
        self.isWAV = isWAV
    }

    deinit { Foundation.close(descriptor) }

    /// Whether `descriptor` is a stream that cannot seek.
    static func isUnseekable(_ descriptor: Int32) -> Bool {
        lseek(descriptor, 0, SEEK_CUR) < 0 && errno == ESPIPE
    }

    /// Opens a libsndfile handle writing through this stream.
    /// The handle must be closed before the stream is released.
    func open(_ info: inout SF_INFO) -> OpaquePointer? {
        var callbacks = Self.callbacks  // libsndfile keeps a copy
        return sf_open_virtual(&callbacks, Int32(SFM_WRITE), &info, Unmanaged.passUnretained(self).toOpaque())
    }

    private func write(_ bytes: UnsafeRawPointer, count: sf_count_t) -> sf_count_t {
        defer { position += count }
        // A rewrite of what was sent: it cannot reach the reader.
        guard position >= sent else { return count }
        // After a failure libsndfile sees a short write and reports it.
        guard failure == nil else { return 0 }
        if isWAV, position == 0, count >= 12 {
            var header = [UInt8](UnsafeRawBufferPointer(start: bytes, count: Int(count)))
            Self.announceUnknownLength(in: &header)
            header.withUnsafeBytes { sendAll($0.baseAddress!, count: count) }
        } else {
            sendAll(bytes, count: count)
        }
        return failure == nil ? count : 0
    }

    private func sendAll(_ bytes: UnsafeRawPointer, count: sf_count_t) {
        var done = 0
        while failure == nil, done < Int(count) {
            let result = Foundation.write(descriptor, bytes + done, Int(count) - done)
            if result < 0 {
                if errno == EINTR { continue }
                failure = errno
            } else {
                done += result
            }
        }
        sent += count
    }

    /// Sets the RIFF size and the data chunk's size of a WAV header to sox's
    /// placeholder. The chunks are walked from the RIFF header on; a header
    /// that ends before its data chunk is left as it is.
    static func announceUnknownLength(in header: inout [UInt8]) {
        guard header.count >= 12, header[0..<4].elementsEqual("RIFF".utf8) else { return }
        var offset = 12
        while offset + 8 <= header.count {
            let size = header[offset + 4..<offset + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
            if header[offset..<offset + 4].elementsEqual("data".utf8) {
                store(placeholderDataBytes, at: offset + 4, in: &header)
                store(placeholderDataBytes + UInt32(offset), at: 4, in: &header)
                return
            }
            offset += 8 + size + size % 2
        }
    }

    private static func store(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    private static func stream(_ userData: UnsafeMutableRawPointer?) -> PipeStream {
        Unmanaged<PipeStream>.fromOpaque(userData!).takeUnretainedValue()
    }

    private static let callbacks = SF_VIRTUAL_IO(
        get_filelen: { userData in stream(userData).sent },
        seek: { offset, whence, userData in
            let stream = stream(userData)
            switch whence {
            case SEEK_SET: stream.position = offset
            case SEEK_CUR: stream.position += offset
            default: stream.position = stream.sent + offset
            }
            return stream.position
        },
        read: { _, _, _ in 0 },
        write: { bytes, count, userData in stream(userData).write(bytes!, count: count) },
        tell: { userData in stream(userData).position })
}
