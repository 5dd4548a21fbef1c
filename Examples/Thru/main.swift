// Thru: play back what is captured, live (the duplex callback recipe).
// Each captured chunk becomes a clip scheduled a few periods later on the
// timeline, so the inputs come out of the outputs with a fixed, known delay.
//   Thru [seconds]
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("Thru", usage: "Thru [seconds]")
let arguments = commandLine.arguments
let seconds = commandLine.number(0, "seconds", default: 10, in: 0.001...86400)
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do {
    let io = try await AudioInterface(clientName: "thru", inputChannels: 2, outputChannels: 2)
    // A latency and periods are frame counts; on the timeline they are a distance.
    let delay = FramePosition(io.latency.roundTrip + 4 * io.periodFrames)
    try io.setTransportRolling(true)
    print("thru: inputs to outputs, \(delay) frames (\(String(format: "%.1f", 1000 * Double(delay) / Double(io.sampleRate))) ms) late")
    let forwarding = Task {
        var recent: [PlayspecEntry] = []
        for try await chunk in io.inputChunks where chunk.wasTransportRolling {
            let clip = try AudioClip(channels: (0..<chunk.channelCount).map { Array(chunk.samples(channel: $0)) },
                                     sampleRate: io.sampleRate)
            recent.append(PlayspecEntry(clip: clip, playAt: chunk.startingFrame + delay, gains: [1, 1]))
            // Keep what has not finished playing yet.
            recent.removeAll { $0.playAt + FramePosition($0.clip.frameCount) < io.position }
            try io.setPlayspec(Playspec(recent))
        }
    }
    try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    forwarding.cancel()
    print("forwarded \(io.position) frames, \(io.droppedInputFrames) lost, \(io.xrunCount) xruns")
    await io.close()
} catch {
    commandLine.fail(error)
}
