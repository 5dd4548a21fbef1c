@testable import AMIO
import CAMIO
import Foundation
import Testing

/// A 44.1 kHz stereo WAV of `seconds` with a ramp and a sine, different for each `seed`.
func writeCacheTake(_ url: URL, seconds: Double = 1, seed: Int = 0, rate: Int = 44100) throws {
    let frames = Int(seconds * Double(rate))
    let left = (0..<frames).map { Float(($0 + seed) % 441) / 441 - 0.5 }
    let right = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * Double(440 + seed) * Double($0) / Double(rate))) }
    try AudioClip(channels: [left, right], sampleRate: rate).write(to: url, encoding: .float)
}

/// The samples of every channel of a clip, for exact comparison.
func planarSamples(_ clip: AudioClip) -> [[Float]] { (0..<clip.channelCount).map { clip.samples(channel: $0) } }

/// The names in `directory` (none if it does not exist).
func directoryListing(_ directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
}

/// Sets a file's modification time to `seconds` since 1970.
private func setModified(_ url: URL, to seconds: Int) throws {
    var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
    try #require(utimensat(AT_FDCWD, url.path, &times, 0) == 0)
}

private func modified(_ url: URL) throws -> Int {
    var status = stat()
    try #require(stat(url.path, &status) == 0)
    return status.st_mtim.tv_sec
}

/// A directory holding a cache directory and the sources it caches.
struct CacheFixture {
    let root: URL
    let cache: ConversionCache
    var directory: URL { cache.directory }

    init(maximumBytes: Int = ConversionCache.defaultMaximumBytes) throws {
        root = try temporaryDirectory()
        cache = try ConversionCache(directory: root.appendingPathComponent("cache"), maximumBytes: maximumBytes)
    }

    func source(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// The entry file of `url` converted to `rate` at `quality`, as the source is now.
    func entry(_ url: URL, rate: Int = 48000, quality: ResamplingQuality = .best) throws -> URL {
        let key = try #require(ConversionCache.Key(source: url, rate: rate, quality: quality))
        return directory.appendingPathComponent(key.fileName)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// One at a time: their loads and comparisons run on the concurrency pool,
/// which timing tests elsewhere share.
@Suite(.serialized) struct ConversionCacheTests {
    /// The second load reads the entry the first one stored: the same samples
    /// bit for bit, named after the file; the hit is proved by the entry's
    /// modification time (refreshed by a hit) and by an entry planted under
    /// the file's key, which the load then returns.
    @Test func aSecondLoadIsAHitAndBitIdentical() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url)
        let fresh = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil)
        #expect(directoryListing(fixture.directory).isEmpty, "cache: nil creates nothing")

        let first = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        let entry = try fixture.entry(url)
        #expect(directoryListing(fixture.directory) == [entry.lastPathComponent])
        #expect(planarSamples(first) == planarSamples(fresh))
        let expectedBytes = ConversionCache.Header.length(keyBytes: try #require(ConversionCache.Key(source: url, rate: 48000, quality: .best)).bytes.count)
            + fresh.frameCount * 2 * 4
        #expect(fixture.cache.totalBytes == expectedBytes)

        try setModified(entry, to: 1_000_000)
        let progress = ProgressRecorder()
        let second = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache) { progress.record($0) }
        #expect(try modified(entry) > 1_000_000, "a hit marks the entry used")
        #expect(planarSamples(second) == planarSamples(fresh))
        #expect(second.sampleRate == 48000 && second.name == "take.wav" && second.frameCount == fresh.frameCount)
        #expect(progress.values.last == 1)
        #expect(fixture.cache.clip(for: url, resampledTo: 48000, quality: .best).map(planarSamples) == planarSamples(fresh))

        // An entry planted under the file's key is what the load returns.
        let planted = try AudioClip(channels: [[Float](repeating: 0.25, count: 100), [Float](repeating: -0.25, count: 100)],
                                    sampleRate: 48000)
        #expect(try fixture.cache.store(planted, for: url, quality: .best))
        let third = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        #expect(planarSamples(third) == planarSamples(planted))
        #expect(directoryListing(fixture.directory) == [entry.lastPathComponent])

        // Another rate or quality is another key.
        #expect(fixture.cache.clip(for: url, resampledTo: 96000, quality: .best) == nil)
        #expect(fixture.cache.clip(for: url, resampledTo: 48000, quality: .medium) == nil)
        let medium = try await AudioClip(contentsOf: url, resamplingTo: 48000, quality: .medium, cache: fixture.cache)
        #expect(planarSamples(medium) == planarSamples(try await AudioClip(contentsOf: url, resamplingTo: 48000, quality: .medium, cache: nil)))
        #expect(directoryListing(fixture.directory).count == 2)
    }

