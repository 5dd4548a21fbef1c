@testable import AMIO
import Testing

/// Waiting for a change's outcome: cancellation and timeouts end the wait,
/// never the change.
@Suite struct PlayspecChangeTests {
    /// How soon a cancelled wait must have ended: these waits would last
    /// forever otherwise, and a loaded machine (other suites keeping the
    /// concurrency pool's threads busy) may take a while to resume a task.
    static let prompt = Duration.seconds(10)

    /// A renderer with a change pending for frame 1000 and the transport
    /// stopped: nothing resolves it until the test renders.
    func pendingChange() throws -> (OfflineRenderer, PlayspecChange) {
        let renderer = try OfflineRenderer(outputChannels: 1)
        let clip = try rampClip(frames: 100, base: 1)
        let change = try renderer.schedulePlayspecChange([PlayspecEntry(clip: clip, playAt: 0, gains: [1])],
                                                         insertAt: 1000, startFrom: 0)
        return (renderer, change)
    }

    @Test func aCancelledWaiterThrowsPromptlyAndTheChangeStillApplies() async throws {
        let (renderer, change) = try pendingChange()
        let waiter = Task { try await change.result }
        try await Task.sleep(for: .milliseconds(20))   // let it suspend
        let cancelled = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: AMIOError.cancelled) { try await waiter.value }
        #expect(ContinuousClock.now - cancelled < Self.prompt, "the wait ends when the task is cancelled")
        #expect(change.currentResult == nil, "cancelling the waiter leaves the change pending")

        try renderer.setTransportRolling(true)
        let out = try renderer.render(frames: 1010)[0]
        #expect(change.currentResult == .applied(atFrame: 1000))
        #expect(out[1000] == 1, "the change took effect at its frame")
        #expect(try await change.result == .applied(atFrame: 1000), "a later wait sees the outcome")
    }

    @Test func aTaskCancelledBeforeItWaitsThrowsAtOnceUnlessTheOutcomeIsKnown() async throws {
        let (renderer, change) = try pendingChange()
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await change.result
        }
        await #expect(throws: AMIOError.cancelled) { try await early.value }

        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 1010)
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await change.result
        }
        #expect(try await late.value == .applied(atFrame: 1000), "a known outcome is returned, cancelled or not")
    }

    @Test func oneCancelledWaiterLeavesTheOthersWaiting() async throws {
        let (renderer, change) = try pendingChange()
        let cancelled = Task { try await change.result }
        let patient = Task { try await change.result }
        let timed = Task { try await change.result(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        await #expect(throws: AMIOError.cancelled) { try await cancelled.value }
        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 1010)
        #expect(try await patient.value == .applied(atFrame: 1000))
        #expect(try await timed.value == .applied(atFrame: 1000))
    }

    @Test func aTimeoutReturnsNilAndLeavesTheChangePending() async throws {
        let (renderer, change) = try pendingChange()
        let asked = ContinuousClock.now
        #expect(try await change.result(timeout: .milliseconds(50)) == nil)
        let waited = ContinuousClock.now - asked
        #expect(waited >= .milliseconds(50), "waited \(waited)")
        #expect(try await change.result(timeout: .zero) == nil, "zero reads without waiting")
        #expect(try await change.result(timeout: .seconds(-1)) == nil)

        try renderer.setTransportRolling(true)
        _ = try renderer.render(frames: 1010)
        #expect(try await change.result(timeout: .zero) == .applied(atFrame: 1000))
        #expect(try await change.result(timeout: .seconds(60)) == .applied(atFrame: 1000))
    }

    @Test func aCancelledTimedWaiterThrowsRatherThanReportingATimeout() async throws {
        let (_, change) = try pendingChange()
        let waiter = Task { try await change.result(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        let cancelled = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: AMIOError.cancelled) { try await waiter.value }
        #expect(ContinuousClock.now - cancelled < Self.prompt)
        #expect(change.currentResult == nil)
    }

    /// The wait is woken by the outcome, not by its timeout: it ends well
    /// before the timeout would have. The timeout is long (a loaded machine
    /// has taken 17 s to resume the waiter in a full parallel run), but the
    /// test still ends, failing, if only the timeout ends the wait.
    @Test func anOutcomeThatComesWhileWaitingWakesTheWaiter() async throws {
        let (renderer, change) = try pendingChange()
        let timeout = Duration.seconds(120)
        let waiter = Task { try await change.result(timeout: timeout) }
        try await Task.sleep(for: .milliseconds(20))
        try renderer.setTransportRolling(true)
        let resolved = ContinuousClock.now
        _ = try renderer.render(frames: 1010)
        #expect(try await waiter.value == .applied(atFrame: 1000))
        #expect(ContinuousClock.now - resolved < timeout / 2, "the timeout did not have to run out")
    }
}
