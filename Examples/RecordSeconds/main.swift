// RecordSeconds: record 5 s from the inputs to a WAV file (the PyAudio recipe).
//   RecordSeconds OUT.wav [seconds]      (JACK_DEFAULT_SERVER picks the server)
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("RecordSeconds", usage: "RecordSeconds OUT.wav [seconds]")
let arguments = commandLine.arguments
guard let path = arguments.first else { commandLine.usageError() }
let seconds = commandLine.number(1, "seconds", default: 5, in: 0.001...86400)
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do throws(AMIOError) {
    let io = try await AudioInterface(clientName: "record-seconds", inputChannels: 2, outputChannels: 0)
    let frames = try io.frames(forSeconds: seconds)
    // File frame 0 is timeline frame 0: the frame the transport starts at.
    let recording = try await io.record(to: URL(fileURLWithPath: path), encoding: .pcm16, from: 0, until: frames)
    try io.setTransportRolling(true)
    let summary = try await recording.summary
    await io.close()
    print("recorded \(summary.framesWritten) frames (\(seconds) s) from \(io.inputPortNames.joined(separator: ", ")) to \(path), \(summary.droppedFrames) lost")
} catch {
    commandLine.fail(error)
}
