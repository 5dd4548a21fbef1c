@testable import AMIO
import Testing

/// The sequences ``AudioInterface/inputChunks`` and ``AudioInterface/events``
/// are: typed failures, and how a consumer's loop ends.
@Suite struct BroadcastTests {
    /// Every element of `sequence`, iterated as user code does, in a function
    /// that throws only AMIOError: it compiles only because the sequence's
    /// Failure is AMIOError.
    static func collect(_ sequence: BroadcastSequence<Int>, into elements: inout [Int]) async throws(AMIOError) {
        for try await element in sequence { elements.append(element) }
    }

    @Test func theFailureIsAMIOError() {
        #expect(BroadcastSequence<InputAudioChunk>.Failure.self == AMIOError.self)
        #expect(BroadcastSequence<AudioInterfaceEvent>.AsyncIterator.Failure.self == AMIOError.self)
    }

    @Test func aLoopGetsTheElementsThenTheErrorTypedAndOnce() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        var iterator = sequence.makeAsyncIterator()
        for element in 1...3 { broadcaster.broadcast(element) }
        broadcaster.finish(throwing: .serverShutdown(reason: "killed"))
        var elements: [Int] = []
        do throws(AMIOError) {
            while let element = try await iterator.next() { elements.append(element) }
            Issue.record("the loop ended without the error")
        } catch {
            #expect(error == .serverShutdown(reason: "killed"), "caught as AMIOError, no cast")
        }
        #expect(elements == [1, 2, 3], "the elements before the error all come first")
        #expect(try await iterator.next() == nil, "after the error the iterator ends")

        // A consumer that starts after the end gets the error at once.
        var late: [Int] = []
        await #expect(throws: AMIOError.serverShutdown(reason: "killed")) {
            try await Self.collect(sequence, into: &late)
        }
        #expect(late.isEmpty)
    }

    @Test func closingEndsTheLoopWithoutAnError() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        let consumer = Task { () throws(AMIOError) -> [Int] in
            var elements: [Int] = []
            try await Self.collect(sequence, into: &elements)
            return elements
        }
        #expect(await eventually { broadcaster.subscriberCount == 1 })
        broadcaster.broadcast(7)
        broadcaster.finish()
        #expect(try await consumer.value == [7])
    }

    @Test func cancellingAConsumerEndsItsLoopAndOnlyIts() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        let cancelled = Task { () throws(AMIOError) -> [Int] in
            var elements: [Int] = []
            try await Self.collect(sequence, into: &elements)
            return elements
        }
        var staying = sequence.makeAsyncIterator()
        #expect(await eventually { broadcaster.subscriberCount == 2 })
        broadcaster.broadcast(1)
        cancelled.cancel()
        #expect(try await cancelled.value.count <= 1, "a cancelled loop ends (next returns nil), without throwing")
        #expect(await eventually { broadcaster.subscriberCount == 1 }, "and the consumer leaves")
        broadcaster.broadcast(2)
        #expect(try await staying.next() == 1)
        #expect(try await staying.next() == 2)
    }
}
