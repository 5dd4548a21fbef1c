import CAMIO
import CSndFile
import CSoxr
import Foundation

/// A directory of converted clips, so that a file converted to a rate once
/// is read back, not converted again (Docs/Files-and-Recording.md,
/// "Conversion cache").
///
/// ``AudioClip/init(contentsOf:resamplingTo:quality:cache:progress:)`` uses
/// ``standard`` unless told otherwise: it looks the file up before decoding
/// it, and stores what it converted after.
///
/// An entry is found by the source file's identity — its resolved path,
/// device and inode, size, modification time (to the nanosecond), and a
/// checksum of its first and last 64 KiB — together with the target rate,
/// the quality, and the versions of SwiftAMIO, libsndfile and libsoxr that
/// converted it. Any of them changed is a miss. An entry holds its whole key,
/// so a collision of the 64-bit names of two entries never returns the wrong
/// clip, and a checksum of its samples: an entry that is truncated, altered
/// or not what its header says is deleted and converted anew, never
/// returned, and its size is checked against its header before any memory
/// is allocated for it.
///
/// Entries are written to a temporary file in the directory and renamed
/// into place, so concurrent processes and tasks never see half an entry;
/// when two store the same conversion, the last rename wins and both are
/// whole. The directory is kept within ``maximumBytes``: after each store,
/// the least recently used entries (a hit refreshes an entry's modification
/// time) are deleted until the entries fit.
public struct ConversionCache: Sendable, Hashable {
    /// The directory of the entries; created (mode 0700) on the first store.
    public let directory: URL
    /// The most the entries together may take, in bytes: a larger
    /// conversion is not stored at all.
    public let maximumBytes: Int

    /// The bound of ``standard`` when `AMIO_CONVERSION_CACHE_SIZE` does not
    /// set one: 4 GiB, about 3 hours of 48 kHz stereo.
    public static let defaultMaximumBytes = 4 << 30

    /// The largest bound accepted: 2^60 bytes, so that sums of sizes never overflow.
    public static let largestMaximumBytes = 1 << 60

    /// A cache in `directory`, holding at most `maximumBytes`.
    ///
    /// Nothing is created or read until the cache is used.
    ///
    /// - Parameters:
    ///   - directory: An absolute file URL; the directory need not exist yet.
    ///     Only files the cache names (`*.amioclip`, and its temporaries
    ///     `.*.tmp`) are ever deleted from it.
    ///   - maximumBytes: The bound, 1…2^60 bytes.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` for a URL that
    ///   is not an absolute file path, or a bound outside 1…2^60.
    public init(directory: URL, maximumBytes: Int = ConversionCache.defaultMaximumBytes) throws(AMIOError) {
        guard directory.isFileURL, directory.path.hasPrefix("/") else {
            throw .invalidArgument(name: "directory", reason: "\(directory) is not an absolute file path")
        }
        guard (1...Self.largestMaximumBytes).contains(maximumBytes) else {
            throw .invalidArgument(name: "maximumBytes", reason: "\(maximumBytes) is outside 1...\(Self.largestMaximumBytes)")
        }
        self.directory = directory.standardizedFileURL
        self.maximumBytes = maximumBytes
    }

    /// The user's cache, as this process's environment configures it; nil
    /// when it is turned off.
    ///
    /// See ``standard(environment:)`` for the variables it reads; this reads
    /// them anew on every use, so a program (amio's `--no-cache`) may set
    /// `AMIO_CONVERSION_CACHE=off` before it loads.
    public static var standard: ConversionCache? {
        let names = [Environment.switch, Environment.size, "XDG_CACHE_HOME", "HOME"]
        var environment: [String: String] = [:]
        for name in names { if let value = getenv(name) { environment[name] = String(cString: value) } }
        return standard(environment: environment)
    }

