@testable import AMIO
import Foundation
import Testing

@Suite struct CLICacheTests {
    /// Two `amio render` processes converting the same file into one cache
    /// at once both render it right and leave one entry; a later render uses
    /// that entry, and `--no-cache` does not.
    @Test func concurrentProcessesShareOneEntryAndNoCacheBypassesIt() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let take = fixture.source("take.wav")
        try writeCacheTake(take, seconds: 2)
        let session = fixture.source("session.json")
        try Data("""
            {"version": 1, "outputs": 2, "clips": {"take": {"file": "take.wav"}}, "entries": [{"clip": "take"}]}
            """.utf8).write(to: session)
        let environment = ProcessInfo.processInfo.environment.merging(
            ["XDG_CACHE_HOME": fixture.root.path, "AMIO_CONVERSION_CACHE": "on"]) { $1 }
        let cacheDirectory = fixture.root.appendingPathComponent("amio")
        let outputs = (0..<2).map { fixture.source("bounce-\($0).wav") }
        let children = try outputs.map {
            try ChildProcess(amioTool, ["render", session.path, $0.path, "-q"], environment: environment)
        }
        for child in children {
            let result = try child.waitForExit(within: 120)
            #expect(result.status == 0, "\(result.err)")
        }
        let expected = planarSamples(try await AudioClip(contentsOf: take, resamplingTo: 48000, cache: nil))
        for output in outputs {
            let rendered = try readAll(output)
            #expect(rendered.file.sampleRate == 48000 && rendered.samples == expected)
        }
        let cache = try ConversionCache(directory: cacheDirectory)
        let key = try #require(ConversionCache.Key(source: take, rate: 48000, quality: .best))
        #expect(directoryListing(cacheDirectory) == [key.fileName])
        #expect(cache.clip(for: take, resampledTo: 48000, quality: .best).map(planarSamples) == expected)

        // A planted entry: what a render that reads the cache plays.
        let quiet = [[Float](repeating: 0.125, count: 96000), [Float](repeating: 0.125, count: 96000)]
        try cache.store(try AudioClip(channels: quiet, sampleRate: 48000), for: take, quality: .best)
        let cached = fixture.source("cached.wav"), uncached = fixture.source("uncached.wav")
        for (output, flags) in [(cached, [String]()), (uncached, ["--no-cache"])] {
            let result = try ChildProcess(amioTool, ["render", session.path, output.path, "-q"] + flags, environment: environment)
                .waitForExit(within: 120)
            #expect(result.status == 0, "\(result.err)")
        }
        #expect(try readAll(cached).samples == quiet)
        #expect(try readAll(uncached).samples == expected)
        #expect(directoryListing(cacheDirectory) == [key.fileName])
    }
}
