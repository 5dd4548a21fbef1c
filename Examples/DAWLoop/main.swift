// DAWLoop, Manokee style: a metronome clip repeating every beat, a loop region
// whose next jump is scheduled from each change's result and crossfaded (no
// click where the loop's end meets its start), and a live gain change that
// ramps the metronome down while it plays, then reschedules the jump.
//   DAWLoop [seconds]
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("DAWLoop", usage: "DAWLoop [seconds]")
let arguments = commandLine.arguments
let seconds = commandLine.number(0, "seconds", default: 6, in: 0.001...86400)
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
    var click = try AudioClip(channels: [burst(frames: 480, frequency: 1200, decay: 60)], sampleRate: rate)
    click.name = "click"
    var accent = try AudioClip(channels: [burst(frames: 960, frequency: 1760, decay: 200)], sampleRate: rate)
    accent.name = "accent"
    // A pad under it all, so that the loop jump has something to click on.
    let pad = try AudioClip(channels: [burst(frames: Int(2 * bar), frequency: 220, decay: .infinity).map { $0 * 0.3 }],
                            sampleRate: rate)

    // The arrangement, as a DAW keeps it: every change is made from it.
    var arrangement: Playspec = [
        PlayspecEntry(clip: click, playAt: 0, repeatInterval: beat, gains: [1, 1]),
        PlayspecEntry(clip: accent, playAt: 0, repeatInterval: bar, gains: [1, 0.7]),
        PlayspecEntry(clip: pad, playAt: 0, gains: [1, 1], fadeIn: 480, fadeOut: 480),
    ]
    let loopStart = 2 * beat + beat / 3, loopEnd = bar + beat / 3   // mid-note: a cut would click
    let jumpFade = try Crossfade(frames: Int(io.frames(forSeconds: 0.005)))  // 5 ms, equal power

    let start = try io.schedulePlayspecChange(arrangement, insertAt: 0, startFrom: 0)
    try io.setTransportRolling(true)
    print("start: \(try await start.result)")

    let looping = Task {
        var passes = 0
        while !Task.isCancelled {
            // Schedule the jump back; when it applies, schedule the next one.
            let jump = try io.schedulePlayspecChange(arrangement, insertAt: loopEnd, startFrom: loopStart,
                                                     crossfade: jumpFade)
            if passes == 1 {
                // A live edit: the metronome's click down to half, ramped over
                // 10 ms. It supersedes the pending jump, which is then
                // scheduled again from the updated arrangement.
                let edit = try io.setGains([0.5, 0.5], forEntriesMatching: { $0.clip.name == "click" },
                                           in: &arrangement, supersedingPending: true)
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
    commandLine.fail(error)
}
