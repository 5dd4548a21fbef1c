// ToneToFile: write a tone to a WAV file (the `wave` module recipe).
//   ToneToFile OUT.wav [seconds] [frequency]
import AMIO
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first else {
    try? FileHandle.standardError.write(contentsOf: Data("usage: ToneToFile OUT.wav [seconds] [frequency]\n".utf8))
    exit(64)
}
let seconds = arguments.dropFirst().first.flatMap(Double.init) ?? 1
let frequency = arguments.dropFirst(2).first.flatMap(Double.init) ?? 440
let rate = 48000
let frames = Int(seconds * Double(rate))
let samples = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do throws(AMIOError) {
    let clip = try AudioClip(channels: [samples, samples], sampleRate: rate)
    try clip.write(to: URL(fileURLWithPath: path), encoding: .pcm16, dither: true)
    print("wrote \(frames) frames of \(frequency) Hz to \(path) (16-bit, dithered)")
} catch {
    try? FileHandle.standardError.write(contentsOf: Data("ToneToFile: \(error)\n".utf8))
    exit(error.exitStatus)
}
