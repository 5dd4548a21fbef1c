import Foundation
import Testing

/// Every test that talks to jackd lives in a suite nested in this one. libjack
/// serves one server per process, so these run one at a time, each suite (or
/// test) with a private server that is stopped after its clients closed.
@Suite(.serialized, .timeLimit(.minutes(2))) enum JackTests {}

/// A private `jackd -d dummy` for the tests: a unique name, started and waited
/// for with `jack_wait`, stopped after every client of it has closed.
final class JackServer: Sendable {
    let name: String
    let period: Int
    let sampleRate: Int
    private let jackd: ChildProcess

    private static let counter = Counter()
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }

    /// - Parameter name: The server's name; unique by default. jack2 keeps at
    ///   most 8 servers in a shared registry, and the entry of a server killed
    ///   with SIGKILL is reclaimed only when a server of the same name starts:
    ///   a test that stops its server under its clients uses ``toBeLost(period:)``.
    init(period: Int = 256, sampleRate: Int = 48000, name: String? = nil) throws {
        self.name = name ?? "amio-test-\(getpid())-\(Self.counter.next())"
        self.period = period
        self.sampleRate = sampleRate
        jackd = try ChildProcess(try Self.locate("jackd"),
                                 ["--no-realtime", "-n", self.name, "-d", "dummy", "-r", "\(sampleRate)", "-p", "\(period)"],
                                 captureOutput: false)
        // If this test process dies (a crash, a timeout's kill), nothing else
        // would stop the server, and jack2 allows only 8 at once: a watchdog
        // stops it as soon as this process is gone (SIGTERM, so it leaves the
        // registry; SIGKILL only if it will not go).
        _ = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c",
            "while kill -0 \(getpid()) 2>/dev/null && kill -0 \(jackd.pid) 2>/dev/null; "
            + "do sleep 0.5; done; kill \(jackd.pid) 2>/dev/null; sleep 5; kill -9 \(jackd.pid) 2>/dev/null"],
            captureOutput: false)
        // jack_wait gives up after its -t seconds, but it can hang inside
        // libjack itself, hence a deadline of our own as well.
        let waited = try? run("jack_wait", ["-s", self.name, "-w", "-t", "20"], timeout: 30)
        guard waited?.status == 0, jackd.isRunning else {
            stop()
            throw JackServerError.didNotStart(self.name)
        }
    }

    /// SIGTERM, as a user stopping the server would (it then leaves JACK's
    /// registry), then SIGKILL if it lingers past 5 s; waits for the exit.
    func stop() {
        guard jackd.isRunning else { return }
        jackd.send(SIGTERM)
        _ = try? jackd.waitForExit(within: 5)
    }

    /// Kills the server without warning, as a crash would. Its registry entry
    /// stays behind until a server of the same name starts (see `init`).
    func kill9() { jackd.kill9() }

    deinit { stop() }

    static func locate(_ tool: String) throws -> URL {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(tool)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw JackServerError.missingTool(tool)
    }

    /// A server that the test will stop or kill while clients are connected.
    ///
    /// jackd does not always leave jack2's registry of 8 servers when it goes
    /// away under its clients (a SIGKILL never does), and a dead entry is
    /// reclaimed only by a server of the same name. So every such test uses
    /// this one name (they run one at a time, under ``JackTests``): together
    /// they hold at most one entry, however often the suite runs.
    static func toBeLost(period: Int = 256) throws -> JackServer {
        try JackServer(period: period, name: "amio-test-lost")
    }

    /// Runs `body` with a fresh server that is stopped afterwards, whatever happens.
    static func with<R>(period: Int = 256, _ body: (JackServer) async throws -> R) async throws -> R {
        let server = try JackServer(period: period)
        defer { server.stop() }
        return try await body(server)
    }
}

enum JackServerError: Error, CustomStringConvertible {
    case didNotStart(String)
    case missingTool(String)
    var description: String {
        switch self {
        case let .didNotStart(name):
            "jackd -n \(name) did not start. If no jackd runs and this keeps happening, jack2's registry of "
                + "8 servers is full of dead entries (servers killed earlier): `rm /dev/shm/jack-shm-registry` clears it"
        case let .missingTool(tool): "\(tool) is not installed; run scripts/install-dependencies.sh"
        }
    }
}

/// Polls `condition` until it holds or `seconds` pass. For waiting on audio
/// that flows in real time, never for asserting how fast anything is.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(nanoseconds: 5_000_000)
    }
    return condition()
}

/// Starts a private jackd for a whole suite and stops it after the suite's
/// tests (and so every client they opened) are done.
struct JackServerTrait: SuiteTrait, TestScoping {
    let period: Int
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let server = try JackServer(period: period)
        defer { server.stop() }
        try await JackServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == JackServerTrait {
    /// A private `jackd -d dummy -r 48000 -p period` for the suite.
    static func jackServer(period: Int = 256) -> Self { JackServerTrait(period: period) }
}

extension JackServer {
    @TaskLocal static var current: JackServer?

    /// The suite's server; fails the test if the suite has none.
    static var suite: JackServer {
        get throws { try #require(current, "the suite needs the .jackServer() trait") }
    }
}
