// PlaySine: generate a 440 Hz tone and play it (the numpy → speaker recipe).
//   PlaySine [seconds] [frequency]      (JACK_DEFAULT_SERVER picks the server)
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("PlaySine", usage: "PlaySine [seconds] [frequency]")
let arguments = commandLine.arguments
guard arguments.count <= 2 else { commandLine.usageError() }
let seconds = commandLine.number(0, "seconds", default: 2, in: 0.001...86400)
let frequency = commandLine.number(1, "frequency", default: 440, in: 1...20000)

// Errors end the program as a command-line tool ends: one line, a sysexits status.
do throws(AMIOError) {
    let io = try await AudioInterface(clientName: "play-sine", inputChannels: 0, outputChannels: 2)
    let rate = io.sampleRate
    // One second of tone, repeated every second: a whole number of cycles, so the loop is seamless.
    let cycles = (frequency).rounded()
    let tone = try AudioClip(channels: [(0..<rate).map { Float(0.25 * sin(2 * Double.pi * cycles * Double($0) / Double(rate))) }],
                             sampleRate: rate)
    let change = try io.schedulePlayspecChange([PlayspecEntry(clip: tone, playAt: 0, repeatInterval: try io.frames(forSeconds: 1), gains: [1, 1])],
                                               insertAt: 0, startFrom: 0)
    try io.setTransportRolling(true)
    print("playing \(cycles) Hz at \(rate) Hz on \(io.outputPortNames.joined(separator: ", ")): \(try await change.result)")
    // Counted on the audio clock, not the wall clock: exactly `seconds` of tone.
    try await io.waitUntilPosition(reaches: io.frames(forSeconds: seconds))
    print("played \(io.position) frames (\(String(format: "%.2f", Double(io.position) / Double(rate))) s), xruns \(io.xrunCount)")
    await io.close()
} catch {
    commandLine.fail(error)
}
