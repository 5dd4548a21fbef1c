import AMIO
import Foundation

let io = try await AudioInterface(clientName: "measure", inputChannels: 2, outputChannels: 2)
let stimulusURL = URL(fileURLWithPath: "take.flac"), responseURL = URL(fileURLWithPath: "response.wav")
let stimulus = try await AudioClip(contentsOf: stimulusURL, resamplingTo: io.sampleRate)

let response = try await io.playAndRecord(stimulus)                 // an AudioClip
let take = try await io.playAndRecord(file: stimulusURL, to: responseURL)   // recorded straight into responseURL
print(response.frameCount, take.framesWritten, take.droppedFrames)
await io.close()
