import Foundation
import Testing

/// Every test that talks to a JACK server lives in a suite nested in this one.
/// libjack serves one server per process, so these run one at a time, each
/// suite (or test) with a private server that is stopped after its clients closed.
@Suite(.serialized, .timeLimit(.minutes(2))) enum JackTests {}

/// A private JACK server for the tests: a name no other server of this
/// machine has, started and waited for with `jack_wait`, stopped after every
/// client of it has closed.
///
/// It is `jackd -d dummy`, or, when the environment says
/// `AMIO_TEST_SERVER=pipewire`, a headless PipeWire (scripts/pipewire-headless.conf)
/// reached through PipeWire's libjack: test.sh runs the JACK suites once on
/// each, so the engine is held to both. A test that must know which one it
/// got asks ``kind``; the rest goes through ``setPeriod(_:)``,
/// ``environment()`` and `AudioInterface.connectLoopback()`, which do the
/// right thing on either.
final class JackServer: Sendable {
    /// What implements the JACK API under the tests.
    enum Kind: String, Sendable, CustomStringConvertible {
        /// jack2's `jackd --no-realtime -d dummy`.
        case jackd
        /// A headless PipeWire with a null sink named "system", through PipeWire's libjack.
        case pipewire
        var description: String { rawValue }
    }

    /// The kind this run of the tests uses: `AMIO_TEST_SERVER=pipewire` picks
    /// PipeWire, anything else jackd. The whole process has one, because the
    /// libjack it loaded at start-up (LD_LIBRARY_PATH) decides which servers it
    /// can reach at all.
    static let kind: Kind = ProcessInfo.processInfo.environment["AMIO_TEST_SERVER"] == "pipewire" ? .pipewire : .jackd

    let kind: Kind
    let name: String
    /// The period the server started with; ``setPeriod(_:)`` changes the server's.
    let period: Int
    let sampleRate: Int
    private let server: ChildProcess
    /// jackd only: holds the pool name (see ``NameClaim``) while this server
    /// may run; released when the object goes, after ``stop()``.
    private let nameClaim: NameClaim?
    /// PipeWire only: where its socket is (``environment()`` hands it on).
    private let runtimeDirectory: String?