    /// A file at the target rate needs no conversion, and a raw load is not
    /// cached: neither leaves an entry.
    @Test func onlyConversionsOfFilesAreStored() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url, rate: 48000)
        let clip = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        #expect(clip.sampleRate == 48000)
        let raw = fixture.source("take.raw")
        try clip.write(to: raw, format: .raw, encoding: .float)
        let format = RawAudioFormat(sampleRate: 44100, channelCount: 2, encoding: .float)
        _ = try await AudioClip(contentsOf: raw, raw: format, resamplingTo: 48000)
        #expect(directoryListing(fixture.directory).isEmpty)
    }

    /// A file deleted while open (amio's copy of standard input, read
    /// through /proc/self/fd) is converted, and not stored: nothing could
    /// ever find it again. Nor is anything that is not a regular file.
    @Test func onlyRegularFilesThatHaveANameAreStored() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url)
        let descriptor = open(url.path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try FileManager.default.removeItem(at: url)
        let clip = try await AudioClip(contentsOf: URL(fileURLWithPath: "/proc/self/fd/\(descriptor)"), resamplingTo: 48000,
                                       cache: fixture.cache)
        #expect(clip.sampleRate == 48000)
        #expect(directoryListing(fixture.directory).isEmpty)
        // A FIFO is not even opened (that would wait for a writer).
        let fifo = fixture.source("fifo")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        #expect(fixture.cache.clip(for: fifo, resampledTo: 48000, quality: .best) == nil)
        #expect(try fixture.cache.store(clip, for: fifo, quality: .best) == false)
        #expect(directoryListing(fixture.directory).isEmpty)
    }

    /// A source rewritten in place — same size, new samples, even its old
    /// modification time put back — or only touched, is a miss: the load
    /// converts what the file holds now.
    @Test func aChangedSourceMisses() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url, seed: 0)
        try setModified(url, to: 1_500_000_000)
        _ = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        // A planted entry shows whether the load still finds the old key.
        let planted = try AudioClip(channels: [[Float](repeating: 0.5, count: 10)], sampleRate: 48000)
        try fixture.cache.store(planted, for: url, quality: .best)
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int

        // New samples written over the old ones: the same inode, size and time.
        let inode = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int
        let newer = fixture.source("newer.wav")
        try writeCacheTake(newer, seed: 7)
        let handle = try FileHandle(forWritingTo: url)
        try handle.write(contentsOf: try Data(contentsOf: newer))
        try handle.close()
        try setModified(url, to: 1_500_000_000)
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int == size)
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int == inode)
        let rewritten = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        let expected = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil)
        #expect(planarSamples(rewritten) == planarSamples(expected))

        try setModified(url, to: 1_600_000_000)
        #expect(fixture.cache.clip(for: url, resampledTo: 48000, quality: .best) == nil)
        let touched = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        #expect(planarSamples(touched) == planarSamples(expected))
        #expect(fixture.cache.clip(for: url, resampledTo: 48000, quality: .best).map(planarSamples) == planarSamples(expected))
    }

    /// Ways an entry goes wrong on disk.
    enum Corruption: String, CaseIterable, Sendable {
        case truncated, extended, zeroLength, wrongMagic, newerVersion, flippedSampleByte, flippedKeyByte
        /// Frames of 2^40 with the header's checksum made right: only the size check stands in the way.
        case hugeFrameCount
        /// Two channels of twice the frames: the same size, a wrong header checksum.
        case reshaped
        case otherKey
    }

    /// A corrupt entry is detected, deleted, never returned; the load
    /// converts again and stores a good entry.
    @Test(arguments: Corruption.allCases)
    func aCorruptEntryIsDetectedDeletedAndRebuilt(corruption: Corruption) async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url, seconds: 0.5)
        let fresh = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        let entry = try fixture.entry(url)
        let good = try Data(contentsOf: entry)
        var bytes = [UInt8](good)
        let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8
        switch corruption {
        case .truncated: bytes.removeLast(1)
        case .extended: bytes += [0, 0, 0, 0]
        case .zeroLength: bytes = []
        case .wrongMagic: bytes[0] = UInt8(ascii: "X")
        case .newerVersion: bytes[8] = 2
        case .flippedSampleByte: bytes[headerLength + 1000] ^= 0x10
        case .flippedKeyByte: bytes[64 + 5] ^= 0x01
        case .hugeFrameCount, .reshaped:
            let frames: UInt64 = corruption == .hugeFrameCount ? 1 << 40 : UInt64(fresh.frameCount * 2)
            withUnsafeBytes(of: frames.littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
            if corruption == .reshaped { bytes[16] = 1 }
            if corruption == .hugeFrameCount {
                var header = Array(bytes[0..<headerLength])
                header.replaceSubrange(40..<48, with: [UInt8](repeating: 0, count: 8))
                let checksum = header.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, ConversionCache.Header.headerSeed) }
                withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(40..<48, with: $0) }
            }
        case .otherKey:
            // A whole, valid entry of another source, under this one's name (a hash collision).
            let other = fixture.source("other.wav")
            try writeCacheTake(other, seconds: 0.5, seed: 3)
            let otherCache = try ConversionCache(directory: fixture.root.appendingPathComponent("other"))
            _ = try await AudioClip(contentsOf: other, resamplingTo: 48000, cache: otherCache)
            let otherEntry = otherCache.directory.appendingPathComponent(try #require(directoryListing(otherCache.directory).first))
            bytes = [UInt8](try Data(contentsOf: otherEntry))
        }
        try Data(bytes).write(to: entry)

        #expect(fixture.cache.clip(for: url, resampledTo: 48000, quality: .best) == nil)
        #expect(!FileManager.default.fileExists(atPath: entry.path), "the corrupt entry is deleted")
        try Data(bytes).write(to: entry)
        let reloaded = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        #expect(planarSamples(reloaded) == planarSamples(fresh))
        #expect(try Data(contentsOf: entry) == good, "the entry is rebuilt")
        #expect(directoryListing(fixture.directory) == [entry.lastPathComponent])
    }

    /// After a store the entries fit the bound: the least recently used go
    /// first (a hit counts as a use), the one just stored stays, and a clip
    /// larger than the bound is not stored at all.
    @Test func leastRecentlyUsedEntriesAreEvictedToTheBound() async throws {
        let probe = try CacheFixture()
        defer { probe.remove() }
        let sample = probe.source("a.wav")
        try writeCacheTake(sample, seconds: 0.25)
        _ = try await AudioClip(contentsOf: sample, resamplingTo: 48000, cache: probe.cache)
        let entryBytes = probe.cache.totalBytes
        try #require(entryBytes > 48000)

        // Room for two entries of the same length (the path lengths are equal).
        let fixture = try CacheFixture(maximumBytes: 2 * entryBytes + entryBytes / 2)
        defer { fixture.remove() }
        let (a, b, c) = (fixture.source("a.wav"), fixture.source("b.wav"), fixture.source("c.wav"))
        for (index, url) in [a, b, c].enumerated() { try writeCacheTake(url, seconds: 0.25, seed: index) }
        _ = try await AudioClip(contentsOf: a, resamplingTo: 48000, cache: fixture.cache)
        _ = try await AudioClip(contentsOf: b, resamplingTo: 48000, cache: fixture.cache)
        let (entryA, entryB, entryC) = (try fixture.entry(a), try fixture.entry(b), try fixture.entry(c))
        #expect(fixture.cache.totalBytes == 2 * entryBytes)
        // a was stored first, but used again since: b is the least recently used.
        try setModified(entryA, to: 1_000_000)
        try setModified(entryB, to: 2_000_000)
        _ = try await AudioClip(contentsOf: a, resamplingTo: 48000, cache: fixture.cache)
        #expect(try modified(entryA) > 2_000_000)
        _ = try await AudioClip(contentsOf: c, resamplingTo: 48000, cache: fixture.cache)
        #expect(FileManager.default.fileExists(atPath: entryA.path))
        #expect(!FileManager.default.fileExists(atPath: entryB.path))
        #expect(FileManager.default.fileExists(atPath: entryC.path))
        #expect(fixture.cache.totalBytes == 2 * entryBytes && fixture.cache.totalBytes <= fixture.cache.maximumBytes)

        // Larger than the bound: converted, not stored, nothing evicted for it.
        let long = fixture.source("long.wav")
        try writeCacheTake(long, seconds: 2)
        let clip = try await AudioClip(contentsOf: long, resamplingTo: 48000, cache: fixture.cache)
        #expect(try fixture.cache.store(clip, for: long, quality: .best) == false)
        #expect(directoryListing(fixture.directory) == [entryA, entryC].map(\.lastPathComponent).sorted())
    }

    /// Temporaries older than an hour (a killed store's) are deleted by the
    /// next store; younger ones (a store under way) and files the cache did
    /// not name are left alone, even by removeAll.
    @Test func staleTemporariesGoAndOtherFilesStay() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        let stale = fixture.directory.appendingPathComponent(".0123456789abcdef.amioclip.1.2.tmp")
        let young = fixture.directory.appendingPathComponent(".0123456789abcdef.amioclip.3.4.tmp")
        let notes = fixture.directory.appendingPathComponent("notes.txt")
        for file in [stale, young, notes] { try Data([1, 2, 3]).write(to: file) }
        try setModified(stale, to: Int(Date().timeIntervalSince1970) - 7200)
        let url = fixture.source("take.wav")
        try writeCacheTake(url, seconds: 0.25)
        _ = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: fixture.cache)
        let entry = try fixture.entry(url).lastPathComponent
        #expect(directoryListing(fixture.directory) == [young.lastPathComponent, entry, "notes.txt"].sorted())
        #expect(fixture.cache.totalBytes > 0)
        try fixture.cache.removeAll()
        #expect(directoryListing(fixture.directory) == ["notes.txt"])
        #expect(fixture.cache.totalBytes == 0)
        // A cache whose directory was never made has nothing to remove.
        try ConversionCache(directory: fixture.root.appendingPathComponent("never")).removeAll()
    }

    /// A cache that cannot be written (its directory would be inside a
    /// regular file) never fails a load; storing there says why.
    @Test func anUnwritableCacheNeverFailsALoad() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let blocker = fixture.source("file")
        try Data([0]).write(to: blocker)
        let cache = try ConversionCache(directory: blocker.appendingPathComponent("cache"))
        let url = fixture.source("take.wav")
        try writeCacheTake(url, seconds: 0.25)
        let clip = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: cache)
        #expect(clip.sampleRate == 48000 && clip.frameCount == 12000)
        #expect(cache.clip(for: url, resampledTo: 48000, quality: .best) == nil)
        let error = #expect(throws: AMIOError.self) { try cache.store(clip, for: url, quality: .best) }
        guard case .fileError(_, .writeFailed, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(cache.totalBytes == 0)
        try cache.removeAll()
    }

    /// Several tasks loading one file into one cache at once all get the
    /// conversion, and leave one entry and no temporaries.
    @Test func concurrentLoadsLeaveOneEntry() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let url = fixture.source("take.wav")
        try writeCacheTake(url)
        let expected = planarSamples(try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil))
        let cache = fixture.cache
        let loaded = try await withThrowingTaskGroup(of: [[Float]].self) { group in
            for _ in 0..<6 { group.addTask { planarSamples(try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: cache)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(loaded.count == 6 && loaded.allSatisfy { $0 == expected })
        #expect(directoryListing(fixture.directory) == [try fixture.entry(url).lastPathComponent])
    }

    @Test func initialiserChecksItsArguments() throws {
        for (directory, bound) in [(URL(string: "https://example.com/cache")!, 1), (URL(fileURLWithPath: "/tmp/c"), 0),
                                   (URL(fileURLWithPath: "/tmp/c"), -1), (URL(fileURLWithPath: "/tmp/c"), (1 << 60) + 1)] {
            let error = #expect(throws: AMIOError.self) { try ConversionCache(directory: directory, maximumBytes: bound) }
            guard case .invalidArgument? = error else { Issue.record("\(String(describing: error))"); continue }
        }
        #expect(try ConversionCache(directory: URL(fileURLWithPath: "/tmp/c"), maximumBytes: 1 << 60).maximumBytes == 1 << 60)
    }

    /// The environment turns the cache on and off, bounds it and places it.
    @Test func theEnvironmentConfiguresTheStandardCache() throws {
        let home = ["HOME": "/home/user"]
        func cache(_ extra: [String: String]) -> ConversionCache? {
            ConversionCache.standard(environment: home.merging(extra) { $1 })
        }
        let standard = try #require(cache([:]))
        #expect(standard.directory.path == "/home/user/.cache/amio")
        #expect(standard.maximumBytes == 4 << 30)
        #expect(cache(["XDG_CACHE_HOME": "/var/cache/me"])?.directory.path == "/var/cache/me/amio")
        #expect(cache(["XDG_CACHE_HOME": "relative/cache"])?.directory.path == "/home/user/.cache/amio")
        #expect(cache(["XDG_CACHE_HOME": ""])?.directory.path == "/home/user/.cache/amio")
        #expect(ConversionCache.standard(environment: [:]) == nil)
        #expect(ConversionCache.standard(environment: ["HOME": "home"]) == nil)
        #expect(ConversionCache.standard(environment: ["XDG_CACHE_HOME": "/x"])?.directory.path == "/x/amio")
        for on in ["", "on", "ON", "yes", "true", "1", " on "] { #expect(cache(["AMIO_CONVERSION_CACHE": on]) != nil, "\(on)") }
        for off in ["off", "Off", "no", "false", "0", "of", "disabled", "/tmp/cache"] {
            #expect(cache(["AMIO_CONVERSION_CACHE": off]) == nil, "\(off)")
        }
        let sizes: [(String, Int?)] = [("1", 1), ("123456", 123_456), ("512M", 512 << 20), ("512m", 512 << 20),
                                       ("8G", 8 << 30), ("8GiB", 8 << 30), ("2 T", 2 << 40), ("64k", 64 << 10),
                                       ("100B", 100), ("", 4 << 30), ("0", nil), ("0G", nil), ("-1", nil), ("1.5G", nil),
                                       ("G", nil), ("12Q", nil), ("1048577T", nil), ("99999999999999999999", nil)]
        for (text, bound) in sizes {
            #expect(cache(["AMIO_CONVERSION_CACHE_SIZE": text])?.maximumBytes == bound, "\(text)")
        }
    }

    /// The checksum sees every changed byte and the length, wherever the
    /// bytes lie in memory.
    @Test func theChecksumSeesEveryByte() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let base = bytes.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, 9) }
        var seen: Set<UInt64> = [base]
        for index in bytes.indices {
            var changed = bytes
            changed[index] ^= 0x80
            seen.insert(changed.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, 9) })
        }
        #expect(seen.count == bytes.count + 1)
        for count in 0..<bytes.count { seen.insert(bytes.withUnsafeBytes { camio_checksum($0.baseAddress, count, 9) }) }
        #expect(seen.count == 2 * bytes.count + 1)
        #expect(bytes.withUnsafeBytes { camio_checksum($0.baseAddress, $0.count, 10) } != base)
        let shifted = [0] + bytes
        #expect(shifted.withUnsafeBytes { camio_checksum($0.baseAddress! + 1, bytes.count, 9) } == base)
    }
}

/// The progress values a load reported.
private final class ProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Double] = []
    func record(_ value: Double) { lock.withLock { recorded.append(value) } }
    var values: [Double] { lock.withLock { recorded } }
}
