// AMIODemo: plays a scheduled, looping playspec through JACK with the
// interface's outputs looped back to its own inputs, captures the inputs, and
// checks every captured frame against an offline render of the same playspec.
//
//   AMIODemo [--server NAME] [--clips N] [--seconds S] [--server-pid PID] [--loop-through self|CLIENT]
//
// The loop is the interface's own out_i -> in_i cable on jackd (one period
// late). PipeWire's JACK carries nothing on such a cable, so there the loop
// goes through a sink whose monitor ports give back what it played:
// out_i -> CLIENT:playback_X, CLIENT:monitor_X -> in_i. By default the demo
// does that when the graph has a "system" client with monitor ports (the
// headless PipeWire of `scripts/demo.sh --pipewire`), else it loops itself.

import AMIO
import Foundation

struct Options {
    var server: String?
    var clips = 8
    var seconds = 4.0
    /// The server's process, for its CPU use.
    var serverPID: Int32?
    /// nil: choose; "self": the interface's own cables; else a sink client's name.
    var loopThrough: String?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() throws -> String {
                guard let value = iterator.next() else { throw DemoError.usage("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--server": server = try value()
            case "--clips": clips = try Int(value()).flatMap { $0 > 0 ? $0 : nil } ?? { throw DemoError.usage("--clips takes a positive number") }()
            case "--seconds":
                seconds = try Double(value()).flatMap { (0...86400).contains($0) && $0 > 0 ? $0 : nil }
                    ?? { throw DemoError.usage("--seconds takes a number of seconds above 0, up to 86400") }()
            case "--server-pid", "--jackd-pid":
                // A pid that names no process is said, not taken for "none given" (then a jackd found by name was measured instead).
                let text = try value()
                guard let pid = Int32(text), pid > 0, FileManager.default.fileExists(atPath: "/proc/\(pid)/stat") else {
                    throw DemoError.usage("\(argument) \(text) is no running process's pid")
                }
                serverPID = pid
            case "--loop-through": loopThrough = try value()
            case "-h", "--help": throw DemoError.usage("")
            default: throw DemoError.usage("unknown argument \(argument)")
            }
        }
    }
}