    /// The user's cache as `environment` configures it; nil when it is turned off.
    ///
    /// - `AMIO_CONVERSION_CACHE`: unset, empty, `on`, `yes`, `true` or `1`
    ///   use the cache; `off`, `no`, `false` or `0` turn it off. Any other
    ///   value turns it off too: caching only saves time, so a setting that
    ///   is not understood is taken to want less of it.
    /// - `AMIO_CONVERSION_CACHE_SIZE`: the bound, in bytes or with a binary
    ///   suffix `K`, `M`, `G` or `T` (also `KiB` … `TiB`, any case): `512M`,
    ///   `8G`. Unset or empty: ``defaultMaximumBytes``. `0` turns the cache
    ///   off, and so does a value that cannot be read or exceeds 2^60.
    /// - The directory is `$XDG_CACHE_HOME/amio` when `XDG_CACHE_HOME` is an
    ///   absolute path (the XDG Base Directory rule), else
    ///   `$HOME/.cache/amio`; with neither (no absolute `HOME`), there is no cache.
    ///
    /// - Parameter environment: Variables by name, as `ProcessInfo.processInfo.environment` gives them.
    /// - Returns: The cache, or nil when the variables turn it off.
    public static func standard(environment: [String: String]) -> ConversionCache? {
        let setting = environment[Environment.switch]?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard ["", "on", "yes", "true", "1"].contains(setting) else { return nil }
        var bound = defaultMaximumBytes
        if let text = environment[Environment.size], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = parseByteCount(text), parsed >= 1 else { return nil }
            bound = parsed
        }
        let base: String
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            base = (home as NSString).appendingPathComponent(".cache")
        } else {
            return nil
        }
        let directory = URL(fileURLWithPath: base, isDirectory: true).appendingPathComponent("amio", isDirectory: true)
        return try? ConversionCache(directory: directory, maximumBytes: bound)
    }

    /// The names of the variables ``standard(environment:)`` reads.
    enum Environment {
        static let `switch` = "AMIO_CONVERSION_CACHE"
        static let size = "AMIO_CONVERSION_CACHE_SIZE"
    }

    /// `text` as a byte count (`123`, `512M`, `4GiB`); nil when it is not
    /// one or exceeds ``largestMaximumBytes``.
    static func parseByteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 19, let value = Int(digits) else { return nil }
        let shifts: [String: Int] = ["": 0, "b": 0, "k": 10, "kib": 10, "m": 20, "mib": 20, "g": 30, "gib": 30, "t": 40, "tib": 40]
        guard let shift = shifts[trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()],
              value <= largestMaximumBytes >> shift else { return nil }
        return value << shift
    }

    // MARK: Looking up and storing

    /// The clip `url` converted to `rate` at `quality`, if the cache holds
    /// it whole; nil otherwise.
    ///
    /// A hit marks the entry as just used. An entry that fails any check is
    /// deleted. A source that is not a regular file (a pipe, a device, a
    /// file already deleted) is never in the cache.
    ///
    /// - Parameters:
    ///   - url: The source file, as it was given to the load.
    ///   - rate: The rate it was converted to.
    ///   - quality: The converter it was converted with.
    /// - Returns: The converted clip, named after the file, or nil.
    public func clip(for url: URL, resampledTo rate: Int, quality: ResamplingQuality) -> AudioClip? {
        guard let key = Key(source: url, rate: rate, quality: quality) else { return nil }
        return read(key, name: url.lastPathComponent)
    }

    /// Stores `clip` as the conversion of `url` to the clip's rate at
    /// `quality`, replacing any entry for it, then deletes the least recently
    /// used entries until the cache fits ``maximumBytes``.
    ///
    /// The source's identity is taken now: store a clip converted from the
    /// file as it is, not as it was.
    ///
    /// - Parameters:
    ///   - clip: The converted clip.
    ///   - url: The source file it was converted from.
    ///   - quality: The converter it was converted with.
    /// - Returns: Whether the clip was stored: false for a source that is not
    ///   a regular file and for a clip larger than ``maximumBytes``.
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when the
    ///   directory cannot be made or the entry cannot be written (a
    ///   read-only directory, a full disk); no part of the entry is left behind.
    @discardableResult
    public func store(_ clip: AudioClip, for url: URL, quality: ResamplingQuality) throws(AMIOError) -> Bool {
        guard let key = Key(source: url, rate: clip.sampleRate, quality: quality) else { return false }
        return try write(clip, as: key)
    }

    /// The bytes the entries take now (temporaries of stores under way not counted).
    public var totalBytes: Int { entries().reduce(0) { $0 + $1.size } }

    /// Deletes every entry, and every temporary file the cache made, leaving the directory.
    ///
    /// - Throws: ``AMIOError/fileError(path:problem:message:)`` when the
    ///   directory exists but cannot be read, or an entry cannot be deleted.
    public func removeAll() throws(AMIOError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            if !FileManager.default.fileExists(atPath: directory.path) { return }
            throw .fileError(path: directory.path, problem: .unreadable, message: "the cache directory cannot be read")
        }
        for name in names where Self.isEntryName(name) || Self.isTemporaryName(name) {
            let path = directory.appendingPathComponent(name).path
            if unlink(path) != 0 && errno != ENOENT {
                throw .fileError(path: path, problem: .writeFailed, message: "cannot delete it: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A lookup made before a load: its hit, or what is needed to store the
    /// load's result. The identity is taken again when storing, and the
    /// result stored only if the file is still the one that was looked up
    /// (it may change while it is decoded).
    struct Lookup {
        let cache: ConversionCache
        let key: Key
        let source: URL
        /// The clip, when the cache held it.
        let clip: AudioClip?

        /// Stores `converted` if the source has not changed since the lookup;
        /// a failure is ignored (the load it follows has succeeded).
        func store(_ converted: AudioClip) {
            guard converted.sampleRate == key.rate,
                  let now = Key(source: source, rate: key.rate, quality: key.quality), now == key else { return }
            _ = try? cache.write(converted, as: key)
        }
    }

    /// Looks `url` up for a load, or nil when it cannot be cached (not a
    /// regular file, unreadable, a rate below 1).
    func lookUp(_ url: URL, resampledTo rate: Int, quality: ResamplingQuality) -> Lookup? {
        guard let key = Key(source: url, rate: rate, quality: quality) else { return nil }
        return Lookup(cache: self, key: key, source: url, clip: read(key, name: url.lastPathComponent))
    }

    // MARK: Keys

    /// What an entry is the conversion of, in the bytes its header holds.
    struct Key: Equatable {
        let rate: Int
        let quality: ResamplingQuality
        /// Every field, serialised: compared whole, and hashed for the entry's name.
        let bytes: [UInt8]

        /// The first and last bytes of a source that its checksum covers.
        static let sampledBytes = 64 << 10

        /// The key of `source` converted to `rate` at `quality` as the file
        /// is now; nil for a file that is not regular, cannot be read, or
        /// changed while it was read, and for a rate below 1.
        init?(source: URL, rate: Int, quality: ResamplingQuality) {
            guard rate >= 1, source.isFileURL else { return nil }
            // Looked at before it is opened: opening a FIFO would wait for a
            // writer, and closing it again could cut the writer off. Should the
            // name become one meanwhile, O_NONBLOCK keeps the open from waiting.
            var named = stat()
            guard stat(source.path, &named) == 0, named.st_mode & S_IFMT == S_IFREG else { return nil }
            let descriptor = open(source.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var status = stat()
            // A deleted file (amio's copy of standard input) has no name to find it by again.
            guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_nlink > 0,
                  let resolved = realpath(source.path, nil) else { return nil }
            let path = String(cString: resolved)
            free(resolved)
            let size = Int(status.st_size)
            let headCount = min(size, Self.sampledBytes)
            let tailStart = max(0, size - Self.sampledBytes)
            var sample = [UInt8](repeating: 0, count: Self.sampledBytes)
            let hashes = sample.withUnsafeMutableBytes { buffer -> (UInt64, UInt64)? in
                guard ConversionCache.readFully(descriptor, buffer.baseAddress!, headCount, at: 0) else { return nil }
                let head = camio_checksum(buffer.baseAddress, headCount, 1)
                guard ConversionCache.readFully(descriptor, buffer.baseAddress!, size - tailStart, at: tailStart) else { return nil }
                return (head, camio_checksum(buffer.baseAddress, size - tailStart, 2))
            }
            // A file written to while it was sampled is keyed once it is still.
            var after = stat()
            guard let (head, tail) = hashes, fstat(descriptor, &after) == 0, after.st_size == status.st_size,
                  after.st_mtim.tv_sec == status.st_mtim.tv_sec, after.st_mtim.tv_nsec == status.st_mtim.tv_nsec else { return nil }
            var writer = ByteWriter()
            writer.string(path)
            writer.u64(UInt64(status.st_dev))
            writer.u64(UInt64(status.st_ino))
            writer.u64(UInt64(size))
            writer.u64(UInt64(bitPattern: Int64(status.st_mtim.tv_sec)))
            writer.u64(UInt64(status.st_mtim.tv_nsec))
            writer.u64(head)
            writer.u64(tail)
            writer.u64(UInt64(rate))
            writer.string(quality.rawValue)
            writer.string(Self.converter)
            guard writer.bytes.count <= Header.largestKey else { return nil }
            self.rate = rate
            self.quality = quality
            bytes = writer.bytes
        }

        /// What converts: a new release of any of them may convert differently.
        static let converter = "SwiftAMIO \(SwiftAMIO.version), \(String(cString: sf_version_string())), "
            + String(cString: soxr_version())

        /// The 64-bit checksum of the key, which names the entry and seeds its samples' checksum.
        var hash: UInt64 { bytes.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, Header.nameSeed) } }

        /// The entry's file name: the hash in 16 hex digits.
        var fileName: String {
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex + ConversionCache.entrySuffix
        }
    }

    // MARK: The entry format

    /// An entry file: this header, then the samples, planar Float32 (native
    /// byte order, little-endian on every platform SwiftAMIO runs on), one
    /// channel after another.
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 0..<8 | magic `AMIOCLIP` |
    /// | 8..<12 | format version (1) |
    /// | 12..<16 | header length: 64 + key, rounded up to a multiple of 64 |
    /// | 16..<20 | channels |
    /// | 20..<24 | key length |
    /// | 24..<32 | frames |
    /// | 32..<40 | checksum of the samples, seeded with the key's hash |
    /// | 40..<48 | checksum of the header, with this field zero |
    /// | 48..<64 | zero |
    /// | 64..< | the key, then zeros to the header length |
    enum Header {
        static let magic = Array("AMIOCLIP".utf8)
        static let version: UInt32 = 1
        static let fixedBytes = 64
        /// The most a header may take, whatever its fields say: 64 KiB.
        static let largestHeader = 64 << 10
        static let largestKey = largestHeader - fixedBytes
        static let nameSeed: UInt64 = 0x414d_494f_4e41_4d45
        static let headerSeed: UInt64 = 0x414d_494f_4845_4144

        static func length(keyBytes: Int) -> Int { (fixedBytes + keyBytes + 63) / 64 * 64 }

        /// The header of an entry of `channels` × `frames` samples whose checksum is `samples`.
        static func make(key: Key, channels: Int, frames: Int, samples: UInt64) -> [UInt8] {
            var writer = ByteWriter()
            writer.bytes += magic
            writer.u32(version)
            writer.u32(UInt32(length(keyBytes: key.bytes.count)))
            writer.u32(UInt32(channels))
            writer.u32(UInt32(key.bytes.count))
            writer.u64(UInt64(frames))
            writer.u64(samples)
            writer.u64(0)
            writer.bytes += [UInt8](repeating: 0, count: fixedBytes - writer.bytes.count)
            writer.bytes += key.bytes
            writer.bytes += [UInt8](repeating: 0, count: length(keyBytes: key.bytes.count) - writer.bytes.count)
            let checksum = writer.bytes.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, headerSeed) }
            withUnsafeBytes(of: checksum.littleEndian) { writer.bytes.replaceSubrange(40..<48, with: $0) }
            return writer.bytes
        }
    }

    static let entrySuffix = ".amioclip"

    static func isEntryName(_ name: String) -> Bool {
        name.hasSuffix(entrySuffix) && !name.hasPrefix(".") && name.count == 16 + entrySuffix.count
    }

    /// A store's temporary file: `.NAME.amioclip.PID.RANDOM.tmp`.
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp") && name.contains(entrySuffix + ".")
    }

    /// How old a temporary file must be to be taken for one a killed process left: an hour.
    static let staleTemporarySeconds = 3600

    /// The entry of `key`, checked, or nil (a corrupt entry deleted).
    private func read(_ key: Key, name: String) -> AudioClip? {
        let path = directory.appendingPathComponent(key.fileName).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        guard let clip = Self.readEntry(descriptor, fileSize: Int(status.st_size), key: key, name: name) else {
            // Deleted only if the name still is this file: a store may have
            // renamed a good entry over it meanwhile.
            var now = stat()
            if stat(path, &now) == 0, now.st_dev == status.st_dev, now.st_ino == status.st_ino { unlink(path) }
            return nil
        }
        // Marks it used for the least-recently-used order; a cache the
        // process may read but not write still serves.
        _ = futimens(descriptor, nil)
        return clip
    }

    /// The clip in the open entry `descriptor` of `fileSize` bytes, if every check passes.
    private static func readEntry(_ descriptor: Int32, fileSize: Int, key: Key, name: String) -> AudioClip? {
        guard fileSize >= Header.fixedBytes else { return nil }
        var fixed = [UInt8](repeating: 0, count: Header.fixedBytes)
        guard fixed.withUnsafeMutableBytes({ readFully(descriptor, $0.baseAddress!, $0.count, at: 0) }) else { return nil }
        var reader = ByteReader(bytes: fixed)
        guard reader.take(8) == Header.magic, reader.u32() == Header.version else { return nil }
        let headerLength = Int(reader.u32()), channels = Int(reader.u32()), keyLength = Int(reader.u32())
        let frames = reader.u64(), samplesChecksum = reader.u64(), headerChecksum = reader.u64()
        guard keyLength == key.bytes.count, headerLength == Header.length(keyBytes: keyLength),
              headerLength <= Header.largestHeader, channels >= 1, frames >= 1, frames <= UInt64(Int.max) else { return nil }
        // The size the header implies, checked against the file's before
        // anything is allocated for the samples.
        let (samples, overflow) = Int(frames).multipliedReportingOverflow(by: channels)
        let (sampleBytes, overflowBytes) = samples.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, !overflowBytes, sampleBytes <= Int.max - headerLength, fileSize == headerLength + sampleBytes else {
            return nil
        }
        var header = [UInt8](repeating: 0, count: headerLength)
        guard header.withUnsafeMutableBytes({ readFully(descriptor, $0.baseAddress!, $0.count, at: 0) }) else { return nil }
        header.replaceSubrange(40..<48, with: [UInt8](repeating: 0, count: 8))
        guard header.withUnsafeBytes({ camio_checksum($0.baseAddress, $0.count, Header.headerSeed) }) == headerChecksum,
              header[Header.fixedBytes..<(Header.fixedBytes + keyLength)].elementsEqual(key.bytes),
              header[(Header.fixedBytes + keyLength)...].allSatisfy({ $0 == 0 }),
              header[48..<64].allSatisfy({ $0 == 0 }) else { return nil }
        guard let memory = try? ClipStorage.allocate(frames: Int(frames), channels: channels) else { return nil }
        guard readFully(descriptor, memory, sampleBytes, at: headerLength),
              camio_checksum(memory, sampleBytes, key.hash) == samplesChecksum else {
            free(memory)
            return nil
        }
        var clip = AudioClip(storage: ClipStorage(frameCount: Int(frames), channelCount: channels, adopting: memory),
                             sampleRate: key.rate)
        clip.name = name
        return clip
    }

    /// Writes `clip` as the entry of `key` (through a temporary file), then evicts.
    /// - Returns: false when the clip is larger than the bound (or has more than 2^32 channels).
    private func write(_ clip: AudioClip, as key: Key) throws(AMIOError) -> Bool {
        guard clip.channelCount <= Int(UInt32.max) else { return false }
        let sampleBytes = clip.frameCount * clip.channelCount * MemoryLayout<Float>.stride
        let samples = camio_checksum(clip.storage.samples, sampleBytes, key.hash)
        let header = Header.make(key: key, channels: clip.channelCount, frames: clip.frameCount, samples: samples)
        guard header.count + sampleBytes <= maximumBytes else { return false }
        func failure(_ path: String, _ what: String) -> AMIOError {
            .fileError(path: path, problem: .writeFailed, message: "\(what): \(String(cString: strerror(errno)))")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .fileError(path: directory.path, problem: .writeFailed, message: "the cache directory cannot be made")
        }
        let name = key.fileName
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = directory.appendingPathComponent(".\(name).\(getpid()).\(random).tmp").path
        let final = directory.appendingPathComponent(name).path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(temporary, "cannot create the entry") }
        // No fsync: an entry a crash leaves short or zero-filled fails its
        // checks and is converted again; waiting for the disk would not help.
        let written = header.withUnsafeBytes { Self.writeFully(descriptor, $0.baseAddress!, $0.count) }
            && Self.writeFully(descriptor, clip.storage.samples, sampleBytes)
        let closed = close(descriptor) == 0
        guard written, closed else {
            let error = failure(temporary, "cannot write the entry")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, final) == 0 else {
            let error = failure(final, "cannot rename the entry into place")
            unlink(temporary)
            throw error
        }
        evict(keeping: name)
        return true
    }

    /// One entry file as the directory lists it.
    struct Listed {
        let name: String
        let size: Int
        /// Its last use: the modification time, in nanoseconds.
        let used: Int64
    }

    /// The entries in the directory (none if it cannot be read); stale
    /// temporaries are deleted on the way when `cleaning`.
    private func entries(cleaning: Bool = false) -> [Listed] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        let now = Int64(Date().timeIntervalSince1970)
        var listed: [Listed] = []
        for name in names {
            let isEntry = Self.isEntryName(name)
            guard isEntry || (cleaning && Self.isTemporaryName(name)) else { continue }
            let path = directory.appendingPathComponent(name).path
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            if isEntry {
                let used = Int64(status.st_mtim.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
                listed.append(Listed(name: name, size: Int(status.st_size),
                                     used: used.overflow ? .max : used.partialValue &+ Int64(status.st_mtim.tv_nsec)))
            } else if now - Int64(status.st_mtim.tv_sec) > Int64(Self.staleTemporarySeconds) {
                unlink(path)
            }
        }
        return listed
    }

    /// Deletes the least recently used entries (never `kept`) until the
    /// entries fit ``maximumBytes``.
    func evict(keeping kept: String? = nil) {
        let listed = entries(cleaning: true)
        var total = listed.reduce(0) { $0 + $1.size }
        guard total > maximumBytes else { return }
        for entry in listed.sorted(by: { ($0.used, $0.name) < ($1.used, $1.name) }) where entry.name != kept {
            if unlink(directory.appendingPathComponent(entry.name).path) == 0 || errno == ENOENT { total -= entry.size }
            if total <= maximumBytes { break }
        }
    }

    // MARK: Plain I/O

    /// Reads exactly `count` bytes at `offset`; false on an error or an early end.
    static func readFully(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: Int) -> Bool {
        var done = 0
        while done < count {
            let got = pread(descriptor, buffer + done, min(count - done, 1 << 30), off_t(offset + done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return false }
            done += got
        }
        return true
    }

    /// Writes all `count` bytes; false on an error.
    static func writeFully(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let put = Foundation.write(descriptor, buffer + done, min(count - done, 1 << 30))
            if put < 0 && errno == EINTR { continue }
            guard put > 0 else { return false }
            done += put
        }
        return true
    }
}

/// Little-endian fields appended to bytes.
private struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ value: String) {
        u32(UInt32(value.utf8.count))
        bytes += value.utf8
    }
}

/// Little-endian fields read from bytes the caller has sized.
private struct ByteReader {
    let bytes: [UInt8]
    var position = 0
    mutating func take(_ count: Int) -> [UInt8] {
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }
    mutating func u32() -> UInt32 { take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64() -> UInt64 { take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
}
