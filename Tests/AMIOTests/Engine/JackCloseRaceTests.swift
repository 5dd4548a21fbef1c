@testable import AMIO
import CAMIO
import Foundation
import Synchronization
import Testing

/// The calls that use the JACK client, each of which a thread repeats while
/// `close()` runs on another.
enum ClientCall: String, CaseIterable, Sendable {
    case connect, disconnect, ports, setPeriodFrames
}

/// What one thread saw while it made one kind of call over and over.
struct CallRecord: Sendable {
    var call: ClientCall
    var calls = 0
    /// Errors that are none of the ones the call may throw then, in words.
    var unexpected: [String] = []
    /// The error that ended the loop: ``AMIOError/closed`` or ``AMIOError/serverShutdown(reason:)``.
    var ended: AMIOError?
}

/// Counts the threads that have made their first call, so that `close()`
/// starts only once every kind of call is under way.
final class StartLine: Sendable {
    private let count = Atomic<Int>(0)
    func arrive() { count.add(1, ordering: .relaxed) }
    var arrived: Int { count.load(ordering: .relaxed) }
}

/// Tells threads of a test to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// Makes `call` again and again until the interface refuses it for good
/// (closed, or the server gone), on a thread of its own: the calls block on
/// the server, and the test's concurrency pool has as few threads as cores.
///
/// - Parameter tolerated: Errors the call may throw before it is refused for
///   good (a disconnect of a cable that is not there, a refused period, a
///   server that is going away).
func hammer(_ io: AudioInterface, _ call: ClientCall, startLine: StartLine,
            tolerated: @escaping @Sendable (AMIOError) -> Bool) async -> CallRecord {
    await onOwnThread("hammer-\(call)") {
        var record = CallRecord(call: call)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            defer {
                record.calls += 1
                if record.calls == 1 { startLine.arrive() }
            }
            do throws(AMIOError) {
                switch call {
                case .connect: try io.connect(io.outputPortNames[0], to: io.inputPortNames[0])
                case .disconnect: try io.disconnect(io.outputPortNames[0], from: io.inputPortNames[0])
                case .ports:
                    _ = try io.ports()
                    // The state readable without the client lock, read at the same time.
                    _ = (io.latency, io.periodFrames, io.sampleRate, io.xrunCount)
                case .setPeriodFrames: try io.setPeriodFrames(record.calls % 2 == 0 ? 512 : 256)
                }
            } catch {
                switch error {
                case .closed, .serverShutdown:
                    record.ended = error
                    return record
                default:
                    if !tolerated(error), record.unexpected.count < 5 { record.unexpected.append("\(error)") }
                }
            }
        }
        record.unexpected.append("\(call) was still accepted 15 s on")
        return record
    }
}

/// Runs one hammering thread per ``ClientCall`` on `io`, runs `interrupt`
/// once each has made a call, and returns what each thread saw.
func hammerEveryCall(_ io: AudioInterface, tolerated: @escaping @Sendable (AMIOError) -> Bool,
                     interrupt: @escaping @Sendable () async -> Void) async -> [CallRecord] {
    let startLine = StartLine()
    return await withTaskGroup(of: CallRecord?.self) { group in
        for call in ClientCall.allCases {
            group.addTask { await hammer(io, call, startLine: startLine, tolerated: tolerated) }
        }
        group.addTask {
            _ = await eventually { startLine.arrived == ClientCall.allCases.count }
            await interrupt()
            return nil
        }
        var records: [CallRecord] = []
        for await record in group { if let record { records.append(record) } }
        return records
    }
}

/// Errors a call may throw while the interface is open: a disconnect of a
/// cable the other thread has just removed, a period JACK (or PipeWire,
/// always) refuses.
@Sendable func toleratedWhileOpen(_ error: AMIOError) -> Bool {
    switch error {
    case .connectionFailed: true
    case let .invalidArgument(name, _): name == "periodFrames"
    default: false
    }
}

