import AMIO
import Foundation

let io = try await AudioInterface(clientName: "amio", serverName: nil,
                                  inputChannels: 0, outputChannels: 2, connectPhysicalPorts: true)

// Returns once the first second is converted to the server's rate.
let load = try await AudioClipLoad(contentsOf: URL(fileURLWithPath: "take.flac"), resamplingTo: io.sampleRate)
let clip = load.clip                                // its full length already
try io.setPlayspec([PlayspecEntry(clip: clip, frames: 0..<clip.frameCount, playAt: 0, gains: [1, 1])])
try io.setTransportRolling(true)
print("playing with \(load.readyFrames) of \(clip.frameCount) frames converted")

_ = try await load.complete()                       // every sample written
try await io.waitUntilPosition(reaches: FramePosition(clip.frameCount))
print("played \(clip.frameCount) frames; \(load.starvedFrames) came before they were ready")
await io.close()
