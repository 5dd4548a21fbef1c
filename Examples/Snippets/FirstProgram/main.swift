import AMIO
import Foundation

let io = try await AudioInterface(clientName: "hello", inputChannels: 2, outputChannels: 2)
let rate = io.sampleRate
let tone = try AudioClip(channels: [(0..<rate).map { Float(0.2 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }],
                         sampleRate: rate)
let change = try io.schedulePlayspecChange([PlayspecEntry(clip: tone, playAt: 0, gains: [1, 1])],
                                           insertAt: 0, startFrom: 0)
try io.setTransportRolling(true)
print(try await change.result)         // applied(atFrame: 0)
try await io.waitUntilPosition(reaches: io.frames(forSeconds: 1))   // one second on the audio clock
await io.close()
