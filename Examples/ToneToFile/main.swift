// ToneToFile: write a tone to a WAV file (the `wave` module recipe).
//   ToneToFile OUT.wav [seconds] [frequency]
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("ToneToFile", usage: "ToneToFile OUT.wav [seconds] [frequency]")
let arguments = commandLine.arguments
guard let path = arguments.first else { commandLine.usageError() }
// The file's type is its name's: an extension that names none is a usage error, not a WAV by guess.
let output = URL(fileURLWithPath: path)
// 16 bits, dithered, where the container holds them; else what it is made
// for (Vorbis in .ogg, Opus in .opus, MP3 in .mp3).
guard let encoding = AudioFileEncoding.default(forFileNamed: output, preferring: .pcm16) else {
    commandLine.usageError("'\(path)' names no file type: end it in .wav, .flac, .ogg, .opus, .mp3, .aiff, .caf …")
}
let seconds = commandLine.number(1, "seconds", default: 1, in: 0.001...3600)
let frequency = commandLine.number(2, "frequency", default: 440, in: 1...20000)
let rate = 48000
let frames = Int(seconds * Double(rate))
let samples = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do throws(AMIOError) {
    let clip = try AudioClip(channels: [samples, samples], sampleRate: rate)
    try clip.write(to: output, encoding: encoding, dither: true)
    print("wrote \(frames) frames of \(frequency) Hz to \(path) (\(encoding == .pcm16 ? "16-bit, dithered" : "\(encoding)"))")
} catch {
    commandLine.fail(error)
}