    private static let counter = Counter()
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }

    /// - Parameters:
    ///   - kind: jackd or PipeWire; by default the run's (``JackServer/kind``).
    ///     It must match the libjack this process loaded: PipeWire's libjack
    ///     cannot reach jackd, nor jack2's libjack PipeWire.
    ///   - period: The first period (quantum), in frames.
    ///   - sampleRate: The rate, in Hz.
    init(kind: Kind = JackServer.kind, period: Int = 256, sampleRate: Int = 48000) throws {
        self.kind = kind
        self.period = period
        self.sampleRate = sampleRate
        switch kind {
        case .jackd:
            let claim = try NameClaim.claim()
            nameClaim = claim
            name = claim.name
        case .pipewire:
            // No registry to fill: a killed PipeWire leaves only a stale
            // socket, which no later server of a unique name trips over.
            nameClaim = nil
            name = "amio-test-\(getpid())-\(Self.counter.next())"
        }
        try Self.checkLibjack(for: kind)
        let configuration: URL?
        switch kind {
        case .jackd:
            runtimeDirectory = nil
            configuration = nil
            // A registry full of dead entries would have it exit at once.
            JackRegistry.freeDeadEntriesIfFull()
            // Its output is kept: when it does not start, it says why.
            server = try ChildProcess(try Self.locate("jackd"),
                                      ["--no-realtime", "-n", self.name, "-d", "dummy", "-r", "\(sampleRate)", "-p", "\(period)"])
        case .pipewire:
            let directory = try Self.pipewireRuntimeDirectory.get()
            runtimeDirectory = directory
            // The rate and the first quantum go into a config of its own, so
            // the first cycle already has them; the forced quantum below then
            // keeps it there whatever latency a client asks for.
            let url = URL(fileURLWithPath: directory).appendingPathComponent("\(self.name).conf")
            try Self.pipewireConfiguration(period: period, sampleRate: sampleRate).write(to: url, atomically: true, encoding: .utf8)
            configuration = url
            // PIPEWIRE_CORE names the socket (DIR/NAME), and PipeWire's libjack
            // takes a JACK server name as the socket to connect to.
            do {
                server = try ChildProcess(try Self.locate("pipewire"), ["-c", url.path],
                                          environment: ProcessInfo.processInfo.environment
                                              .merging(["PIPEWIRE_CORE": self.name, "XDG_RUNTIME_DIR": directory]) { $1 },
                                          captureOutput: false)
            } catch {
                try? FileManager.default.removeItem(at: url)
                throw error
            }
        }
        // PipeWire reads its config once, at start-up.
        defer { if let configuration { try? FileManager.default.removeItem(at: configuration) } }
        // If this test process dies (a crash, a timeout's kill), nothing else
        // would stop the server, and jack2 allows only 8 at once: a watchdog
        // stops it as soon as this process is gone (SIGTERM, so it leaves the
        // registry; SIGKILL only if it will not go).
        _ = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c",
            "while kill -0 \(getpid()) 2>/dev/null && kill -0 \(server.pid) 2>/dev/null; "
            + "do sleep 0.5; done; kill \(server.pid) 2>/dev/null; sleep \(Int(Self.exitGrace)); kill -9 \(server.pid) 2>/dev/null"],
            captureOutput: false)
        // Through PipeWire's libjack jack_wait works the same (this process's
        // LD_LIBRARY_PATH reaches it, and environment() says so again).
        let started = Self.waitUntilServing(name, process: server, within: 20, environment: environment())
        guard started, server.isRunning else {
            var output = stop()
            if kind == .jackd {
                let entries = JackRegistry.entries()
                output += "\njack2's registry: " + (entries.isEmpty ? "empty" : entries.map(\.description).joined(separator: ", "))
            }
            throw JackServerError.didNotStart(self.name, kind, output: output)
        }
        if kind == .pipewire {
            do {
                // jack_wait only says the socket answers; the null sink's ports
                // are what the loopback needs.
                let ready = try poll(within: 10) {
                    let ports = try tool("jack_lsp", ["-s", self.name], timeout: 10).output
                    return Self.sinkChannels.allSatisfy { ports.contains("system:monitor_\($0)") } ? true : nil
                }
                guard ready != nil else { throw JackServerError.didNotStart(self.name, kind, output: "") }
                try tool("pw-metadata", ["-n", "settings", "0", "clock.force-rate", "\(sampleRate)"], checked: true)
                try setPeriod(period)
            } catch {
                stop()
                throw error
            }
        }
    }

    /// How long ``stop()`` waits after SIGTERM before it kills. jackd told
    /// to stop while it is still removing a client that died gives that
    /// client's graph change 5 s, then its close 1 s more, before it exits
    /// (measured: 6.1 s after a SIGKILLed jack_latent_client); killed
    /// earlier, it would leave its entry in jack2's registry.
    static let exitGrace: Double = 15

    /// SIGTERM, as a user stopping the server would (jackd then leaves JACK's
    /// registry, PipeWire removes its socket), then SIGKILL if it lingers past
    /// ``exitGrace``; waits for the exit. Says on standard error when it had
    /// to kill.
    /// - Returns: What the server printed (jackd; empty for PipeWire).
    @discardableResult
    func stop() -> String {
        guard server.isRunning else {
            return (try? server.waitForExit(within: 1)).map { $0.out + $0.err } ?? server.collectedOutput()
        }
        server.send(SIGTERM)
        do {
            let result = try server.waitForExit(within: Self.exitGrace)
            return result.out + result.err
        } catch {
            FileHandle.standardError.write(Data(
                "JackServer: \(kind) \(name) was still running \(Int(Self.exitGrace)) s after SIGTERM and was killed\n".utf8))
            return "\(error)"
        }
    }

    /// Kills the server without warning, as a crash would. A jackd's registry
    /// entry stays behind until the next server of the same name, which
    /// ``NameClaim`` makes sure there is; a PipeWire's socket file stays, harmlessly.
    func kill9() { server.kill9() }

    /// Stops the server for `seconds` (SIGSTOP, then SIGCONT), as a machine
    /// too busy to run it would: it misses its deadlines.
    ///
    /// The two servers come back differently (measured with a client looping
    /// a ramp, 200 ms and 1 s stops at period 256). jackd resumes where it
    /// stopped: the frame time does not count the stall, every client gets
    /// one xrun callback, and its own out → in cable still delivers the
    /// previous cycle. PipeWire's null sink runs the cycles it missed back to
    /// back to catch up with the clock (38 cycles within 1 ms after 200 ms),
    /// with no xrun callback; in that burst about half the cycles' monitor
    /// input is silence and some carry the cycle before the previous one.
    /// - Throws: ``JackServerError/notRunning(_:)`` if the server is gone.
    func pause(seconds: Double) throws {
        guard server.isRunning else { throw JackServerError.notRunning(name) }
        server.send(SIGSTOP)
        defer { server.send(SIGCONT) }
        usleep(UInt32(max(0, seconds) * 1_000_000))
    }

    deinit { stop() }

    /// Changes the server's period while it runs, the way a user would, and
    /// returns once the server reports the new one.
    ///
    /// jackd: `jack_bufsize` (tests may as well call
    /// `AudioInterface.setPeriodFrames`, which is the same request). PipeWire
    /// ignores that request; its period (the quantum) follows the
    /// `clock.force-quantum` setting, which `pw-metadata` sets. Either way the
    /// running clients get a buffer-size callback and then cycles of the new
    /// size, within a cycle or two of this call returning.
    /// - Throws: ``JackServerError`` when the tool fails or the period does not
    ///   show up within 10 s.
    func setPeriod(_ frames: Int) throws {
        switch kind {
        case .jackd: try tool("jack_bufsize", ["\(frames)"], checked: true)
        case .pipewire: try tool("pw-metadata", ["-n", "settings", "0", "clock.force-quantum", "\(frames)"], checked: true)
        }
        var reported: Int?
        // `jack_bufsize` without an argument prints the period, through the
        // server's own libjack: what a client opening now would get.
        let applied = try poll(within: 10) { () throws -> Bool? in
            reported = Int(try tool("jack_bufsize", [], timeout: 10).output
                .split(separator: "\n").last?.trimmingCharacters(in: .whitespaces) ?? "")
            return reported == frames ? true : nil
        }
        guard applied != nil else { throw JackServerError.periodNotApplied(requested: frames, reported: reported) }
    }

    /// What a child process (the `amio` tool, an example, `jack_lsp`) needs in
    /// its environment to reach this server as the default one.
    ///
    /// jackd: `JACK_DEFAULT_SERVER`. PipeWire's libjack ignores that variable:
    /// it needs its own library first on the search path, the runtime
    /// directory where the socket is, and the socket's name as
    /// `PIPEWIRE_REMOTE` (`JACK_DEFAULT_SERVER` is set as well, for the
    /// programs that read it themselves).
    func environment() -> [String: String] {
        var environment = ["JACK_DEFAULT_SERVER": name]
        if kind == .pipewire, let runtimeDirectory {
            environment["PIPEWIRE_REMOTE"] = name
            environment["XDG_RUNTIME_DIR"] = runtimeDirectory
            if let library = Self.loadedLibjack.map({ ($0 as NSString).deletingLastPathComponent }) {
                let inherited = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] ?? ""
                environment["LD_LIBRARY_PATH"] = inherited.split(separator: ":").contains { $0 == library }
                    ? inherited : ([library] + (inherited.isEmpty ? [] : [inherited])).joined(separator: ":")
            }
        }
        return environment
    }

    static func locate(_ tool: String) throws -> URL {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(tool)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw JackServerError.missingTool(tool)
    }

    /// Waits until the server `process` runs as `name` answers, with
    /// jack_wait a second at a time: one that exits at once (its name taken,
    /// the registry full) is given up on at once. jack_wait can hang inside
    /// libjack itself, hence a deadline of our own on each call as well.
    /// - Returns: Whether it answered within `seconds` (and still runs).
    static func waitUntilServing(_ name: String, process: ChildProcess, within seconds: Double,
                                 environment: [String: String]) -> Bool {
        guard let wait = try? locate("jack_wait") else { return false }
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline {
            if (try? run(executable: wait, ["-s", name, "-w", "-t", "1"], environment: environment, timeout: 10))?.status == 0 {
                return process.isRunning
            }
        }
        return false
    }

    /// Waits until no port of `client` is left in the server's graph: a
    /// client killed just before the server is told to stop would hold jackd
    /// up for 6 s (see ``exitGrace``).
    /// - Returns: Whether it went within `seconds`.
    @discardableResult
    func waitUntilGone(client: String, within seconds: Double = 10) -> Bool {
        let gone = try? poll(within: seconds) { () throws -> Bool? in
            let ports = try tool("jack_lsp", [], timeout: 10)
            guard ports.status == 0 else { return nil }
            return ports.output.split(separator: "\n").contains { $0.hasPrefix("\(client):") } ? nil : true
        }
        return gone != nil
    }

    /// Runs `body` with a fresh server that is stopped afterwards, whatever happens.
    static func with<R>(period: Int = 256, _ body: (JackServer) async throws -> R) async throws -> R {
        let server = try JackServer(period: period)
        defer { server.stop() }
        return try await body(server)
    }

    // MARK: - How it finds and configures what it runs

    /// Runs a JACK or PipeWire tool against this server (``environment()``).
    /// With `checked`, a non-zero exit status throws.
    @discardableResult
    private func tool(_ name: String, _ arguments: [String], timeout: Double = 30,
                      checked: Bool = false) throws -> (status: Int32, output: String) {
        let result = try run(executable: try Self.locate(name), arguments, environment: environment(), timeout: timeout)
        if checked && result.status != 0 {
            throw JackServerError.toolFailed(([name] + arguments).joined(separator: " "), result.output)
        }
        return result
    }

    /// The null sink's channels, in the order of scripts/pipewire-headless.conf's `audio.position`.
    private static let sinkChannels = ["FL", "FR"]

    /// The libjack this process loaded, from /proc/self/maps: which one it is
    /// decides which servers the in-process clients can reach. (Read with
    /// stdio: Foundation reads a file by its size, and /proc files have none.)
    private static let loadedLibjack: String? = {
        guard let maps = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(maps) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, maps) > 0, let line {
            let text = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let slash = text.firstIndex(of: "/") else { continue }
            let path = String(text[slash...])
            if (path as NSString).lastPathComponent.hasPrefix("libjack.so") { return path }
        }
        return nil
    }()

    private static func checkLibjack(for kind: Kind) throws {
        let pipewire = loadedLibjack?.contains("/pipewire-0.3/jack/") ?? false
        if pipewire != (kind == .pipewire) { throw JackServerError.wrongLibjack(kind, loaded: loadedLibjack) }
    }

    /// Where PipeWire servers put their sockets and PipeWire's libjack in this
    /// process looks for them: `PIPEWIRE_RUNTIME_DIR`, else `XDG_RUNTIME_DIR`
    /// (test.sh sets a private one), as PipeWire itself decides. With neither,
    /// a private directory is made and exported, once, before the first server
    /// starts and so before any client of one opens.
    private static let pipewireRuntimeDirectory: Result<String, JackServerError> = {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["PIPEWIRE_RUNTIME_DIR"] ?? environment["XDG_RUNTIME_DIR"], !directory.isEmpty {
            return .success(directory)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amio-pipewire-\(getpid())").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            return .failure(.toolFailed("mkdir \(directory)", "\(error)"))
        }
        setenv("XDG_RUNTIME_DIR", directory, 1)
        return .success(directory)
    }()

    /// scripts/pipewire-headless.conf with this server's rate and first quantum.
    private static func pipewireConfiguration(period: Int, sampleRate: Int) throws -> String {
        let template = repositoryRoot.appendingPathComponent("scripts/pipewire-headless.conf")
        let text = try String(contentsOf: template, encoding: .utf8)
        var replaced: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let key = line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            switch key {
            case "default.clock.rate": replaced.insert(key); return "    default.clock.rate     = \(sampleRate)"
            case "default.clock.quantum": replaced.insert(key); return "    default.clock.quantum  = \(period)"
            default: return String(line)
            }
        }
        guard replaced.count == 2 else {
            throw JackServerError.toolFailed("reading \(template.path)", "it sets no default.clock.rate or default.clock.quantum")
        }
        return lines.joined(separator: "\n")
    }

    /// Calls `attempt` every 20 ms until it returns a value or `seconds` pass.
    private func poll<T>(within seconds: Double, _ attempt: () throws -> T?) throws -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = try attempt() { return value }
            usleep(20_000)
        } while Date() < deadline
        return try attempt()
    }
}

