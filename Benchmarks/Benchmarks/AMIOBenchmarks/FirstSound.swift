// Time to first sound: how long after `amio play FILE` starts its first
// sample reaches a listener on the same private dummy jackd (48 kHz,
// 256-frame periods). The listener is a SwiftAMIO interface in this process
// whose inputs `amio play --to` connects to; the time runs from the spawn to
// the arrival of the first input chunk holding a sample that is not zero
// (so it includes up to a period of capture and the hand-over to Swift).
// Measured for a 10-minute 44.1 kHz stereo FLAC (converted to 48 kHz while
// it plays) and, as the floor, a 1-second 48 kHz WAV (nothing to convert):
// the start of the process, the client and its connections. Cold: amio runs
// with --no-cache, so every run converts (a cached take loads in ~0.2 s).

import AMIO
import Benchmark
import Foundation

/// The amio binary under test: scripts/benchmark.sh builds it (release) and names it here.
private func amioTool() throws -> URL {
    guard let path = ProcessInfo.processInfo.environment["AMIO_BENCHMARK_AMIO"], FileManager.default.isExecutableFile(atPath: path) else {
        throw IdleCostError(description: "AMIO_BENCHMARK_AMIO does not name the amio binary; scripts/benchmark.sh builds it "
            + "(swift build -c release --product amio) and sets it")
    }
    return URL(fileURLWithPath: path)
}

/// Seconds from spawning `amio play file` to the first sound heard.
private func secondsToFirstSound(of file: URL) async throws -> Double {
    let server = try PrivateJackServer(period: 256)
    defer { server.stop() }
    let listener = try await AudioInterface(clientName: "first-sound-listener", serverName: server.name, inputChannels: 2,
                                            outputChannels: 0, connectPhysicalPorts: false)
    let heard = Task { () -> Date? in
        for try await chunk in listener.inputChunks {
            for channel in 0..<chunk.channelCount where chunk.samples(channel: channel).contains(where: { $0 != 0 }) {
                return Date()
            }
        }
        return nil
    }
    let started = Date()
    let player = try ChildProcess(try amioTool(), ["play", "-q", "--no-cache", "--server", server.name, file.path, "--to"]
                                  + listener.inputPortNames, discardingOutput: true)
    defer { player.stop(with: SIGINT) }
    let deadline = Task {
        try await Task.sleep(for: .seconds(60))
        heard.cancel()
    }
    defer { deadline.cancel() }
    guard let first = try await heard.value else { throw IdleCostError(description: "amio play \(file.lastPathComponent) was never heard") }
    await listener.close()
    return first.timeIntervalSince(started)
}

func firstSoundBenchmarks() {
    let metric = BenchmarkMetric.custom("time to first sound (ms)", useScalingFactor: false)
    let cases: [(String, String, @Sendable () throws -> URL)] = [
        ("10 min 44.1 kHz stereo FLAC on a 48 kHz server", "flac", { Material.tenMinutesFLAC }),
        ("1 s 48 kHz stereo WAV on a 48 kHz server (the floor)", "wav", { Material.oneSecondWAV }),
    ]
    for (label, key, material) in cases {
        Benchmark("Time to first sound of amio play: \(label)",
                  configuration: .init(metrics: [metric], warmupIterations: 1, maxDuration: .seconds(90), maxIterations: 5)) { benchmark in
            let file = try material()
            let seconds = try await secondsToFirstSound(of: file)
            benchmark.measurement(metric, Int(seconds * 1000))
            Figures.record("firstsound.\(key)_ms", seconds * 1000)
        }
    }
}

extension Material {
    /// One second of 48 kHz stereo: a file with nothing to convert.
    static let oneSecondWAV: URL = {
        let url = directory.appendingPathComponent("one-second-48k.wav")
        run("sox", ["-n", "-r", "48000", "-c", "2", "-b", "24", url.path, "synth", "1", "sine", "440", "vol", "0.5"])
        return url
    }()
}
