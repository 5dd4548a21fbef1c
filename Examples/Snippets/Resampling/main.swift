import AMIO
import Foundation

let clip = try await AudioClip(contentsOf: URL(fileURLWithPath: "take.flac"))
let converted = try clip.resampled(to: 48_000, quality: .best)
print(clip.sampleRate, clip.frameCount, "->", converted.sampleRate, converted.frameCount)
