import CAMIO
import Foundation
import Synchronization

/// How far a clip whose samples are still being written (a file decoded and
/// converted while it already plays) has come; shared by the thread that
/// writes it, the mixer (through `camio_clip_progress`) and readers that wait.
///
/// Frames below ``readyFrames`` are final. The writer publishes them in
/// order with a release store, the mixer reads only them, and Swift readers
/// of the samples wait for ``finish(_:)``.
final class ClipProgress: @unchecked Sendable {
    let pointer: OpaquePointer
    private let state = Mutex<State>(State())
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var result: Result<Void, AMIOError>?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    init() throws(AMIOError) {
        guard let pointer = camio_clip_progress_create() else { throw .outOfMemory }
        self.pointer = pointer
    }

    deinit { camio_clip_progress_destroy(pointer) }

    /// Frames of every channel written and published.
    var readyFrames: Int { Int(camio_clip_progress_ready(pointer)) }

    /// Frames the mixer wanted before they were ready (played as silence).
    var starvedFrames: Int { Int(clamping: camio_clip_progress_starved(pointer)) }

    /// Publishes frames `0..<frames`: every sample below it is written.
    func publish(_ frames: Int) { camio_clip_progress_publish(pointer, Int64(frames)) }

    /// The outcome, once the writer is done: nil while it writes.
    var result: Result<Void, AMIOError>? { state.withLock { $0.result } }

    /// Whether the writer is done and every sample written.
    var succeeded: Bool {
        guard case .success? = result else { return false }
        return true
    }

    /// Ends the writing (the first call counts): every sample not written is zero.
    func finish(_ result: Result<Void, AMIOError>) {
        let waiters: [CheckedContinuation<Void, Never>]? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        guard let waiters else { return }
        finished.signal()
        for waiter in waiters { waiter.resume() }
    }

    /// Blocks the calling thread until the writer is done. The writer runs
    /// on threads of its own, never on Swift's cooperative pool, so waiting
    /// there cannot starve it.
    func wait() {
        guard result == nil else { return }
        finished.wait()
        finished.signal()
    }

    /// Suspends until the writer is done, or the task is cancelled.
    ///
    /// - Returns: The writer's outcome; nil when the task was cancelled first.
    func done() async -> Result<Void, AMIOError>? {
        let id: UInt64 = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.result != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        return result
    }
}