/// Every call that uses the client throws, and what it throws is `expected`.
func expectEveryCallRefused(_ io: AudioInterface, with expected: String, _ isExpected: (AMIOError) -> Bool,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    func check(_ name: String, _ body: () throws(AMIOError) -> Void) {
        do throws(AMIOError) {
            try body()
            Issue.record("\(name) was accepted after close", sourceLocation: sourceLocation)
        } catch {
            if !isExpected(error) { Issue.record("\(name) threw \(error), not \(expected)", sourceLocation: sourceLocation) }
        }
    }
    check("connect") { () throws(AMIOError) in try io.connect(io.outputPortNames[0], to: io.inputPortNames[0]) }
    check("disconnect") { () throws(AMIOError) in try io.disconnect(io.outputPortNames[0], from: io.inputPortNames[0]) }
    check("ports()") { () throws(AMIOError) in _ = try io.ports() }
    check("setPeriodFrames") { () throws(AMIOError) in try io.setPeriodFrames(512) }
    check("connectLoopback") { () throws(AMIOError) in _ = try io.connectLoopback() }
}

extension JackTests {
    /// `close()` against calls in flight on other threads and against itself.
    @Suite(.jackServer(period: 256))
    struct JackCloseRaces {
        @Test func callsInFlightWhileCloseRunsEndWithClosed() async throws {
            let server = try JackServer.suite
            // Twelve rounds, close() starting 0 to 6 ms after every call is under
            // way: a second or two in all.
            for round in 0..<12 {
                let io = try await AudioInterface(clientName: "race-\(round)", serverName: server.name,
                                                  connectPhysicalPorts: false)
                let records = await hammerEveryCall(io, tolerated: toleratedWhileOpen) {
                    try? await Task.sleep(nanoseconds: UInt64(round % 4) * 2_000_000)
                    await io.close()
                }
                for record in records {
                    #expect(record.unexpected.isEmpty, "round \(round), \(record.call): \(record.unexpected)")
                    #expect(record.ended == .closed, "round \(round), \(record.call) ended with \(String(describing: record.ended))")
                    #expect(record.calls >= 1)
                }
                expectEveryCallRefused(io, with: "closed") { $0 == .closed }
            }
            // The server serves a new client as before, and no closed one is left.
            let observer = try await AudioInterface(clientName: "race-observer", serverName: server.name,
                                                    connectPhysicalPorts: false)
            let leftovers = { (try? observer.ports())?.map(\.name).filter { $0.hasPrefix("race-") && !$0.hasPrefix("race-observer:") } }
            // PipeWire's libjack learns of ports that went away a little later.
            #expect(await eventually(within: 5) { leftovers() == [] }, "\(String(describing: leftovers()))")
            try observer.connect(observer.outputPortNames[0], to: observer.inputPortNames[0])
            await observer.close()
            if server.kind == .jackd { try server.setPeriod(256) }
        }

        @Test func concurrentClosesEachReturnOnceTheClientIsClosed() async throws {
            let server = try JackServer.suite
            let observer = try await AudioInterface(clientName: "close-observer", serverName: server.name,
                                                    inputChannels: 0, outputChannels: 0, connectPhysicalPorts: false)
            for round in 0..<8 {
                let io = try await AudioInterface(clientName: "closing-\(round)", serverName: server.name,
                                                  connectPhysicalPorts: false)
                #expect(await eventually { io.session.core.cycles > 2 })
                let prefix = io.clientName + ":"
                let problems = await withTaskGroup(of: [String].self) { group in
                    for closer in 0..<3 {
                        group.addTask {
                            await io.close()
                            // Closed means: no more process cycles, and (jackd,
                            // whose graph a client reads from shared memory at
                            // once) no port of the client left on the server.
                            var problems: [String] = []
                            if server.kind == .jackd, (try? observer.ports())?.contains(where: { $0.name.hasPrefix(prefix) }) != false {
                                problems.append("round \(round): close \(closer) returned while the client's ports were still on the server")
                            }
                            let cycles = io.session.core.cycles
                            try? await Task.sleep(nanoseconds: 30_000_000)
                            if io.session.core.cycles != cycles {
                                problems.append("round \(round): close \(closer) returned while the client was still processing")
                            }
                            return problems
                        }
                    }
                    var all: [String] = []
                    for await problems in group { all += problems }
                    return all
                }
                #expect(problems.isEmpty, "\(problems)")
                expectEveryCallRefused(io, with: "closed") { $0 == .closed }
            }
            await observer.close()
        }

