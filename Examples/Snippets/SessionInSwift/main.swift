import AMIO
import Foundation

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("song")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let session = try Session(
    url: folder.appendingPathComponent("song.json"), outputs: 2, sampleRate: 48000, length: .frames(96000),
    clips: [Session.Clip(name: "kick", file: folder.appendingPathComponent("audio/kick.wav"),
                         generator: Session.Generator(kind: "kick"))],
    entries: [Session.Entry(clip: "kick", start: .frames(0), repeatEvery: .frames(24000), gains: [0.9, 0.9])])
try session.write(to: session.url)
let again = try Session(contentsOf: session.url)
print(again == session)   // true

// The frames count at the session's 48 kHz: at 44.1 kHz the kick repeats every 22050 frames.
let (playspec, length) = try await session.playspec(sampleRate: 44100)
print(playspec[0].repeatInterval, length)   // 22050 88200
