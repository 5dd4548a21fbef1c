import AMIO
import Foundation

let tone = (0..<48_000).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / 48_000)) }
let clip = try AudioClip(channels: [tone, tone], sampleRate: 48_000)
try clip.write(to: URL(fileURLWithPath: "tone.flac"), encoding: .pcm24)
try clip.write(to: URL(fileURLWithPath: "tone.wav"), encoding: .pcm16, dither: true)
