import AMIO

// Open a JACK client: 2 inputs, 2 outputs, connected to the physical ports.
let io = try await AudioInterface(clientName: "amio", serverName: nil,
                                  inputChannels: 2, outputChannels: 2, connectPhysicalPorts: true)

// Clips are immutable Float32, shared with the realtime thread without copying.
let click = try AudioClip(channels: [[1, 0.5, 0.25]], sampleRate: io.sampleRate)
let beat = try io.frames(forSeconds: 0.5)           // timeline frames: FramePosition

// A playspec: the click on every beat, left louder than right.
let playspec: Playspec = [
    PlayspecEntry(clip: click, frames: 0..<3, playAt: 0, repeatInterval: beat, gains: [1, 0.3]),
]

// Swap it in at timeline frame 0, start the transport, and await the swap.
let change = try io.schedulePlayspecChange(playspec, insertAt: 0, startFrom: 0)
try io.setTransportRolling(true)
print(try await change.result)                    // applied(atFrame: 0)

// A loop: when the timeline reaches bar 2, jump back to bar 1 — on the exact sample.
try io.schedulePlayspecChange(playspec, insertAt: 8 * beat, startFrom: 4 * beat)

// Captured input, labelled with the timeline frame it lines up with
// (compensated by the round-trip latency, also across jumps and swaps).
// The loop runs as long as the input does; this one stops after 5 seconds.
var captured = 0
for try await chunk in io.inputChunks {
    print(chunk.startingFrame, chunk.frameCount, chunk.playspecID, chunk.droppedFramesBefore)
    captured += chunk.frameCount
    if captured >= 5 * io.sampleRate { break }
}

// State is readable from any thread without await.
print(io.position, io.isTransportRolling, io.latency, io.xrunCount)
await io.close()
