import AMIO
import Testing

@Suite struct SmokeTests {
    @Test func opensPlaysAndCaptures() async throws {
        try await JackServer.with { server in
            let io = try await AudioInterface(clientName: "smoke", serverName: server.name, connectPhysicalPorts: false)
            #expect(io.sampleRate == 48000)
            #expect(io.periodFrames == 256)
            for (o, i) in zip(io.outputPortNames, io.inputPortNames) { try io.connect(o, to: i) }
            #expect(io.latency.roundTrip == 256)
            let clip = try AudioClip(channels: [[1, 0.5, 0.25]], sampleRate: 48000)
            let change = try io.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 1000, gains: [1, 1])], insertAt: 0, startFrom: 0)
            try io.setTransportRolling(true)
            #expect(await change.result == .applied(atFrame: 0))
            var found: Int64? = nil
            for try await chunk in io.inputChunks {
                if chunk.startingFrame > 3000 { break }
                for (i, v) in chunk.samples(channel: 0).enumerated() where v == 1 { found = chunk.startingFrame + Int64(i) }
            }
            #expect(found == 1000)
            await io.close()
        }
    }
}
