import AMIO
import Foundation

let io = try await AudioInterface(clientName: "recorder", inputChannels: 2, outputChannels: 0)
// Frames 96 000 to 96 000 + 2 × 48 000 of the timeline: two seconds from the second second on, at 48 kHz.
let recording = try await io.record(to: URL(fileURLWithPath: "take.wav"), encoding: .float,
                                    from: 96_000, until: 96_000 + 2 * 48_000)
try io.setTransportRolling(true)
let summary = try await recording.summary        // or: await recording.stop()
print(summary.firstFrame.map { "from frame \($0)" } ?? "nothing recorded", summary.framesWritten, summary.droppedFrames, summary.ending)
await io.close()
