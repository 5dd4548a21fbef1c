// DAWLoop, Manokee style: a metronome clip repeating every beat, a loop region
// whose next jump is scheduled from each change's result, and a live gain
// change that supersedes the pending jump (and reschedules it).
//   DAWLoop [seconds]
import AMIO
import Foundation

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 6
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do {
    let io = try await AudioInterface(clientName: "daw-loop", inputChannels: 0, outputChannels: 2)
    let rate = io.sampleRate
    let beat = try io.frames(forSeconds: 0.5)           // 120 bpm
    let bar = 4 * beat
    func burst(frames: Int, frequency: Double, decay: Double) -> [Float] {
        (0..<frames).map { n -> Float in
            let t = Double(n) / Double(rate)
            return Float(0.8 * sin(2 * Double.pi * frequency * t) * exp(-Double(n) / decay))
        }
    }
    let click = try AudioClip(channels: [burst(frames: 480, frequency: 1200, decay: 60)], sampleRate: rate)
    let accent = try AudioClip(channels: [burst(frames: 960, frequency: 1760, decay: 200)], sampleRate: rate)

    func session(gain: Float) -> Playspec {
        [PlayspecEntry(clip: click, playAt: 0, repeatInterval: beat, gains: [gain, gain]),
         PlayspecEntry(clip: accent, playAt: 0, repeatInterval: bar, gains: [gain, gain * 0.7])]
    }

    let loopStart = 2 * beat, loopEnd = bar            // loop the second half of bar 1
    let start = try io.schedulePlayspecChange(session(gain: 1), insertAt: 0, startFrom: 0)
    try io.setTransportRolling(true)
    print("start: \(try await start.result)")

    let looping = Task {
        var gain: Float = 1
        var passes = 0
        while !Task.isCancelled {
            // Schedule the jump back; when it applies, schedule the next one.
            let jump = try io.schedulePlayspecChange(session(gain: gain), insertAt: loopEnd, startFrom: loopStart)
            if passes == 1 {
                // A live edit: a quieter metronome from now on. It supersedes the
                // pending jump, so the jump is scheduled again with the new gain.
                gain = 0.5
                let edit = try io.schedulePlayspecChange(session(gain: gain), insertAt: io.position + 256,
                                                         startFrom: io.position + 256, supersedingPending: true)
                print("gain change: \(try await edit.result); the pending jump: \(try await jump.result)")
                passes += 1
                continue
            }
            let result = try await jump.result
            print("loop jump \(passes): \(result) -> timeline continues at \(loopStart)")
            guard case .applied = result else { return }
            passes += 1
        }
    }
    try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    looping.cancel()
    print("position \(io.position), xruns \(io.xrunCount)")
    await io.close()
} catch {
    try? FileHandle.standardError.write(contentsOf: Data("DAWLoop: \(error)\n".utf8))
    exit((error as? AMIOError)?.exitStatus ?? 70)
}
