import AMIO
import Foundation

let url = URL(fileURLWithPath: "take.flac")
let clip = try await AudioClip(contentsOf: url) { fraction in print(fraction) }
let at48k = try await AudioClip(contentsOf: url, resamplingTo: 48_000, quality: .best)
print(clip.frameCount, clip.sampleRate, at48k.frameCount, at48k.sampleRate)