enum JackServerError: Error, CustomStringConvertible {
    case didNotStart(String, JackServer.Kind, output: String)
    case missingTool(String)
    case wrongLibjack(JackServer.Kind, loaded: String?)
    case toolFailed(String, String)
    case periodNotApplied(requested: Int, reported: Int?)
    case notRunning(String)
    case noFreeName(Int)
    var description: String {
        switch self {
        case let .didNotStart(name, .jackd, output):
            "jackd -n \(name) did not start; it printed: \(output)\n"
                + "(jack2's registry holds 8 servers, and the entry of a server killed is freed only by the next one "
                + "of its name: JackRegistry frees this user's dead ones. If no jackd runs and this keeps happening, "
                + "`rm \(JackRegistry.path)` clears it)"
        case let .didNotStart(name, .pipewire, _):
            "PipeWire \(name) did not start, or did not show its null sink \"system\" to jack_wait and jack_lsp "
                + "through PipeWire's libjack (socket in XDG_RUNTIME_DIR=\(ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? "unset"))"
        case let .missingTool(tool): "\(tool) is not installed; run scripts/install-dependencies.sh"
        case let .wrongLibjack(.pipewire, loaded):
            "AMIO_TEST_SERVER=pipewire needs the test process to run with PipeWire's libjack, "
                + "LD_LIBRARY_PATH=/usr/lib/<multiarch>/pipewire-0.3/jack (what pw-jack sets; scripts/test.sh does it); "
                + "this process loaded \(loaded ?? "no libjack")"
        case let .wrongLibjack(.jackd, loaded):
            "a jackd server cannot be reached from this process: it loaded \(loaded ?? "no libjack"), "
                + "not jack2's (unset LD_LIBRARY_PATH, or set AMIO_TEST_SERVER=pipewire)"
        case let .toolFailed(command, output): "`\(command)` failed: \(output)"
        case let .periodNotApplied(requested, reported):
            "the server's period is still \(reported.map(String.init) ?? "unknown") 10 s after asking for \(requested)"
        case let .notRunning(name): "the server \(name) is not running"
        case let .noFreeName(count):
            "all \(count) names of test jackd servers (amio-test-0…) are held by other test processes of this machine"
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

/// Starts a private server for a whole suite and stops it after the suite's
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
    /// A private server for the suite at 48000 Hz and `period`: `jackd -d dummy -p period`,
    /// or PipeWire with that quantum when the run uses PipeWire.
    static func jackServer(period: Int = 256) -> Self { JackServerTrait(period: period) }
}

extension JackServer {
    @TaskLocal static var current: JackServer?

    /// The suite's server; fails the test if the suite has none.
    static var suite: JackServer {
        get throws { try #require(current, "the suite needs the .jackServer() trait") }
    }
}

extension JackServer {
    /// One of a few fixed jackd names, held by one test server at a time
    /// across every test process of this machine.
    ///
    /// jack2 keeps a registry of at most 8 servers. A jackd that exits leaves
    /// it; one that is killed (a test that kills it on purpose, one that would
    /// not stop) leaves a dead entry, which only a server of the same name
    /// frees. Unique names would let every such kill fill a slot for good, and
    /// after a few runs no jackd would start; names from this pool are always
    /// taken again, so the test servers never hold more than `poolSize`
    /// entries, dead or alive. A name is claimed with an exclusive `flock` on
    /// a file of its own in the temporary directory, which the kernel drops
    /// when this process dies; a name some jackd still runs with (one whose
    /// test process died before its watchdog stopped it) is passed over.
    final class NameClaim: Sendable {
        /// More than one process runs at a time here (a suite's server and a
        /// test's own, two test runs), and jack2's 8 leave room for a user's.
        static let poolSize = 6

        let name: String
        private let descriptor: Int32

        private init(name: String, descriptor: Int32) {
            self.name = name
            self.descriptor = descriptor
        }

        deinit { close(descriptor) }

        /// The first name of the pool no one holds.
        /// - Throws: ``JackServerError/noFreeName(_:)`` when all are held.
        static func claim() throws -> NameClaim {
            let directory = FileManager.default.temporaryDirectory
            for slot in 0..<poolSize {
                let name = "amio-test-\(slot)"
                let path = directory.appendingPathComponent("\(name).jackd-name-lock").path
                let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
                guard descriptor >= 0 else { continue }
                if flock(descriptor, LOCK_EX | LOCK_NB) == 0 && !jackdRuns(named: name) {
                    return NameClaim(name: name, descriptor: descriptor)
                }
                close(descriptor)
            }
            throw JackServerError.noFreeName(poolSize)
        }

        /// Whether a process of this machine has `-n NAME` among its
        /// arguments, as every jackd a test starts has.
        private static func jackdRuns(named name: String) -> Bool {
            let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return processes.contains { entry in
                guard entry.allSatisfy(\.isNumber),
                      let arguments = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
                let words = arguments.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                return zip(words, words.dropFirst()).contains { $0 == "-n" && $1 == name }
                    && words.first.map { ($0 as NSString).lastPathComponent == "jackd" } == true
            }
        }
    }
}
