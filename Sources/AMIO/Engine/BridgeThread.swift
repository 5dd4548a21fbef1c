import CAMIO
import Foundation
import Synchronization

/// The one non-realtime thread that the realtime thread wakes. It sleeps on the
/// engine's semaphore (it never polls), and each time it wakes it runs `work`,
/// which drains everything the realtime thread and JACK's callbacks left.
///
/// It is also a task executor (``AudioInterface/inputExecutor``): a task that
/// prefers it runs its jobs here, after each drain (a job queued by one of
/// them runs after the next drain, which then follows without a wake). A
/// consumer of the input chunks that runs here is resumed by the very wake
/// that delivered the chunk, with no second thread to wake.
final class BridgeThread: TaskExecutor, Sendable {
    private final class Flags: Sendable {
        let stopRequested = Atomic<Bool>(false)
        /// Test hook: while set, the bridge sleeps this long before draining,
        /// as a stalled system would, so the engine's own overflow accounting
        /// can be exercised.
        let stallMicroseconds = Atomic<Int>(0)
        /// How many times the thread has woken (a pass that runs jobs left
        /// from the last one waits for nothing and is not counted).
        let wakes = Atomic<Int>(0)
        /// The thread's pthread_self, once it runs.
        let threadID = Atomic<UInt>(0)
    }

    /// Jobs of tasks that prefer this executor, and whether the thread still
    /// takes them (once it has exited they go to the global executor).
    private final class Jobs: Sendable {
        /// The jobs, `next` the first not yet taken.
        let queue = Mutex<(jobs: [UnownedJob], next: Int, open: Bool)>(([], 0, true))
        /// How many wait in `queue`: a wake with none takes no lock for them.
        let waiting = Atomic<Int>(0)
    }

    private let core: EngineCore
    private let flags = Flags()
    private let jobs = Jobs()
    private let exited = DispatchSemaphore(value: 0)

    init(core: EngineCore, name: String, work: @escaping @Sendable () -> Void) {
        self.core = core
        // The thread holds the executor it is until it exits (at stop).
        let thread = Thread { [self, core, flags, jobs, exited] in
            let executor = self.asUnownedTaskExecutor()
            flags.threadID.store(UInt(pthread_self()), ordering: .releasing)
            while true {
                // Jobs left from the last pass (queued by the jobs it ran)
                // run after another drain, without waiting for a wake.
                if jobs.waiting.load(ordering: .acquiring) == 0 {
                    camio_engine_wait(core.engine)
                    flags.wakes.add(1, ordering: .relaxed)
                }
                let stall = flags.stallMicroseconds.load(ordering: .relaxed)
                if stall > 0 { usleep(UInt32(clamping: stall)) }
                work()
                Self.runJobs(jobs, on: executor)
                if flags.stopRequested.load(ordering: .acquiring) { break }
            }
            // Jobs that come from now on, or came too late, run elsewhere.
            let left = jobs.queue.withLock { queue in
                defer { queue = ([], 0, false) }
                return queue.jobs[queue.next...]
            }
            for job in left { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Runs the jobs queued so far. Those they queue in turn wait for the
    /// next pass, after the next drain: a task that keeps yielding (a loop
    /// on `Task.yield()`) would otherwise keep the thread here, and no input
    /// would be drained or delivered while it ran.
    private static func runJobs(_ jobs: Jobs, on executor: UnownedTaskExecutor) {
        // One at a time, oldest first, the array keeping its storage: a
        // batch taken out whole would leave an empty array behind, and the
        // next job would allocate a new one, every period.
        var count = jobs.waiting.load(ordering: .acquiring)
        while count > 0 {
            count -= 1
            let job = jobs.queue.withLock { queue -> UnownedJob? in
                guard queue.next < queue.jobs.count else { return nil }
                defer {
                    queue.next += 1
                    if queue.next == queue.jobs.count {
                        queue.jobs.removeAll(keepingCapacity: true)
                        queue.next = 0
                    } else if queue.next >= 64, queue.next * 2 >= queue.jobs.count {
                        // Two tasks that keep yielding each queue their next
                        // job before the other's is taken: the queue is never
                        // empty, and would keep every job it ever ran. The
                        // taken half goes, in place.
                        queue.jobs.removeSubrange(..<queue.next)
                        queue.next = 0
                    }
                }
                return queue.jobs[queue.next]
            }
            guard let job else { break }  // not reached: a counted job is always queued
            jobs.waiting.subtract(1, ordering: .releasing)
            job.runSynchronously(on: executor)
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = jobs.queue.withLock { queue in
            guard queue.open else { return false }
            queue.jobs.append(job)
            return true
        }
        guard queued else { return globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
        jobs.waiting.add(1, ordering: .releasing)
        // A job queued on the thread itself (a consumer resumed by the drain
        // it runs) is run after the drain anyway; a wake would only make it
        // drain once more for nothing.
        if pthread_equal(pthread_self(), pthread_t(flags.threadID.load(ordering: .relaxed))) == 0 {
            camio_engine_wake(core.engine)
        }
    }

    /// Wakes the thread for a last drain and waits until it has exited.
    func stop() {
        guard !flags.stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        camio_engine_wake(core.engine)
        exited.wait()
    }

    /// Test hook; see `Flags.stallMicroseconds`.
    func stall(microseconds: Int) { flags.stallMicroseconds.store(microseconds, ordering: .relaxed) }

    /// How many times the thread has woken so far (see `Flags.wakes`).
    var wakes: Int { flags.wakes.load(ordering: .relaxed) }
    /// Jobs the queue holds, taken or not (for the tests: it stays small).
    var queuedJobStorage: Int { jobs.queue.withLock { $0.jobs.count } }
    /// The thread's pthread_self (0 until it runs).
    var threadID: UInt { flags.threadID.load(ordering: .acquiring) }
}

/// Runs `work`, which blocks (JACK calls that wait on the server, joining a
/// thread), on a new thread, so that no thread of the Swift concurrency pool
/// (as few as there are cores) is held while it waits.
func onOwnThread<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.name = name
        thread.start()
    }
}

extension String {
    /// Decodes a NUL-terminated C buffer as UTF-8.
    init(cBuffer buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
