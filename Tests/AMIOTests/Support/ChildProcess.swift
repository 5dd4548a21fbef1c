import Foundation
import Testing

/// A program the tests start, which never gets to hang the test run: every
/// wait has a deadline, after which the program is killed and the test fails
/// with what it printed so far. (Swift Testing's time limits cannot help
/// here: they cancel the test's task, and a task blocked waiting for a child
/// process never looks at cancellation.)
final class ChildProcess: Sendable {
    let command: String
    private let process: Process
    private let exited = DispatchSemaphore(value: 0)
    private let stdout: OutputCollector?
    private let stderr: OutputCollector?

    /// Starts `executable`. Its standard input is /dev/null; its output is
    /// collected when `captureOutput` is set, else discarded.
    init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
         captureOutput: Bool = true) throws {
        command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        if captureOutput {
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            stdout = OutputCollector(out.fileHandleForReading)
            stderr = OutputCollector(err.fileHandleForReading)
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            stdout = nil
            stderr = nil
        }
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        stdout?.start()
        stderr?.start()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Waits up to `seconds` for the program to exit; kills it (SIGKILL) and
    /// throws ``ChildProcessTimedOut`` if it has not.
    /// - Returns: The exit status, its standard output and its standard error.
    @discardableResult
    func waitForExit(within seconds: Double, showingStacks: Bool = true) throws -> (status: Int32, out: String, err: String) {
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            let stacks = showingStacks ? Self.threadStacks(of: pid) : ""
            kill(pid, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            exited.signal()
            throw ChildProcessTimedOut(command: command, seconds: seconds,
                                       output: (stdout?.text(waitingUpTo: 1) ?? "") + (stderr?.text(waitingUpTo: 1) ?? ""),
                                       stacks: stacks)
        }
        exited.signal()  // so a later wait returns at once
        guard !process.isRunning else {
            throw ChildProcessTimedOut(command: command, seconds: seconds, output: "(it would not die)")
        }
        // The pipes reach their end when the program exits, unless something
        // it started still holds them: that is not worth hanging for.
        return (process.terminationStatus, stdout?.text(waitingUpTo: 5) ?? "", stderr?.text(waitingUpTo: 5) ?? "")
    }

    /// Every thread's stack of a hung program, so that a hang on a machine
    /// nobody can log in to can be understood from the log; empty without
    /// gdb (scripts/install-dependencies.sh installs it).
    private static func threadStacks(of pid: Int32) -> String {
        let gdb = URL(fileURLWithPath: "/usr/bin/gdb")
        guard FileManager.default.isExecutableFile(atPath: gdb.path),
              let tracer = try? ChildProcess(gdb, ["-p", "\(pid)", "-batch", "-ex", "thread apply all bt"]) else { return "" }
        // Short enough that a test's own time limit does not end it first.
        let printed: String
        do { printed = try tracer.waitForExit(within: 20, showingStacks: false).out }
        catch let timedOut as ChildProcessTimedOut { printed = timedOut.output }
        catch { return "" }
        return printed.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread ") }.joined(separator: "\n")
    }

    /// What the program printed so far (standard output, then standard
    /// error; empty when its output is not captured), without waiting.
    func collectedOutput() -> String {
        (stdout?.text(waitingUpTo: 0) ?? "") + (stderr?.text(waitingUpTo: 0) ?? "")
    }

    /// Sends `signal` to the program.
    func send(_ signal: Int32) { kill(pid, signal) }

    /// Kills the program if it still runs and waits (boundedly) for its exit.
    func kill9() {
        if process.isRunning { kill(pid, SIGKILL) }
        _ = try? waitForExit(within: 10)
    }
}

/// A program that was still running at its deadline; it has been killed.
struct ChildProcessTimedOut: Error, CustomStringConvertible {
    var command: String
    var seconds: Double
    var output: String
    var stacks = ""
    var description: String {
        "`\(command)` still ran after \(seconds) s and was killed; it printed: \(output)"
            + (stacks.isEmpty ? "" : "\nits threads then:\n\(stacks)")
    }
}

/// Reads one pipe on its own thread until its end, so a chatty program never
/// blocks on a full pipe and a waiting test never blocks on a silent one.
private final class OutputCollector: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    private var data = Data()
    private let finished = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) { self.handle = handle }

    func start() {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            finished.signal()
        }
        thread.name = "test-output-collector"
        thread.start()
    }

    /// What arrived so far, after waiting up to `seconds` for the end.
    func text(waitingUpTo seconds: Double) -> String {
        if finished.wait(timeout: .now() + seconds) == .success { finished.signal() }
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs a command-line tool found in /usr/bin or /bin and returns what it
/// printed (stdout, then stderr); fails after `timeout` seconds.
@discardableResult
func run(_ tool: String, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
    try run(executable: try JackServer.locate(tool), arguments, timeout: timeout)
}

/// Runs a program and returns what it printed (stdout, then stderr); fails
/// after `timeout` seconds.
func run(executable: URL, _ arguments: [String], environment: [String: String] = [:],
         timeout: Double = 120) throws -> (status: Int32, output: String) {
    let child = try ChildProcess(executable, arguments,
                                 environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    let result = try child.waitForExit(within: timeout)
    return (result.status, result.out + result.err)
}

/// The harness itself: a program that outlives its deadline is killed, and
/// the error says what it printed and, with gdb installed, where it hung.
@Suite struct ChildProcessTests {
    /// Whether gdb may attach to a child of this process: Yama's
    /// ptrace_scope (absent: no restriction) allows it to anyone at 0, and to
    /// a holder of CAP_SYS_PTRACE below 3 (a container may withhold it).
    static var mayTraceChildren: Bool {
        let scope = (try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        if scope == 0 { return true }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let capabilities = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return scope < 3 && capabilities & (1 << 19) != 0   // CAP_SYS_PTRACE
    }

    @Test func aProgramPastItsDeadlineIsKilledAndShown() throws {
        let child = try ChildProcess(try JackServer.locate("sh"), ["-c", "echo started; exec sleep 600"])
        let error = #expect(throws: ChildProcessTimedOut.self) { try child.waitForExit(within: 1) }
        #expect(error?.output == "started\n")
        #expect(!child.isRunning)
        do { try child.waitForExit(within: 1) } catch { Issue.record("a second wait: \(error)") }
        let hung = try ChildProcess(try JackServer.locate("sleep"), ["600"])
        do {
            try hung.waitForExit(within: 0.5)
            Issue.record("sleep 600 ended within half a second")
        } catch let timedOut as ChildProcessTimedOut {
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") && Self.mayTraceChildren {
                #expect(timedOut.description.contains("its threads then:\nThread 1"), "\(timedOut)")
                #expect(timedOut.description.contains("nanosleep") || timedOut.description.contains("sleep"), "\(timedOut)")
            }
        }
    }
}
