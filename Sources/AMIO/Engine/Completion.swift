import Synchronization

/// A value that is set once and can be awaited by any number of tasks.
///
/// A waiter that is cancelled, or whose timeout passes, stops waiting and
/// leaves: the value is set all the same when it comes, for every other
/// waiter. Waiting never changes what the value will be.
final class Completion<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        /// The waiters still suspended, by the number ``wait()`` gave them;
        /// each is resumed exactly once: with the value, or with nil when it
        /// was cancelled first.
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex<State>(State())

    /// Suspends until the value is set, whatever happens to the task: for
    /// waits that must see the value (a writer thread's summary, which
    /// always comes).
    var value: Value {
        get async {
            // Resumed only with the value: nothing removes this waiter.
            await suspend(leavingOnCancellation: false)!
        }
    }

    /// Suspends until the value is set or the task is cancelled.
    ///
    /// - Returns: The value; nil when the task was (or is) cancelled before
    ///   it was set.
    func wait() async -> Value? {
        await suspend(leavingOnCancellation: true)
    }

    private func suspend(leavingOnCancellation: Bool) async -> Value? {
        let id: UInt64 = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        func waitForValue() async -> Value? {
            await withCheckedContinuation { continuation in
                let known: Value?? = state.withLock { state in
                    if let value = state.value { return .some(value) }
                    // Cancelled before it could register: the cancellation
                    // handler has run already and found no waiter to resume.
                    if leavingOnCancellation && Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let known { continuation.resume(returning: known) }
            }
        }
        guard leavingOnCancellation else { return await waitForValue() }
        return await withTaskCancellationHandler {
            await waitForValue()
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    /// Suspends until the value is set, the task is cancelled or `timeout`
    /// has passed, whichever comes first.
    ///
    /// - Parameter timeout: How long to wait at most; zero or less reads the
    ///   value without waiting.
    /// - Returns: The value; nil when it was not set in time or the task was
    ///   cancelled (``Task/isCancelled`` tells which).
    func wait(timeout: Duration) async -> Value? {
        if let value = current { return value }
        guard timeout > .zero else { return nil }
        let waited = await withTaskGroup(of: Value?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // The first to finish ends the other: the sleep, cancelled,
            // returns at once, and so does the wait.
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        // Set while the timeout ended the wait: the value is there to return.
        return waited ?? current
    }

    /// The value if it is set.
    var current: Value? { state.withLock { $0.value } }

    /// Sets the value once; later calls are ignored. Returns whether this call set it.
    @discardableResult
    func resolve(_ value: Value) -> Bool {
        let waiters: [CheckedContinuation<Value?, Never>]? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }
}
