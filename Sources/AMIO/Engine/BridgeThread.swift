import CAMIO
import Foundation
import Synchronization

/// The one non-realtime thread that the realtime thread wakes. It sleeps on the
/// engine's semaphore (it never polls), and each time it wakes it runs `work`,
/// which drains everything the realtime thread and JACK's callbacks left.
final class BridgeThread: Sendable {
    private final class Flags: Sendable {
        let stopRequested = Atomic<Bool>(false)
        /// Test hook: while set, the bridge sleeps this long before draining,
        /// as a stalled system would, so the engine's own overflow accounting
        /// can be exercised.
        let stallMicroseconds = Atomic<Int>(0)
        /// How many times the thread has woken and drained.
        let wakes = Atomic<Int>(0)
    }

    private let core: EngineCore
    private let flags = Flags()
    private let exited = DispatchSemaphore(value: 0)

    init(core: EngineCore, name: String, work: @escaping @Sendable () -> Void) {
        self.core = core
        let thread = Thread { [core, flags, exited] in
            while true {
                camio_engine_wait(core.engine)
                let stall = flags.stallMicroseconds.load(ordering: .relaxed)
                if stall > 0 { usleep(UInt32(clamping: stall)) }
                flags.wakes.add(1, ordering: .relaxed)
                work()
                if flags.stopRequested.load(ordering: .acquiring) { break }
            }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Wakes the thread for a last drain and waits until it has exited.
    func stop() {
        guard !flags.stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        camio_engine_wake(core.engine)
        exited.wait()
    }

    /// Test hook; see `Flags.stallMicroseconds`.
    func stall(microseconds: Int) { flags.stallMicroseconds.store(microseconds, ordering: .relaxed) }

    /// How many times the thread has woken and drained so far.
    var wakes: Int { flags.wakes.load(ordering: .relaxed) }
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
