// The cost of a rolling client that plays nothing and consumes its input,
// per period: SwiftAMIO (AMIORollingClient, the public API) and a minimal C
// client with the same work shape (PlainJackClient), side by side on one
// private dummy jackd, over the same seconds. Both report their own CPU time
// (getrusage: every thread, in microseconds): /proc/PID/stat counts in 10 ms
// ticks, 40 % of the 25 ms that the 0.5 % goal allows in 5 s.

import Benchmark
import Foundation

/// The environment for the server and the clients: package-benchmark preloads
/// its malloc interposer into the benchmark, which they must not inherit.
private let childEnvironment = ProcessInfo.processInfo.environment.filter { $0.key != "LD_PRELOAD" }

/// Seconds the clients roll before the measured window, and its length.
private let warmUpSeconds = 1.0
private let measuredSeconds = 5.0

/// Something went wrong around the measurement.
struct IdleCostError: Error, CustomStringConvertible {
    var description: String
}

/// A child process: standard input held open (its end tells the clients to
/// finish), standard output read line by line with a deadline.
final class ChildProcess {
    let name: String
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let input = Pipe()
    private let output = Pipe()
    private var pending: [UInt8] = []

    init(_ executable: URL, _ arguments: [String], discardingOutput: Bool = false) throws {
        name = executable.lastPathComponent
        process.executableURL = executable
        process.arguments = arguments
        process.environment = childEnvironment
        process.standardInput = input
        process.standardOutput = discardingOutput ? FileHandle.nullDevice : output
        process.standardError = discardingOutput ? FileHandle.nullDevice : FileHandle.standardError
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    /// The exit status, once it has exited.
    var status: Int32 { process.terminationStatus }

    /// The next line of standard output, waiting up to `seconds` for it.
    func readLine(within seconds: Double) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        let descriptor = output.fileHandleForReading.fileDescriptor
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                defer { pending.removeSubrange(...newline) }
                return String(decoding: pending[..<newline], as: UTF8.self)
            }
            let left = deadline.timeIntervalSinceNow
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&poller, 1, Int32(left * 1000) + 1) > 0 else {
                throw IdleCostError(description: "\(name) printed no line within \(seconds) s")
            }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &bytes, bytes.count)
            guard count > 0 else { throw IdleCostError(description: "\(name) ended its output early") }
            pending += bytes[..<count]
        }
    }

    func send(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Closes its standard input: the clients' signal to finish.
    func closeInput() { try? input.fileHandleForWriting.close() }

    /// Waits up to `seconds` for the exit; else kills it (SIGKILL) and says so.
    @discardableResult
    func waitForExit(within seconds: Double) -> Bool {
        let inTime = exited.wait(timeout: .now() + seconds) == .success
        if !inTime {
            kill(pid, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
        }
        exited.signal()  // so that a later wait returns at once
        return inTime
    }

    /// Stops it with `signal` if it still runs, waiting for the exit.
    func stop(with signal: Int32 = SIGTERM) {
        if process.isRunning { kill(pid, signal) }
        waitForExit(within: 10)
    }
}

/// A private `jackd -d dummy` for one measurement, with a watchdog that stops
/// it should the benchmark process die first.
final class PrivateJackServer {
    let name: String
    private let server: ChildProcess
    private let watchdog: ChildProcess

    init(period: Int) throws {
        name = "amio-bench-\(getpid())-\(period)"
        server = try ChildProcess(try locate("jackd"),
                                  ["--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "\(period)"],
                                  discardingOutput: true)
        do {
            watchdog = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c",
                "while kill -0 \(getpid()) 2>/dev/null && kill -0 \(server.pid) 2>/dev/null; do sleep 0.5; done; "
                + "kill \(server.pid) 2>/dev/null"], discardingOutput: true)
        } catch {
            server.stop()
            throw error
        }
        let waiter = try ChildProcess(try locate("jack_wait"), ["-s", name, "-w", "-t", "20"], discardingOutput: true)
        guard waiter.waitForExit(within: 30), waiter.status == 0 else {
            stop()
            throw IdleCostError(description: "jackd \(name) did not start within 20 s")
        }
    }

    /// Stops the server (after its clients have closed); the watchdog sees
    /// it gone and ends within half a second.
    func stop() {
        server.stop()
        watchdog.waitForExit(within: 5)
    }
}

