// FileEffect: read a file, apply a 4 Hz tremolo, write it (the `wave` in/out recipe).
//   FileEffect IN OUT
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("FileEffect", usage: "FileEffect IN OUT")
let arguments = commandLine.arguments
guard arguments.count == 2 else { commandLine.usageError() }
// Errors end the program as a command-line tool ends: one line, a sysexits status.
// The output's type is its name's: an extension that names none is a usage error, not a guess.
let output = URL(fileURLWithPath: arguments[1])
// Float where the container holds it; else what the container is made for:
// 24 bits in FLAC, Opus in .opus, Vorbis in .ogg, MP3 in .mp3.
guard let format = AudioFileFormat(fileExtensionOf: output),
      let encoding = AudioFileEncoding.default(forFileNamed: output, preferring: .float) else {
    commandLine.usageError("'\(arguments[1])' names no file type: end it in .wav, .flac, .ogg, .opus, .mp3, .aiff, .caf …")
}
do throws(AMIOError) {
    let input = try AudioFile(forReading: URL(fileURLWithPath: arguments[0]))
    let writer = try AudioFileWriter(url: output, format: format, encoding: encoding,
                                     channelCount: input.channelCount, sampleRate: input.sampleRate)
    // Stream in blocks: the file never has to fit in memory.
    var frame = 0
    while true {
        var block = try input.read(maxFrames: 8192)
        guard let count = block.first?.count, count > 0 else { break }
        for i in 0..<count {
            let depth = 0.5 + 0.5 * sin(2 * Double.pi * 4 * Double(frame + i) / Double(input.sampleRate))
            for channel in block.indices { block[channel][i] *= Float(depth) }
        }
        try writer.write(planar: block)
        frame += count
    }
    try writer.close()
    print("applied a 4 Hz tremolo to \(frame) frames: \(arguments[0]) -> \(arguments[1])")
} catch {
    commandLine.fail(error)
}
