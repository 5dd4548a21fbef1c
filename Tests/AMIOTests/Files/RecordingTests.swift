@testable import AMIO
import Foundation
import Testing

extension JackTests {
    @Suite(.jackServer(period: 256))
    struct Recording {
        /// Plays a ramp whose value is its timeline frame + 1 through the loopback.
        func rampInterface(_ name: String, channels: Int = 1) async throws -> AudioInterface {
            let io = try await openLoopback(try JackServer.suite, channels: channels, name: name)
            try io.setPlayspec([PlayspecEntry(clip: try rampClip(frames: 1_200_000), playAt: 0,
                                              gains: Array(repeating: 1, count: channels))])
            return io
        }

        /// Checks a take of that ramp: file frame i holds timeline frame
        /// `from + i` (value `from + i + 1`), or silence where input was lost.
        /// Returns the silent frames, for the caller to set against the losses reported.
        func silentFramesCheckingRamp(_ samples: [Float], from: Int64 = 0) -> Int {
            var silent = 0
            for (i, value) in samples.enumerated() {
                if value == 0 { silent += 1; continue }
                if Int64(value) - 1 != from + Int64(i) {
                    Issue.record("file frame \(i) holds timeline frame \(Int64(value) - 1), not \(from + Int64(i))")
                    break
                }
            }
            return silent
        }

        @Test func tenSecondsFromAChosenFrameLineUpExactly() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("take")
            let url = directory.appendingPathComponent("take.wav")
            let from: Int64 = 12_345, frames = 480_000
            let recording = try await io.record(to: url, encoding: .float, from: from, until: from + Int64(frames))
            try io.setTransportRolling(true)
            let summary = try await recording.summary
            await io.close()
            #expect(summary.ending == .reachedEnd)
            #expect(summary.firstFrame == from)
            #expect(summary.framesWritten == frames)
            #expect(try SoxInfo(url.path).samples == frames, "sox sees exactly the frames asked for")
            let samples = try readAll(url).samples[0]
            #expect(silentFramesCheckingRamp(samples, from: from) == summary.droppedFrames, "every gap is a reported loss")
            print("10 s take: \(frames) frames from \(from), \(summary.droppedFrames) lost, offset 0")
        }