enum DemoError: Error, CustomStringConvertible {
    case usage(String)
    /// The demo ran and its check failed: no usage error.
    case checkFailed(String)
    var description: String {
        switch self {
        case let .checkFailed(message): message
        case let .usage(message):
            (message.isEmpty ? "" : message + "\n")
                + "usage: AMIODemo [--server NAME] [--clips N] [--seconds S] [--server-pid PID] [--loop-through self|CLIENT]"
        }
    }
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
func cpuSeconds(pid: Int32?) -> Double? {
    let path = pid.map { "/proc/\($0)/stat" } ?? "/proc/self/stat"
    guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command name: state is field 3, utime field 14, stime field 15.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The jackd serving `server` (the default server when nil), found by
/// reading each process's command line: jackd names its server with `-n`
/// or `--name`, else it is "default". Nil unless exactly one matches.
func findJackd(serving server: String?) -> Int32? {
    let wanted = server ?? ProcessInfo.processInfo.environment["JACK_DEFAULT_SERVER"] ?? "default"
    let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    let matches = processes.compactMap(Int32.init).filter { pid in
        guard processName(pid: pid) == "jackd",
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        var name = "default"
        for (index, word) in words.enumerated() {
            if (word == "-n" || word == "--name"), index + 1 < words.count { name = words[index + 1] }
            else if word.hasPrefix("--name=") { name = String(word.dropFirst(7)) }
            else if word.hasPrefix("-n"), word.count > 2 { name = String(word.dropFirst(2)) }
            // The driver's own options follow -d; the server's come before.
            if word == "-d" { break }
        }
        return name == wanted
    }
    return matches.count == 1 ? matches[0] : nil
}

/// The name of a process, from /proc/PID/comm.
func processName(pid: Int32) -> String? {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}

func makeClips(count: Int, sampleRate: Int) throws -> [AudioClip] {
    // Short stereo tone bursts with a decay, each at its own pitch.
    try (0..<count).map { index in
        let frames = 2400
        let frequency = 220.0 * pow(2.0, Double(index % 24) / 12.0)
        let left = (0..<frames).map { n -> Float in
            let t = Double(n) / Double(sampleRate)
            return Float(sin(2 * .pi * frequency * t) * exp(-t * 40))
        }
        let right = left.enumerated().map { $0.element * (0.5 + 0.5 * Float($0.offset % 2)) }
        return try AudioClip(channels: [left, right], sampleRate: sampleRate)
    }
}

func run() async throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let io = try await AudioInterface(clientName: "amio-demo", serverName: options.server, inputChannels: 2,
                                      outputChannels: 2, connectPhysicalPorts: false)
    let route: LoopbackRoute = switch options.loopThrough {
    case nil: .automatic
    case "self": .ownCables
    case let client?: .sink(client)
    }
    let cables = try io.connectLoopback(route)
    let rate = io.sampleRate
    print("SwiftAMIO demo: JACK server '\(options.server ?? "default")', \(rate) Hz, period \(io.periodFrames) frames")
    print("loop: \(cables.map(\.description).joined(separator: ", "))")
    print("latency: \(io.latency)")

    let beat = try io.frames(forSeconds: 0.5)   // 120 bpm
    let clips = try makeClips(count: options.clips, sampleRate: rate)
    let click = try AudioClip(channels: [[1], [1]], sampleRate: rate)
    var playspec = Playspec(clips.enumerated().map { index, clip in
        PlayspecEntry(clip: clip, playAt: FramePosition(index * 97) % beat, repeatInterval: beat,
                      gains: [0.5 / Float(options.clips), 0.5 / Float(options.clips)])
    })
    playspec.append(PlayspecEntry(clip: click, playAt: 0, repeatInterval: beat, gains: [1, 0]))
    print("playspec: \(options.clips) looping stereo clips and a click on out_1, every \(beat) frames")

    // Everything captured, by timeline frame, to compare with an offline render.
    let loopStart = 2 * beat, loopEnd = 6 * beat
    let capture = Task {
        var heard: [FramePosition: (Float, Float)] = [:]
        var chunks = 0, frames = 0, lost = 0
        for try await chunk in io.inputChunks where chunk.wasTransportRolling {
            chunks += 1
            frames += chunk.frameCount
            lost += chunk.droppedFramesBefore
            let left = chunk.samples(channel: 0), right = chunk.samples(channel: 1)
            for i in 0..<chunk.frameCount {
                heard[chunk.startingFrame + FramePosition(i)] = (left[left.startIndex + i], right[right.startIndex + i])
            }
        }
        return (heard, chunks, frames, lost)
    }

    let start = try io.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
    try io.setTransportRolling(true)
    // The server's CPU is measured only for a process known to be it: given, or found by its name.
    let serverPID = options.serverPID ?? findJackd(serving: options.server)
    let serverSource = options.serverPID != nil ? "from --server-pid" : "found by its server name"
    let cpuBefore = cpuSeconds(pid: nil), serverBefore = serverPID.flatMap { cpuSeconds(pid: $0) }
    let wallBefore = Date()
    print("change \(start.id): \(try await start.result) — the playspec starts")

    // A DAW-style loop: each time the timeline reaches loopEnd it jumps to
    // loopStart; the next jump is scheduled when the previous one applied.
    // The loop's own copies: a build with ThreadSanitizer otherwise reports
    // the playspec, used below as well, as sent into the task.
    let looper = Task { [io, playspec] in
        while !Task.isCancelled {
            let jump = try io.schedulePlayspecChange(playspec, insertAt: loopEnd, startFrom: loopStart)
            let result = try await jump.result
            print("change \(jump.id): \(result) — loop back to \(loopStart)")
            guard case .applied = result else { return }
        }
    }
    try await Task.sleep(nanoseconds: UInt64(options.seconds * 1e9))
    looper.cancel()
    let wall = Date().timeIntervalSince(wallBefore)
    let cpu = cpuSeconds(pid: nil).flatMap { after in cpuBefore.map { after - $0 } }
    let serverCPU = serverPID.flatMap { cpuSeconds(pid: $0) }.flatMap { after in serverBefore.map { after - $0 } }
    let serverProcess = serverPID.map { "\(processName(pid: $0) ?? "server") (pid \($0), \(serverSource))" }
    let xruns = io.xrunCount
    await io.close()
    _ = await looper.result
    let (heard, chunks, frames, lost) = try await capture.value

    // The same playspec rendered offline: every captured frame must equal it.
    let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: 2)
    try renderer.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
    try renderer.setTransportRolling(true)
    let reference = try renderer.render(periods: Array(repeating: 4096, count: Int(loopEnd) / 4096 + 2))
    var exact = 0, compared = 0, clicks: Set<FramePosition> = []
    for (frame, (left, right)) in heard where frame >= 0 && frame < FramePosition(reference[0].count) {
        compared += 1
        if left == reference[0][Int(frame)] && right == reference[1][Int(frame)] { exact += 1 }
        if frame % beat == 0 && left > 0.99 { clicks.insert(frame) }
    }
    print("captured: \(chunks) chunks, \(frames) frames, \(lost) frames lost, \(xruns) xruns")
    print("frame accuracy: \(exact) of \(compared) captured timeline frames equal the offline render exactly")
    print("clicks heard at timeline frames \(clicks.sorted()) (one every \(beat) frames, offset 0)")
    if let cpu {
        print(String(format: "CPU: demo process %.1f%% of one core over %.1f s with %d clips", 100 * cpu / wall, wall, options.clips)
            + (serverCPU.map { "; \(serverProcess ?? "server") " + String(format: "%.1f%%", 100 * $0 / wall) }
                ?? (options.serverPID != nil ? "; the server's CPU not measured (pid \(options.serverPID!) ended meanwhile)"
                    : "; the server's CPU not measured (no jackd found by its name: pass --server-pid)")))
    }
    if exact != compared { throw DemoError.checkFailed("captured audio differs from the render: \(compared - exact) of \(compared) frames") }
}

// Errors end the program as a command-line tool ends: one line, a sysexits status.
do {
    try await run()
} catch {
    try? FileHandle.standardError.write(contentsOf: Data("AMIODemo: \(error)\n".utf8))
    switch error {
    case DemoError.usage: exit(64)
    case DemoError.checkFailed: exit(70)
    default: exit((error as? AMIOError)?.exitStatus ?? 70)
    }
}
