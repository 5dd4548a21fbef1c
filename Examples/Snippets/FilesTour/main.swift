import AMIO
import Foundation

let io = try await AudioInterface(clientName: "files", inputChannels: 2, outputChannels: 2)

// Any format libsndfile reads (WAV, RF64, AIFF, CAF, FLAC, Ogg Vorbis, Opus, MP3),
// loaded off the caller's thread and converted to the server's rate by libsoxr.
let take = try await AudioClip(contentsOf: URL(fileURLWithPath: "take.flac"), resamplingTo: io.sampleRate)

// Record the inputs for two seconds; file frame 0 is timeline frame 48 000 at
// 48 kHz (a punch-in one second in). Lost frames become silence of exactly
// their length, so the take stays aligned.
let second = try io.frames(forSeconds: 1)
let recording = try await io.record(to: URL(fileURLWithPath: "overdub.wav"), encoding: .pcm24,
                                    from: second, until: 3 * second)
try io.setTransportRolling(true)
let summary = try await recording.summary          // the take is complete
print(summary.framesWritten, summary.droppedFrames)

// Write with proper rounding, clipping and optional TPDF dither.
try take.write(to: URL(fileURLWithPath: "take-16.wav"), encoding: .pcm16, dither: true)

// Play a stimulus and record the response over the same span.
let response = try await io.playAndRecord(take)
print(response.frameCount)
await io.close()
