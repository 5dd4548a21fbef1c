import AMIO
import Foundation
import Testing

@Suite struct AMIOErrorTests {
    static let everyCase: [AMIOError] = [
        .serverUnavailable(server: "studio", status: [.failure, .serverFailed], message: "no server"),
        .clientStartFailed(message: "cannot activate"),
        .closed,
        .serverShutdown(reason: "killed"),
        .invalidPlayspec(entry: 3, reason: "the crop 0..<0 is empty"),
        .invalidClip(reason: "no channels"),
        .invalidArgument(name: "periodFrames", reason: "JACK refused a period of 3 frames"),
        .changeQueueFull(capacity: 256),
        .connectionFailed(source: "amio:out_1", destination: "amio:in_1", code: -1),
        .outOfMemory,
        .fileError(path: "/tmp/take.wav", problem: .truncated, message: "ends early"),
        .resamplingFailed(message: "bad ratio"),
        .cancelled,
        .invalidSession(path: "s.json", location: "entries[3].gains", reason: "2 gains for 1 output"),
    ]

    @Test(arguments: everyCase)
    func localizedDescriptionIsTheDescription(_ error: AMIOError) {
        #expect(error.errorDescription == error.description)
        // What a caller holding `any Error` sees, e.g. in a generic catch.
        let erased: any Error = error
        #expect(erased.localizedDescription == error.description)
        #expect(!erased.localizedDescription.contains("AMIO.AMIOError error"))
    }

    @Test func theSentenceNamesTheValue() {
        let error: any Error = AMIOError.invalidPlayspec(entry: 3, reason: "the crop 0..<0 is empty")
        #expect(error.localizedDescription == "invalid playspec: entry 3: the crop 0..<0 is empty")
        #expect("\(error)" == error.localizedDescription)
    }
}