        @Test func aStalledWriterFillsItsGapsWithExactlyTheLostFrames() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("stalled-writer")
            let url = directory.appendingPathComponent("gaps.wav")
            let recording = try await io.record(to: url, encoding: .float, from: 0, until: 96_000, bufferingChunks: 4)
            recording.stallWriterForTesting(microseconds: 30_000)   // slower than a 5.3 ms period
            try io.setTransportRolling(true)
            try await Task.sleep(nanoseconds: 600_000_000)
            recording.stallWriterForTesting(microseconds: 0)
            let summary = try await recording.summary
            await io.close()
            #expect(summary.ending == .reachedEnd)
            #expect(summary.framesWritten == 96_000)
            #expect(summary.droppedFrames > 10_000, "the stall lost frames")
            let samples = try readAll(url).samples[0]
            #expect(samples.count == 96_000)
            #expect(silentFramesCheckingRamp(samples) == summary.droppedFrames)
        }

        @Test func closingTheInterfaceFinalisesTheFile() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("closing-take")
            let url = directory.appendingPathComponent("open-ended.flac")
            let recording = try await io.record(to: url, encoding: .pcm24)
            try io.setTransportRolling(true)
            #expect(await eventually { recording.framesWritten > 20_000 })
            await io.close()
            let summary = try await recording.summary
            #expect(summary.ending == .interfaceClosed)
            #expect(summary.firstFrame != nil)
            #expect(try SoxInfo(url.path).samples == summary.framesWritten)
            #expect(await recording.stop() == summary, "stop after the end returns the same summary")
        }

        @Test func stopFinalisesTheFile() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("stopped-take", channels: 2)
            let url = directory.appendingPathComponent("stopped.aiff")
            let recording = try await io.record(to: url, encoding: .pcm16, channels: [1])
            try io.setTransportRolling(true)
            #expect(await eventually { recording.framesWritten > 10_000 })
            let summary = await recording.stop()
            #expect(summary.ending == .stopped)
            let info = try SoxInfo(url.path)
            #expect(info.samples == summary.framesWritten && info.channels == 1)
            await io.close()
        }

        /// A slow disk and a stop mid-take: every chunk queued for the
        /// writer, and the input of the last round trip, still reach the file.
        @Test func aStopWithASlowDiskKeepsEverythingCapturedUpToTheStopFrame() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("slow-stop")
            let url = directory.appendingPathComponent("slow.wav")
            let recording = try await io.record(to: url, encoding: .float, from: 0)
            recording.stallWriterForTesting(microseconds: 12_000)   // slower than the 5.3 ms period
            try io.setTransportRolling(true)
            try await io.waitUntilPosition(reaches: 96_000)
            let before = io.position
            let writtenAtStop = recording.framesWritten
            let summary = await recording.stop()
            let after = io.position
            await io.close()
            #expect(summary.ending == .stopped)
            #expect(writtenAtStop < 60_000, "the writer was behind when stopped: \(writtenAtStop)")
            // The file ends at the stop frame: it lies between the positions read around stop().
            let end = Int64(summary.framesWritten + summary.unwrittenFrames)
            #expect(end >= before && end <= after, "take ends at \(end), stopped between \(before) and \(after)")
            #expect(summary.unwrittenFrames == 0, "the input up to the stop frame all arrived")
            let samples = try readAll(url).samples[0]
            #expect(samples.count == summary.framesWritten)
            #expect(silentFramesCheckingRamp(samples) == summary.droppedFrames,
                    "frames in the file + frames reported lost = the frames up to the stop")
            print("slow disk: \(writtenAtStop) frames written when stopped, \(summary.framesWritten) in the file, "
                  + "\(summary.droppedFrames) lost, stop frame \(end)")
        }

        /// A stop right after a seek back (a loop's jump): the stop is a
        /// point in time, so the input of the pass before the jump, still
        /// queued or on its way, is the take's too.
        @Test func aStopRightAfterASeekBackKeepsThePassBeforeIt() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("seek-stop")
            let url = directory.appendingPathComponent("seek.wav")
            let recording = try await io.record(to: url, encoding: .float, from: 0)
            recording.stallWriterForTesting(microseconds: 12_000)   // behind by the time of the jump
            try io.setTransportRolling(true)
            try await io.waitUntilPosition(reaches: 96_000)
            try io.setPosition(0)
            #expect(await eventually { io.position < 48_000 }, "the seek took effect")
            try await io.waitUntilPosition(reaches: 2048)
            let summary = await recording.stop()
            await io.close()
            #expect(summary.ending == .stopped)
            let samples = try readAll(url).samples[0]
            // The first pass, whole: file frame i holds timeline frame i (+ 1), up to the jump.
            let firstPass = samples.prefix(96_000).enumerated().filter { $0.element == Float($0.offset + 1) }.count
            #expect(firstPass + summary.droppedFrames >= 96_000, "\(firstPass) frames of the first pass in the file")
            #expect(samples.count == summary.framesWritten && summary.framesWritten > 96_000, "\(summary)")
            #expect(summary.unwrittenFrames == 0)
        }

        /// Input that does not arrive within the stop's patience (the bridge
        /// stalled) is counted, not silently missing.
        @Test func inputThatNeverArrivesIsCountedAsUnwritten() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("unwritten")
            let url = directory.appendingPathComponent("unwritten.wav")
            let recording = try await io.record(to: url, encoding: .float, from: 0)
            try io.setTransportRolling(true)
            try await io.waitUntilPosition(reaches: 48_000)
            io.stallBridgeForTesting(microseconds: 3_000_000)   // nothing reaches the writer for 3 s
            try await Task.sleep(nanoseconds: 50_000_000)
            let stoppedNear = io.position
            let summary = await recording.stop()
            io.stallBridgeForTesting(microseconds: 0)
            await io.close()
            #expect(summary.ending == .stopped)
            #expect(summary.unwrittenFrames > 0, "\(summary)")
            let end = Int64(summary.framesWritten + summary.unwrittenFrames)
            #expect(abs(end - stoppedNear) < 4096, "the take accounts for every frame up to the stop: \(end) vs \(stoppedNear)")
        }

        @Test func aFullDiskEndsTheTakeWithAValidFile() async throws {
            let mountPoint = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: mountPoint) }
            try #require(try run("mount", ["-t", "tmpfs", "-o", "size=128k", "tmpfs", mountPoint.path]).status == 0,
                         "the disk-full test mounts a 128 KiB tmpfs (needs root)")
            defer { _ = try? run("umount", [mountPoint.path]) }
            let io = try await rampInterface("full-disk")
            let url = mountPoint.appendingPathComponent("too-long.wav")
            let recording = try await io.record(to: url, encoding: .float)
            try io.setTransportRolling(true)
            let summary = try await recording.summary
            await io.close()
            guard case let .writeFailed(error) = summary.ending, case .fileError(_, .writeFailed, _) = error else {
                Issue.record("ended with \(summary.ending)")
                return
            }
            let info = try SoxInfo(url.path)
            #expect(info.samples > 10_000 && info.samples == summary.framesWritten, "sox reads what fitted: \(info.samples)")
            let samples = try readAll(url).samples[0]
            #expect(samples.count == info.samples)
        }

        @Test func playAndRecordReturnsWhatWasPlayed() async throws {
            let io = try await openLoopback(try JackServer.suite, channels: 2, name: "playrec")
            var rng = SeededGenerator(seed: 3)
            // No sample of the clip is 0, so a 0 in the recording is a lost frame.
            let clip = try AudioClip(channels: (0..<2).map { _ in
                (0..<30_000).map { _ in Float.random(in: 0.01...1, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) }
            }, sampleRate: io.sampleRate)
            let (recorded, summary) = try await io.playAndRecordTake(clip)
            await io.close()
            #expect(recorded.frameCount == clip.frameCount)
            for channel in 0..<2 {
                let got = recorded.samples(channel: channel), want = clip.samples(channel: channel)
                let mismatches = zip(got, want).filter { $0 != $1 && $0 != 0 }.count
                #expect(mismatches == 0, "channel \(channel): recorded audio differs from the clip")
                let zeroed = got.filter { $0 == 0 }.count
                #expect(zeroed == summary.droppedFrames, "channel \(channel): \(zeroed) frames silent, \(summary.droppedFrames) reported lost")
            }
        }

        @Test func cancellingAWaitForTheSummaryLeavesTheRecordingRunning() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let io = try await rampInterface("summary-wait")
            let recording = try await io.record(to: directory.appendingPathComponent("endless.wav"), encoding: .float)
            try io.setTransportRolling(true)
            #expect(try await recording.summary(timeout: .milliseconds(100)) == nil, "no until: it has not ended")
            let waiter = Task { try await recording.summary }
            try await Task.sleep(for: .milliseconds(50))
            let cancelled = ContinuousClock.now
            waiter.cancel()
            await #expect(throws: AMIOError.cancelled) { try await waiter.value }
            #expect(ContinuousClock.now - cancelled < PlayspecChangeTests.prompt)
            let written = recording.framesWritten
            #expect(await eventually { recording.framesWritten > written + 4800 }, "the take goes on")
            #expect(!recording.isFinished)
            let summary = await recording.stop()
            #expect(summary.ending == .stopped)
            #expect(try await recording.summary(timeout: .zero) == summary)
            #expect(try await recording.summary == summary)
            await io.close()
        }

        @Test func cancellingPlayAndRecordEndsTheTakeAndStopsTheTransport() async throws {
            let io = try await openLoopback(try JackServer.suite, channels: 1, name: "playrec-cancel")
            let minute = try AudioClip(channels: [[Float](repeating: 0.5, count: 60 * io.sampleRate)], sampleRate: io.sampleRate)
            let take = Task { try await io.playAndRecord(minute) }
            #expect(await eventually { io.isTransportRolling && io.position > 4800 })
            let playing = io.currentPlayspecID
            let cancelled = ContinuousClock.now
            take.cancel()
            await #expect(throws: AMIOError.cancelled) { try await take.value }
            #expect(ContinuousClock.now - cancelled < PlayspecChangeTests.prompt, "a minute-long take ends when its task is cancelled")
            #expect(await eventually { !io.isTransportRolling }, "the transport is stopped again")
            #expect(await eventually { io.currentPlayspecID != playing }, "the clip's playspec is cleared")
            await io.close()
        }

        @Test func badRecordingArgumentsAreTypedErrors() async throws {
            let io = try await AudioInterface(clientName: "bad-record", serverName: try JackServer.suite.name,
                                              connectPhysicalPorts: false)
            let url = URL(fileURLWithPath: "/tmp/amio-never.wav")
            await #expect(throws: AMIOError.self) { _ = try await io.record(to: url, channels: [5]) }
            await #expect(throws: AMIOError.self) { _ = try await io.record(to: url, from: 100, until: 50) }
            await #expect(throws: AMIOError.self) {
                _ = try await io.record(to: URL(fileURLWithPath: "/nonexistent/x.wav"))
            }
            await io.close()
            await #expect(throws: AMIOError.closed) { _ = try await io.record(to: url) }
        }
    }

    @Suite struct RecordingServerLoss {
        @Test func theServerGoingAwayFinalisesTheFile() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let server = try JackServer()
            defer { server.stop() }
            let io = try await AudioInterface(clientName: "orphan", serverName: server.name, inputChannels: 1,
                                              outputChannels: 1, connectPhysicalPorts: false)
            let url = directory.appendingPathComponent("orphan.wav")
            let recording = try await io.record(to: url, encoding: .pcm24)
            try io.setTransportRolling(true)
            #expect(await eventually { recording.framesWritten > 5000 })
            server.stop()
            let summary = try await recording.summary
            guard case .serverShutdown = summary.ending else {
                Issue.record("ended with \(summary.ending)")
                return
            }
            #expect(try SoxInfo(url.path).samples == summary.framesWritten)
            await io.close()
        }
    }
}
