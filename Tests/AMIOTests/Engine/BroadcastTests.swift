@testable import AMIO
import Foundation
import Synchronization
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

    @Test func aConsumerThatFallsBehindKeepsTheOldestAndLosesTheNewest() async throws {
        let broadcaster = Broadcaster<Int>()
        var iterator = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 5).makeAsyncIterator()
        for element in 0..<100 { broadcaster.broadcast(element) }
        for expected in 0..<5 { #expect(try await iterator.next() == expected) }
        broadcaster.broadcast(100)
        #expect(try await iterator.next() == 100, "once it has caught up, it gets what comes")
    }

    @Test func aLoopThatBreaksLeaves() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        for element in 1...3 { broadcaster.broadcast(element) }
        do {
            var iterator = sequence.makeAsyncIterator()
            broadcaster.broadcast(1)
            #expect(try await iterator.next() == 1)
            #expect(broadcaster.subscriberCount == 1)
        }
        #expect(broadcaster.subscriberCount == 0, "its iterator gone, the consumer is gone")
    }

    @Test func anAlreadyCancelledTaskGetsNilAtOnce() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            var iterator = sequence.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(try await task.value == nil)
        #expect(broadcaster.subscriberCount == 0)
    }

    /// A numbered element that says how many were lost just before it, as
    /// an input chunk does.
    struct Numbered: Sendable {
        var value: Int
        var lostBefore = 0
    }

    /// A producer thread and a waiting consumer race on every element: each
    /// is either handed straight to the suspended consumer or buffered, never
    /// both; and every one lost is counted in the next delivered
    /// (`value == previous + 1 + lostBefore`, the chunks' invariant).
    @Test(arguments: [1, 3, 1 << 20])
    func aProducerThreadAndAConsumerTaskRaceWithoutLosingCount(bufferLimit: Int) async throws {
        let total = 200_000
        let broadcaster = Broadcaster<Numbered>(account: { $0.lostBefore += $1 }, singleProducer: true)
        var iterator = BroadcastSequence(broadcaster: broadcaster, bufferLimit: bufferLimit).makeAsyncIterator()
        let producer = Thread {
            for value in 0..<total { broadcaster.broadcast(Numbered(value: value)) }
            broadcaster.finish()
        }
        producer.start()
        var previous = -1, received = 0, mismatches = 0
        while let element = try await iterator.next() {
            if element.value != previous + 1 + element.lostBefore { mismatches += 1 }
            previous = element.value
            received += 1
        }
        #expect(mismatches == 0, "each element follows the one before, after the ones counted lost")
        #expect(received > 0)
        if bufferLimit >= total { #expect(received == total, "with room for every element, none is lost") }
    }

    /// `for try await` passes its isolation: a consumer on an actor is resumed
    /// on it, without a hop through the global executor.
    @Test func aConsumerOnAnActorResumesOnIt() async throws {
        actor Consumer {
            func take(_ sequence: BroadcastSequence<Int>, count: Int) async throws -> [Int] {
                var elements: [Int] = []
                for try await element in sequence {
                    assertIsolated("resumed on the consumer's actor")
                    elements.append(element)
                    if elements.count == count { break }
                }
                return elements
            }
        }
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 16)
        let consumer = Consumer()
        let taken = Task { try await consumer.take(sequence, count: 3) }
        #expect(await eventually { broadcaster.subscriberCount == 1 })
        for element in 1...3 {
            broadcaster.broadcast(element)
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await taken.value == [1, 2, 3])
    }
}
