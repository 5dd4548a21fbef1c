@testable import AMIO
import Foundation
import Testing

/// Decoding overlapped with conversion (``ClipPipeline``) and clips that play
/// while they load (``AudioClipLoad``). One at a time: their decoding and
/// comparing run on the concurrency pool, which timing tests elsewhere share.
@Suite(.serialized) struct ClipPipelineTests {
    /// `seconds` of stereo at `rate`: a 1 kHz sine on the left, a
    /// deterministic noise on the right (every frequency, so any seam shows).
    static func signal(seconds: Double, rate: Int) -> [[Float]] {
        let frames = Int(seconds * Double(rate))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let noise = (0..<frames).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 24) * 0.5
        }
        let sine = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / Double(rate))) }
        return [sine, noise]
    }

    static func writeFile(_ channels: [[Float]], rate: Int, to url: URL, format: AudioFileFormat = .wav,
                          encoding: AudioFileEncoding = .float) throws {
        try AudioClip(channels: channels, sampleRate: rate).write(to: url, format: format, encoding: encoding)
    }

    /// The largest difference between two clips of one length.
    static func difference(_ a: AudioClip, _ b: AudioClip) -> Float {
        (0..<a.channelCount).map { channel in
            a.withUnsafeSamples(channel: channel) { x in
                b.withUnsafeSamples(channel: channel) { y in zip(x, y).map { abs($0 - $1) }.max() ?? 0 }
            }
        }.max() ?? 0
    }

    /// Streamed in segments of growing length (a quarter of a second, then a
    /// half, one, two: four seams in four seconds) while the file is read,
    /// the conversion is the single pass over
    /// the whole decoded file, within the tolerance the segment seams have
    /// (1e-5; 1e-4 for the cubic `.linear`), for every quality and ratio.
    @Test(arguments: ResamplingQuality.allCases, [(44100, 48000), (48000, 44100), (96000, 48000), (22050, 48000), (44100, 37123)])
    func streamedConversionIsTheSinglePass(quality: ResamplingQuality, rates: (Int, Int)) async throws {
        let (from, to) = rates
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("take.wav")
        try Self.writeFile(Self.signal(seconds: 4, rate: from), rate: from, to: url)
        let streamed = try await AudioClip(contentsOf: url, resamplingTo: to, quality: quality, cache: nil)
        let onePass = try await AudioClip(contentsOf: url).resampled(to: to, quality: quality, workers: 1)
        #expect(streamed.frameCount == onePass.frameCount)
        #expect(streamed.frameCount == Int((4 * Double(from)).rounded() * Double(to) / Double(from) + 0.5))
        #expect(streamed.sampleRate == to && streamed.channelCount == 2 && streamed.name == "take.wav")
        let worst = Self.difference(streamed, onePass)
        #expect(worst <= (quality == .linear ? 1e-4 : 1e-5), "worst difference \(worst)")
    }

    /// Every way a length is known or not gives the same clip: a WAV (its
    /// length bounded by its size), a FLAC (its length checked by a seek to
    /// its last frame), a FLAC streamed without a length (converted into
    /// pieces joined at the end), and a file already at the rate (copied).
    @Test(arguments: ["wav", "flac", "streamed flac", "same rate"])
    func everyKindOfLengthGivesTheSameClip(kind: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rate = kind == "same rate" ? 48000 : 44100
        let signal = Self.signal(seconds: 4, rate: rate)
        let wav = directory.appendingPathComponent("take.wav")
        try Self.writeFile(signal, rate: rate, to: wav, encoding: .pcm24)
        var url = wav
        if kind == "flac" {
            url = directory.appendingPathComponent("take.flac")
            try sox(wav.path, url.path)
        } else if kind == "streamed flac" {
            // sox cannot go back over a pipe to write the length into the header.
            url = directory.appendingPathComponent("streamed.flac")
            // A raw stream through a pipe has no length to give either.
            let (status, output) = try run(executable: URL(fileURLWithPath: "/bin/sh"),
                                           ["-c", "sox '\(wav.path)' -t raw - | sox -t raw -r \(rate) -c 2 -e signed -b 24 - -t flac - | cat > '\(url.path)'"])
            try #require(status == 0, "\(output)")
            #expect(try AudioFile(forReading: url).frameCount == nil)
        }
        let file = try AudioFile(forReading: url)
        let checked = AudioClip.checkedFrameCount(of: file, raw: nil)
        #expect(checked == (kind == "streamed flac" ? nil : signal[0].count))
        file.close()
        let streamed = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil)
        let onePass = try await AudioClip(contentsOf: wav).resampled(to: 48000, quality: .best, workers: 1)
        #expect(streamed.frameCount == onePass.frameCount)
        #expect(Self.difference(streamed, onePass) <= 1e-5)
    }

    /// A FLAC whose header claims more frames than it holds is not trusted
    /// for memory: no seek finds its last frame, so it loads as a stream of
    /// unknown length, and ends as the truncated file it is.
    @Test func aFLACClaimingMoreFramesIsReadAsAStream() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = directory.appendingPathComponent("take.wav"), flac = directory.appendingPathComponent("take.flac")
        try Self.writeFile(Self.signal(seconds: 3, rate: 44100), rate: 44100, to: wav, encoding: .pcm16)
        try sox(wav.path, flac.path)
        // STREAMINFO's total samples: 36 bits after the sample rate, channels and bits.
        var bytes = [UInt8](try Data(contentsOf: flac))
        #expect(bytes[0..<4] == [0x66, 0x4C, 0x61, 0x43])
        let base = 8 + 10 // "fLaC", the block header, then 10 bytes before the packed field
        bytes[base + 3] |= 0x0F // total samples × 2^32 more
        try Data(bytes).write(to: flac)
        let file = try AudioFile(forReading: flac)
        #expect((file.frameCount ?? 0) > 1 << 32)
        #expect(AudioClip.checkedFrameCount(of: file, raw: nil) == nil)
        file.close()
        await #expect {
            _ = try await AudioClipLoad(contentsOf: flac, resamplingTo: 48000, cache: nil)
        } throws: { error in
            guard case AMIOError.fileError(_, .truncated, _) = error else { return false }
            return true
        }
    }

    /// A load returns with the clip at its full length and its first second
    /// converted; once complete its samples are the full load's, none starved.
    @Test func aLoadPlaysFromItsFirstSegmentAndCompletesAsTheFullLoad() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("long.flac")
        try sox("-n", "-r", "44100", "-c", "2", "-b", "16", url.path, "synth", "40", "sine", "440", "sine", "661", "vol", "0.5")
        let load = try await AudioClipLoad(contentsOf: url, resamplingTo: 48000, cache: nil)
        #expect(load.clip.frameCount == 40 * 48000)
        // A second's head start, converted before the load returns.
        #expect(load.readyFrames >= 48000)
        let clip = try await load.complete()
        #expect(load.isFinished && load.error == nil && load.readyFrames == clip.frameCount && load.starvedFrames == 0)
        let full = try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil)
        #expect(Self.difference(clip, full) == 0)
        #expect(clip.name == "long.flac")
    }

    /// What a playspec reads of each clip over a window: what must be
    /// loaded before it plays from there (`amio play --start` inside a file).
    @Test func thePlayspecSaysWhichFramesAWindowReads() throws {
        let long = try AudioClip(channels: [[Float](repeating: 0.5, count: 10_000)], sampleRate: 48000)
        let short = try AudioClip(channels: [[Float](repeating: 0.5, count: 1000)], sampleRate: 48000)
        let once: Playspec = [PlayspecEntry(clip: long, frames: 1000..<5000, playAt: 100, gains: [1])]
        #expect(once.clipFramesRead(in: 0..<1000) == [ObjectIdentifier(long.storage): 1900])
        #expect(once.clipFramesRead(in: 4100..<9000) == [:])
        let looped: Playspec = [PlayspecEntry(clip: short, frames: 0..<300, playAt: 0, repeatInterval: 500, gains: [1])]
        #expect(looped.clipFramesRead(in: 1200..<1250) == [ObjectIdentifier(short.storage): 250])
        #expect(looped.clipFramesRead(in: 1350..<1400) == [:])
        #expect(looped.clipFramesRead(in: 1400..<1700) == [ObjectIdentifier(short.storage): 300])
    }

    /// Waiting for frames inside a loading clip returns with them converted.
    @Test func aLoadWaitsForTheFramesAskedFor() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("long.flac")
        try sox("-n", "-r", "44100", "-c", "2", "-b", "16", url.path, "synth", "30", "sine", "440")
        let load = try await AudioClipLoad(contentsOf: url, resamplingTo: 48000, cache: nil)
        let playspec: Playspec = [PlayspecEntry(clip: load.clip, frames: 20 * 48000..<30 * 48000, playAt: 0, gains: [1, 1])]
        try await AudioClipLoad.waitUntilReady([load], toPlay: playspec, from: 0, for: 48000)
        #expect(load.readyFrames >= 21 * 48000)
        // Beyond the clip: every frame (the load finishes just after).
        try await load.waitUntilReady(frames: .max)
        #expect(load.readyFrames == load.clip.frameCount)
        _ = try await load.complete()
        #expect(load.isFinished && load.error == nil)
    }

    /// The mixer plays only the frames published, as silence beyond, and
    /// counts the frames it reached too soon; the samples published later
    /// play in full (a playspec made before then included).
    @Test func theMixerPlaysOnlyReadyFramesAndCountsTheRest() throws {
        let frames = 4800
        let progress = try ClipProgress()
        let samples = try ClipStorage.allocate(frames: frames, channels: 1, zeroed: true)
        let storage = ClipStorage(frameCount: frames, channelCount: 1, adopting: samples, progress: progress)
        let clip = AudioClip(storage: storage, sampleRate: 48000)
        let renderer = try OfflineRenderer(sampleRate: 48000, outputChannels: 1)
        try renderer.setPlayspec(Playspec([PlayspecEntry(clip: clip, playAt: 0, gains: [1])]))
        try renderer.setTransportRolling(true)
        for frame in 0..<1000 { samples[frame] = Float(frame + 1) }
        progress.publish(1000)
        let first = try renderer.render(periods: [256, 256, 256, 256, 256])[0]
        #expect(first[0..<1000] == ArraySlice((0..<1000).map { Float($0 + 1) }))
        #expect(first[1000...].allSatisfy { $0 == 0 })
        #expect(progress.starvedFrames == 1280 - 1000)
        for frame in 1000..<frames { samples[frame] = Float(frame + 1) }
        progress.publish(frames)
        let rest = try renderer.render(frames: 1000)[0]
        #expect(rest == (1280..<2280).map { Float($0 + 1) })
        #expect(progress.starvedFrames == 280)
        progress.finish(.success(()))
        #expect(clip.samples(channel: 0)[4799] == 4800)
    }

    /// A file that fails midway (a corrupt stretch inside a FLAC whose
    /// length checks out) plays what came before; `complete()` throws the
    /// typed error, and the clip beyond the failure is silence.
    @Test func aFileFailingMidwayKeepsWhatCameBefore() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("damaged.flac")
        try sox("-n", "-r", "48000", "-c", "1", "-b", "16", url.path, "synth", "30", "whitenoise", "vol", "0.5")
        var bytes = [UInt8](try Data(contentsOf: url))
        // Zeros over a stretch in the middle: frames there no longer decode.
        for index in bytes.count / 2..<(bytes.count / 2 + 200_000) { bytes[index] = 0 }
        try Data(bytes).write(to: url)
        let load: AudioClipLoad
        do {
            load = try await AudioClipLoad(contentsOf: url, resamplingTo: 48000, cache: nil)
        } catch {
            // libsndfile may find the damage when it opens the file: typed too.
            guard case AMIOError.fileError = error else { throw error }
            return
        }
        await #expect {
            _ = try await load.complete()
        } throws: { error in
            guard case AMIOError.fileError(_, let problem, _) = error else { return false }
            return problem == .truncated || problem == .corrupt
        }
        #expect(load.error != nil && load.isFinished)
        #expect(load.readyFrames < load.clip.frameCount)
        let tail = load.clip.samples(channel: 0)[load.readyFrames...]
        #expect(tail.allSatisfy { $0 == 0 })
    }

    /// A minute of 44.1 kHz stereo FLAC in `directory`.
    static func minuteOfFLAC(in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("long.flac")
        try sox("-n", "-r", "44100", "-c", "2", "-b", "16", url.path, "synth", "60", "sine", "440")
        return url
    }

    /// A cancelled load stops: `complete()` throws ``AMIOError/cancelled``.
    /// Past a tenth of the file (beyond the second the load waits for before
    /// it returns) the workers wait in the progress callback until the test
    /// has cancelled, so the load cannot finish first however busy the machine.
    @Test func aCancelledLoadStops() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.minuteOfFLAC(in: directory)
        let gate = DispatchSemaphore(value: 0)
        let load = try await AudioClipLoad(contentsOf: url, resamplingTo: 48000, cache: nil) { fraction in
            guard fraction > 0.1 else { return }
            gate.wait()
            gate.signal()
        }
        #expect(!load.isFinished)
        load.cancel()
        gate.signal()
        await #expect(throws: AMIOError.cancelled) { _ = try await load.complete() }
        #expect(load.error == .cancelled)
        #expect(load.readyFrames < load.clip.frameCount)
    }

    /// Cancelling the task of a whole load stops its pipeline and throws
    /// ``AMIOError/cancelled`` (held in the progress callback as above).
    @Test func aCancelledTaskStopsTheLoad() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.minuteOfFLAC(in: directory)
        let gate = DispatchSemaphore(value: 0)
        let task = Task {
            try await AudioClip(contentsOf: url, resamplingTo: 48000, cache: nil) { _ in
                gate.wait()
                gate.signal()
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        gate.signal()
        await #expect(throws: AMIOError.cancelled) { _ = try await task.value }
    }
}