/// The full path of a program on the PATH.
private func locate(_ program: String) throws -> URL {
    let directories = (childEnvironment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    guard let directory = directories.first(where: { access("\($0)/\(program)", X_OK) == 0 }) else {
        throw IdleCostError(description: "\(program) is not on the PATH (scripts/install-dependencies.sh installs jackd2)")
    }
    return URL(fileURLWithPath: "\(directory)/\(program)")
}

/// A client built beside this benchmark executable (scripts/benchmark.sh builds them).
private func sibling(_ program: String) -> URL? {
    guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    let url = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(program)
    return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
}

/// One client's share of a core over the measured window, in percent.
private struct ClientCost {
    var name: String
    var percent: Double
}

/// Runs both clients on a private server at `period` and measures them over the same window.
private func measureIdleClients(period: Int, clients: [(URL, [String])]) throws -> [ClientCost] {
    let server = try PrivateJackServer(period: period)
    defer { server.stop() }
    var running: [ChildProcess] = []
    defer {
        // Reached with clients still running only on an error: end them before their server.
        for client in running {
            client.closeInput()
            if !client.waitForExit(within: 10) { FileHandle.standardError.write(Data("\(client.name) had to be killed\n".utf8)) }
        }
    }
    for (client, arguments) in clients {
        running.append(try ChildProcess(client, [server.name] + arguments))
    }
    for client in running {
        let line = try client.readLine(within: 30)
        guard line == "ready" else { throw IdleCostError(description: "\(client.name) said \"\(line)\", not \"ready\"") }
    }
    Thread.sleep(forTimeInterval: warmUpSeconds)

    func sample() throws -> (wall: Date, cpu: [Double]) {
        let wall = Date()
        var cpu: [Double] = []
        for client in running {
            try client.send("cpu")
            let reply = try client.readLine(within: 10)
            guard reply.hasPrefix("cpu "), let microseconds = Double(reply.dropFirst(4)) else {
                throw IdleCostError(description: "\(client.name) answered \"\(reply)\"")
            }
            cpu.append(microseconds / 1e6)
        }
        return (wall, cpu)
    }
    let before = try sample()
    Thread.sleep(forTimeInterval: measuredSeconds)
    let after = try sample()
    let wall = after.wall.timeIntervalSince(before.wall)

    var costs: [ClientCost] = []
    for (index, client) in running.enumerated() {
        client.closeInput()
        let summary = try client.readLine(within: 20)
        guard client.waitForExit(within: 20) else { throw IdleCostError(description: "\(client.name) did not exit") }
        // A client that consumed nothing cost nothing for the wrong reason.
        let consumed = summary.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
        guard consumed >= 48000 * measuredSeconds / 2 else {
            throw IdleCostError(description: "\(client.name) consumed too little input over \(measuredSeconds) s: \(summary)")
        }
        costs.append(ClientCost(name: client.name, percent: 100 * (after.cpu[index] - before.cpu[index]) / wall))
    }
    running = []
    return costs
}

func idleClientBenchmarks() {
    let amioMetric = BenchmarkMetric.custom("SwiftAMIO client (% of a core, x1000)", useScalingFactor: false)
    let coarseMetric = BenchmarkMetric.custom("SwiftAMIO client taking 4096 frames at once (% of a core, x1000)", useScalingFactor: false)
    let executorMetric = BenchmarkMetric.custom("SwiftAMIO client on io.inputExecutor (% of a core, x1000)", useScalingFactor: false)
    let plainMetric = BenchmarkMetric.custom("C client (% of a core, x1000)", useScalingFactor: false)
    for period in [64, 256, 1024] {
        Benchmark("CPU of a rolling JACK client with input consumed, \(period)-frame periods: SwiftAMIO beside a minimal C client",
                  configuration: .init(metrics: [amioMetric, coarseMetric, executorMetric, plainMetric], warmupIterations: 0,
                                       maxDuration: .seconds(60), maxIterations: 1)) { benchmark in
            guard let amio = sibling("AMIORollingClient"), let plain = sibling("PlainJackClient") else {
                throw IdleCostError(description: "AMIORollingClient and PlainJackClient are not built beside the "
                    + "benchmark; scripts/benchmark.sh builds them (swift build -c release --package-path Benchmarks --product NAME)")
            }
            // The same client taking its input in pieces of 4096 frames
            // (inputChunks(minimumFrames:)): fewer wakes for more lag; and
            // consuming on io.inputExecutor: one thread to wake, not two.
            let costs = try measureIdleClients(period: period, clients: [(amio, []), (amio, ["4096"]),
                                                                         (amio, ["0", "on-input-executor"]), (plain, [])])
            benchmark.measurement(amioMetric, Int(costs[0].percent * 1000))
            benchmark.measurement(coarseMetric, Int(costs[1].percent * 1000))
            benchmark.measurement(executorMetric, Int(costs[2].percent * 1000))
            benchmark.measurement(plainMetric, Int(costs[3].percent * 1000))
            Figures.record("jack.P\(period).amio_pct", costs[0].percent)
            Figures.record("jack.P\(period).coarse_pct", costs[1].percent)
            Figures.record("jack.P\(period).executor_pct", costs[2].percent)
            Figures.record("jack.P\(period).c_pct", costs[3].percent)
            Figures.record("jack.P\(period).ratio", costs[0].percent / costs[3].percent)
        }
    }
}
