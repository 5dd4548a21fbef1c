// RecordSeconds: record 5 s from the inputs to a WAV file (the PyAudio recipe).
//   RecordSeconds OUT.wav [seconds]      (JACK_DEFAULT_SERVER picks the server)
import AMIO
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first else {
    try? FileHandle.standardError.write(contentsOf: Data("usage: RecordSeconds OUT.wav [seconds]\n".utf8))
    exit(64)
}
/// Argument `index` as a number in `range`, or `value` when it is not
/// given; anything else ends the program as a tool ends on bad usage.
func number(_ index: Int, _ name: String, default value: Double, in range: ClosedRange<Double>) -> Double {
    guard arguments.indices.contains(index) else { return value }
    guard let number = Double(arguments[index]), range.contains(number) else {
        try? FileHandle.standardError.write(contentsOf: Data(
            "RecordSeconds: \(name) is a number from \(range.lowerBound) to \(range.upperBound), not '\(arguments[index])'\nusage: RecordSeconds OUT.wav [seconds]\n".utf8))
        exit(64)
    }
    return number
}
let seconds = number(1, "seconds", default: 5, in: 0.001...86400)
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
    try? FileHandle.standardError.write(contentsOf: Data("RecordSeconds: \(error)\n".utf8))
    exit(error.exitStatus)
}
