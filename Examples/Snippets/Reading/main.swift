import AMIO
import Foundation

let url = URL(fileURLWithPath: "take.flac")
let file = try AudioFile(forReading: url)          // opens; nothing is loaded yet
print(file.format, file.encoding, file.channelCount, file.sampleRate)
print(file.frameCount ?? "length not announced")  // nil: a FLAC written to a pipe
try file.seek(to: 48_000)
let block = try file.read(maxFrames: 4096)          // [[Float]], one array per channel
print(block.count, block[0].count)
