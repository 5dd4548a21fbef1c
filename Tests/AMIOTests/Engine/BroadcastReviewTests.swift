@testable import AMIO
import CAMIO
import Foundation
import Synchronization
import Testing

/// Review of the ConsumerQueue / chunk reuse / BridgeThread changes.
@Suite struct BroadcastReviewTests {
    // MARK: Suspected semantic change: cancellation ignored while the buffer is never empty

    /// With the AsyncStream it replaced, every `next()` ran inside
    /// `withTaskCancellationHandler`: the first `next()` of a cancelled task
    /// terminated the stream (no element taken after it), so the consumer
    /// got at most what was buffered, then nil, and left. Here, a consumer
    /// whose buffer is never empty takes the fast path every time, never
    /// sees its cancellation, and never leaves.
    @Test func aCancelledConsumerThatNeverCatchesUpStillEnds() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 4)
        let received = try await Task { () async throws -> Int in
            var iterator = sequence.makeAsyncIterator()
            broadcaster.broadcast(0)
            withUnsafeCurrentTask { $0?.cancel() }
            var received = 0
            while received < 1000 {
                broadcaster.broadcast(received + 1)  // the producer stays one ahead, as with a slow consumer
                guard try await iterator.next() != nil else { break }
                received += 1
            }
            return received
        }.value
        #expect(received <= 5, "a cancelled consumer gets at most what was buffered (AsyncStream: 2)")
        #expect(broadcaster.subscriberCount == 0, "and leaves")
    }

    // MARK: Suspected: two copies awaiting at once lose a continuation silently

    actor Holder {
        var iterator: BroadcastSequence<Int>.Iterator?
        func subscribe(_ sequence: BroadcastSequence<Int>) { iterator = sequence.makeAsyncIterator() }
        /// A copy of the actor's iterator, awaited: legal, safe code.
        func take() async -> Int? {
            guard var copy = iterator else { return nil }
            return try? await copy.next(isolation: self)
        }
    }

    /// Two tasks on one actor each await a copy of the same iterator (no
    /// Sendable violation: the copies never leave the actor). AsyncStream
    /// traps ("attempt to await next() on more than one task"); the queue
    /// overwrites its stored waiter, and the first task is never resumed,
    /// even after finish.
    @Test func twoCopiesAwaitingAtOnceAreBothResumedByFinish() async throws {
        let broadcaster = Broadcaster<Int>()
        let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 4)
        let holder = Holder()
        await holder.subscribe(sequence)
        let done = IntBox()
        for _ in 0..<2 {
            Task { _ = await holder.take(); done.atomic.add(1, ordering: .relaxed) }
        }
        try await Task.sleep(for: .milliseconds(300))  // both suspended in next()
        broadcaster.broadcast(1)
        broadcaster.finish()
        #expect(await eventually(within: 3) { done.atomic.load(ordering: .relaxed) == 2 },
                "every awaiting next() is resumed (or the misuse traps); none hangs forever")
    }

    // MARK: Races that should be fine: cancellation / lease deinit vs push / finish

    /// Cancellation, pushes from a producer thread, finish, and a loop that
    /// breaks (the lease's deinit) all race; every consumer must end exactly
    /// once (a double resume traps, a lost one hangs this test).
    @Test func cancellationLeaseAndFinishRacingPushEndEveryConsumer() async throws {
        for round in 0..<3000 {
            let broadcaster = Broadcaster<Int>()
            let sequence = BroadcastSequence(broadcaster: broadcaster, bufferLimit: 2)
            let breaksEarly = round % 3 == 0
            let consumer = Task { () async throws -> Int in
                var iterator = sequence.makeAsyncIterator()
                var count = 0
                while try await iterator.next() != nil {
                    count += 1
                    if breaksEarly { break }
                }
                return count
            }
            let producer = Thread {
                for element in 0..<(round % 7) { broadcaster.broadcast(element) }
                if round % 2 == 0 { broadcaster.finish(throwing: round % 4 == 0 ? .serverShutdown(reason: "x") : nil) }
            }
            producer.start()
            if round % 5 != 0 { consumer.cancel() }
            if round % 2 != 0, round % 5 == 0 {
                // neither cancelled nor finished by the producer: finish here
                try await Task.sleep(for: .microseconds(50))
                broadcaster.finish()
            }
            _ = try? await consumer.value
            #expect(await eventually(within: 5) { broadcaster.subscriberCount == 0 })
        }
    }

    // MARK: Chunk storage reuse with consumers on another thread

    /// Chunks go to a consumer thread that holds a few for a while, checks
    /// that they never changed and are what was captured, and lets them go
    /// there (the last release races the renderer's uniqueness check).
    @Test func reusedChunkStorageNeverChangesUnderAConsumerOnAnotherThread() throws {
        let renderer = try OfflineRenderer(inputChannels: 2, outputChannels: 1)
        let queue = Mutex<[InputAudioChunk]>([])
        let finished = BoolBox()
        let problems = IntBox()
        let checked = IntBox()
        let consumerDone = DispatchSemaphore(value: 0)
        let consumer = Thread {
            var held: [(InputAudioChunk, [Float])] = []
            while true {
                let batch = queue.withLock { q in defer { q = [] }; return q }
                if batch.isEmpty {
                    if finished.atomic.load(ordering: .acquiring) && queue.withLock({ $0.isEmpty }) { break }
                    sched_yield()
                }
                for chunk in batch {
                    let frames = chunk.frameCount
                    let s = chunk.samples
                    if s[0] != 0 || s[frames] != 0 {
                        for k in 0..<frames where s[k] != s[0] + Float(2 * k) || s[frames + k] != s[k] + 1 {
                            problems.atomic.add(1, ordering: .relaxed); break
                        }
                    }
                    held.append((chunk, Array(s)))
                }
                // hold up to 20 chunks (more than the pool of 16), let the oldest go here
                while held.count > 20 {
                    let (chunk, copy) = held.removeFirst()
                    if chunk.samples != copy { problems.atomic.add(1, ordering: .relaxed) }
                    checked.atomic.add(1, ordering: .relaxed)
                }
            }
            for (chunk, copy) in held where chunk.samples != copy { problems.atomic.add(1, ordering: .relaxed) }
            consumerDone.signal()
        }
        consumer.start()
        let frames = 64
        for cycle in 0..<20_000 {
            let input = (0..<2).map { channel in
                (0..<frames).map { Float(((cycle * frames + $0) % 4_000_000) * 2 + channel) }
            }
            _ = try renderer.render(frames: frames, input: input)
            let chunks = renderer.takeInputChunks()
            queue.withLock { $0.append(contentsOf: chunks) }
        }
        finished.atomic.store(true, ordering: .releasing)
        consumerDone.wait()
        #expect(checked.atomic.load(ordering: .relaxed) > 10_000)
        #expect(problems.atomic.load(ordering: .relaxed) == 0)
    }

    // MARK: BridgeThread: jobs enqueued on the bridge thread itself

    /// A task preferring the bridge yields (its job is enqueued from the
    /// bridge thread: no wake) and is resumed from `work()` (also on the
    /// bridge thread): nothing is stranded, and no wake is spent on it.
    @Test func jobsEnqueuedOnTheBridgeItselfAreRunWithoutAWake() async throws {
        let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
        let pending = Slot()
        let core = renderer.core
        let bridge = BridgeThread(core: renderer.core, name: "review-bridge") {
            pending.mutex.withLock { c in defer { c = nil }; return c }?.resume()
        }
        defer { bridge.stop() }
        let yields = await Task(executorPreference: bridge) { () async -> Int in
            var n = 0
            for _ in 0..<20_000 { await Task.yield(); n += 1 }
            return n
        }.value
        #expect(yields == 20_000)
        let wakesBefore = bridge.wakes
        #expect(wakesBefore < 100, "a yield on the bridge does not wake it (\(wakesBefore) wakes)")

        // Resumed from work(): the job is enqueued on the bridge thread during the drain.
        for round in 0..<200 {
            let resumed = BoolBox()
            let task = Task(executorPreference: bridge) {
                await withCheckedContinuation { c in
                    pending.mutex.withLock { $0 = c }
                    camio_engine_wake(core.engine)
                }
                resumed.atomic.store(true, ordering: .relaxed)
            }
            #expect(await eventually(within: 5) { resumed.atomic.load(ordering: .relaxed) }, "round \(round)")
            await task.value
        }
    }

    /// Two tasks yielding on the bridge take turns with each other and with
    /// the drains: both make progress, and the job queue stays small. (Each
    /// queues its next job before the other's is taken, so the queue is never
    /// empty; it once kept every job it had run, 14 MB a second.)
    @Test func twoTasksYieldingOnTheBridgeKeepItsQueueSmall() async throws {
        let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
        let bridge = BridgeThread(core: renderer.core, name: "review-bridge") {}
        defer { bridge.stop() }
        let stop = BoolBox()
        let tasks = (0..<2).map { _ in
            Task(executorPreference: bridge) { () async -> Int in
                var yields = 0
                while !stop.atomic.load(ordering: .relaxed) {
                    await Task.yield()
                    yields += 1
                }
                return yields
            }
        }
        var largest = 0
        for _ in 0..<50 {
            try await Task.sleep(nanoseconds: 10_000_000)
            largest = max(largest, bridge.queuedJobStorage)
        }
        stop.atomic.store(true, ordering: .relaxed)
        var yields: [Int] = []
        for task in tasks { yields.append(await task.value) }
        #expect(yields.allSatisfy { $0 > 1000 }, "both tasks ran: \(yields) yields")
        #expect(largest < 1000, "the queue held \(largest) jobs")
    }

    /// stop() while jobs keep coming from another thread and from the bridge
    /// itself: every job runs (on the bridge or, after it exits, elsewhere).
    ///
    /// Once the bridge has exited, the rest of the yields run on the global
    /// executor, which a full run's parallel suites can keep from running
    /// anything for over a minute (they block its threads waiting for child
    /// processes): no deadline of wall time here, only the test's time limit.
    /// A stranded job never finishes, and fails the test at that limit.
    @Test(.timeLimit(.minutes(10)))
    func stoppingWhileJobsArriveStrandsNone() async throws {
        for _ in 0..<50 {
            let renderer = try OfflineRenderer(inputChannels: 1, outputChannels: 1)
            let bridge = BridgeThread(core: renderer.core, name: "review-bridge") {}
            let finished = IntBox()
            var tasks: [Task<Void, Never>] = []
            for _ in 0..<8 {
                tasks.append(Task(executorPreference: bridge) {
                    for _ in 0..<200 { await Task.yield() }
                    finished.atomic.add(1, ordering: .relaxed)
                })
            }
            let stopper = Thread { bridge.stop() }
            stopper.start()
            while finished.atomic.load(ordering: .relaxed) < 8 { try await Task.sleep(nanoseconds: 1_000_000) }
            for task in tasks { await task.value }
            bridge.stop()
        }
    }
}

final class IntBox: Sendable { let atomic = Atomic<Int>(0) }
final class BoolBox: Sendable { let atomic = Atomic<Bool>(false) }
final class Slot: Sendable { let mutex = Mutex<CheckedContinuation<Void, Never>?>(nil) }
