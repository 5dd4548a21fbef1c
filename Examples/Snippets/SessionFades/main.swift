import AMIO
import Foundation

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("song")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let pad = Session.Clip(name: "pad", file: folder.appendingPathComponent("audio/pad.wav"),
                       generator: Session.Generator(kind: "tone", seconds: 4, frequency: 220))
let swell = Session.Envelope([Session.Envelope.Point(at: .seconds(0), gain: 0),
                              Session.Envelope.Point(at: .seconds(2), gains: [1, 0.5])])
let session = try Session(
    url: folder.appendingPathComponent("pad.json"), sampleRate: 48000, loop: Session.Loop(crossfade: .frames(480)),
    clips: [pad],
    entries: [Session.Entry(clip: "pad", gains: [0.5, 0.5], fadeIn: .seconds(0.5), fadeOut: .frames(48000),
                            fadeShape: .equalPower, envelope: swell)])
let (playspec, _) = try await session.playspec(sampleRate: 44100)
print(playspec[0].fadeIn, playspec[0].fadeOut, playspec[0].envelope!.points[1].frame)   // 22050 44100 88200