        /// jack2's process thread, when its wait for a cycle fails
        /// (JackClient::Error), marks the client inactive and then calls the
        /// shutdown callback; jack_client_close neither cancels nor joins it,
        /// so the call may come while close runs or after the memory the
        /// callback was given is freed. No real server here takes that path
        /// (a SIGKILLed jackd leaves the process thread waiting, and close
        /// joins it), so the test makes that one call itself, with the
        /// argument libjack was given, on threads libjack does not join.
        @Test func aShutdownCallbackLibjackNeverJoinedReachesNothingAfterClose() async throws {
            let server = try JackServer.suite
            var io: AudioInterface? = try await AudioInterface(clientName: "late-callback", serverName: server.name,
                                                               connectPhysicalPorts: false)
            // An integer, so that it can travel between threads (it is a token).
            let argument = UInt(bitPattern: camio_jack_callback_argument(io!.session.jack))
            let stop = StopFlag()
            // While close runs: the callback may find the client open (and
            // report a shutdown), closing, or closed; it must never be cut
            // off from memory close frees, nor hold close up.
            let callers = (0..<2).map { index in
                Task.detached {
                    await onOwnThread("late-shutdown-\(index)") {
                        var calls = 0
                        while !stop.isSet {
                            camio_jack_call_shutdown_callback(UnsafeMutableRawPointer(bitPattern: argument), "late")
                            calls += 1
                        }
                        return calls
                    }
                }
            }
            try await Task.sleep(nanoseconds: 5_000_000)
            await io!.close()
            stop.set()
            for caller in callers { #expect(await caller.value > 0) }
            // After the client's memory is freed …
            weak let session = io!.session
            io = nil
            #expect(await eventually { session == nil }, "the closed interface's session was never freed")
            camio_jack_call_shutdown_callback(UnsafeMutableRawPointer(bitPattern: argument), "after free")
            // … and while the next client (which may take the same memory,
            // and the same slot of the callback table) runs, the late call
            // changes nothing.
            let next = try await AudioInterface(clientName: "after-late-callback", serverName: server.name,
                                                connectPhysicalPorts: false)
            camio_jack_call_shutdown_callback(UnsafeMutableRawPointer(bitPattern: argument), "into the next client")
            try await Task.sleep(nanoseconds: 50_000_000)
            #expect(!camio_jack_is_shut_down(next.session.jack), "a late callback of a closed client shut the next one down")
            #expect(next.session.core.terminalError == nil)
            try next.connect(next.outputPortNames[0], to: next.inputPortNames[0])
            await next.close()
        }
    }

    /// The server killed (SIGKILL) while calls are in flight, then `close()`
    /// twice at once; and the server killed while `close()` runs.
    @Suite struct JackCloseRacesAfterServerLoss {
        /// Errors a call may throw as the server goes away: the request failed
        /// before the interface learnt of the shutdown.
        @Sendable static func toleratedWhileTheServerDies(_ error: AMIOError) -> Bool {
            switch error {
            case .connectionFailed: true
            case let .invalidArgument(name, _): name == "periodFrames"
            default: false
            }
        }

        @Test(arguments: ["killed, closed twice once the calls have seen it", "killed while close runs",
                          "killed, closed twice at once"])
        func serverKilledWhileCallsAreInFlight(order: String) async throws {
            let server = try JackServer()
            defer { server.stop() }
            let io = try await AudioInterface(clientName: "lost-race", serverName: server.name, connectPhysicalPorts: false)
            let records = await hammerEveryCall(io, tolerated: Self.toleratedWhileTheServerDies) {
                switch order {
                case "killed, closed twice once the calls have seen it":
                    server.kill9()
                    // The calls in flight learn of the shutdown on their own first.
                    _ = await eventually { io.session.core.terminalError != nil }
                    async let first: Void = io.close()
                    async let second: Void = io.close()
                    _ = await (first, second)
                case "killed while close runs":
                    async let closing: Void = io.close()
                    server.kill9()
                    await closing
                default:
                    server.kill9()
                    async let first: Void = io.close()
                    async let second: Void = io.close()
                    _ = await (first, second)
                }
                await io.close()
            }
            for record in records {
                #expect(record.unexpected.isEmpty, "\(record.call): \(record.unexpected)")
                #expect(record.ended != nil)
            }
            expectEveryCallRefused(io, with: "closed or serverShutdown") { error in
                if case .serverShutdown = error { return true }
                return error == .closed
            }
        }
    }
}
