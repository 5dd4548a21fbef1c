import AMIO
import ArgumentParser
import Foundation
import Logging
import Synchronization

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The JACK server to use (default: $JACK_DEFAULT_SERVER or 'default').")
    var server: String?

    @Option(help: "The JACK client name.")
    var clientName: String = "amio"

    @Flag(help: "Start a private dummy jackd when no server runs, and stop it at exit.")
    var startServer = false

    @Flag(name: .shortAndLong, help: "No status lines or notes: only errors, and what the command prints as its result (ports, meter's levels).")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Log what happens, step by step.")
    var verbose = false

    @Flag(help: "Convert files to the playing rate anew: neither read nor fill the conversion cache (as AMIO_CONVERSION_CACHE=off).")
    var noCache = false

    var logLevel: Logger.Level { verbose ? .debug : quiet ? .error : .notice }

    /// The client name, checked against JACK's limit (jack_client_name_size()
    /// is 64, with the terminating zero) before a server is asked.
    func checkedClientName() throws(AMIOError) -> String {
        let bytes = clientName.utf8.count
        guard (1...63).contains(bytes) else {
            throw .invalidArgument(name: "--client-name", reason: "it is \(bytes) bytes; JACK takes 1 to 63")
        }
        return clientName
    }

    var logger: Logger {
        var logger = Logger(label: "amio")
        logger.logLevel = logLevel
        return logger
    }
}

/// What the tool's exit codes mean (sysexits.h).
enum ExitStatus {
    static let usage: Int32 = 64        // EX_USAGE: a bad argument
    static let badInput: Int32 = 65     // EX_DATAERR: a bad input file or session
    static let unavailable: Int32 = 69  // EX_UNAVAILABLE: no JACK server
    static let ioError: Int32 = 74      // EX_IOERR: a file could not be written
    static let xrun: Int32 = 75         // EX_TEMPFAIL: an xrun with --fatal-xruns (try again)
    static let interrupted: Int32 = 130 // 128 + SIGINT, as a shell reports a command Ctrl-C stopped
}

/// `--fatal-xruns`, for the commands that play or capture in real time.
struct XrunOptions: ParsableArguments {
    @Flag(help: "End at the first xrun (a period the server or amio missed) with exit status 75; a take is kept up to then.")
    var fatalXruns = false
}

/// An xrun ended a run that was asked to end at one.
struct FatalXrun: Error, CustomStringConvertible {
    let total: Int
    let at: String
    var description: String { "an xrun at \(at) (--fatal-xruns): the server or amio missed a period" }
}

/// Counts the xruns of a run from its start, for the status lines and `--fatal-xruns`.
struct XrunWatch {
    let io: AudioInterface
    let fatal: Bool
    let before: Int

    init(_ io: AudioInterface, fatal: Bool) {
        self.io = io
        self.fatal = fatal
        before = io.xrunCount
    }

    var count: Int { io.xrunCount - before }

    /// `  xruns N`, for the end of a status line.
    var summary: String { "  xruns \(count)" }

    /// Throws ``FatalXrun`` once an xrun happened, if asked to.
    func check(at frame: Int64) throws {
        if fatal, count > 0 { throw FatalXrun(total: count, at: formatTime(frames: frame, rate: io.sampleRate)) }
    }
}

/// A count shared between tasks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() { lock.lock(); count += 1; lock.unlock() }
}

/// Runs a command's body, turning errors into one line on stderr and an exit code.
func perform(_ options: GlobalOptions, _ body: (Logger) async throws -> Void) async throws {
    // Every load the command makes (play's files, a session's clips) asks
    // ConversionCache.standard, which reads the environment each time.
    if options.noCache { setenv("AMIO_CONVERSION_CACHE", "off", 1) }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = options.logLevel
        return handler
    }
    do {
        try await body(options.logger)
    } catch let error as AMIOError {
        let (status, hint) = classify(error)
        let message = DisplayNames.shared.apply(relativeToWorkingDirectory("\(error)"))
        // A usage error found once the run could look (at the server's rate,
        // say): reported as any usage error, with the command's usage.
        if status == ExitStatus.usage { throw ValidationError(message) }
        printError("amio: \(message)" + (hint.map { "\n\($0)" } ?? ""))
        throw ExitCode(status)
    } catch let error as FatalXrun {
        printError("amio: \(error)")
        throw ExitCode(ExitStatus.xrun)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("amio: \(error)")
        throw ExitCode(ExitStatus.ioError)
    }
}

/// The status `error` ends amio with (its sysexits status), and a hint where one helps.
func classify(_ error: AMIOError) -> (Int32, String?) {
    if case .serverUnavailable = error {
        return (error.exitStatus, "hint: start jackd, or pass --start-server to run a private dummy server")
    }
    return (error.exitStatus, nil)
}

/// `text` with the working directory's paths shortened to what a user in
/// that directory types (`bad.json`, not `/home/me/project/bad.json`): the
/// library names files by their absolute paths.
func relativeToWorkingDirectory(_ text: String) -> String {
    let directory = FileManager.default.currentDirectoryPath
    guard directory != "/" else { return text }
    return text.replacingOccurrences(of: directory + "/", with: "")
}

/// Writes `text` to standard error, best effort: a closed or full stderr
/// (`2>&-`, `2>/dev/full`) loses the text and changes nothing else
/// (FileHandle.write would stop the program there).
func writeToStandardError(_ text: String) {
    _ = writeAll(text, to: STDERR_FILENO)
}

/// Writes all of `text` to `descriptor`, resuming after a signal.
/// - Returns: The errno of a write that failed, nil when all went out.
func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0, errno == EINTR { continue }
        guard written > 0 else { return written < 0 ? errno : EIO }
        bytes = bytes.dropFirst(written)
    }
    return nil
}

/// What a command prints as its result (ports' list, meter's levels),
/// written straight to file descriptor 1 so that a failure is seen however
/// stdio buffers it (`stdbuf -oL` makes print flush, and lose, every line).
enum StandardOutput {
    private static let failure = Mutex<Int32?>(nil)

    /// Writes `line` and a newline; the first failure is kept for ``failed``.
    static func print(_ line: String) {
        guard let error = writeAll(line + "\n", to: STDOUT_FILENO) else { return }
        failure.withLock { if $0 == nil { $0 = error } }
    }

    /// The error of the first write that failed, if one did.
    static var failed: Int32? { failure.withLock { $0 } }
}

func printError(_ message: String) {
    writeToStandardError(message + "\n")
}

/// The loudest `--gain`: +770 dB is about the largest 32-bit float gain.
let maximumGainDecibels = 770.0

/// Checks a time argument against the timeline limit before anything starts
/// (the JACK rate is not known yet, so at the highest rate; the run checks
/// again at the server's rate): a bad value is a usage error (exit 64) that
/// names the option and the limit.
func checkTime(_ time: TimeArgument, name: String) throws {
    do { _ = try time.frames(atSampleRate: TimelineLimit.maximumSampleRate, name: name) } catch {
        throw ValidationError("\(error)")
    }
}

/// Checks a `--duration` before anything starts: within the timeline, and
/// longer than 0.
func checkDuration(_ duration: TimeArgument?) throws {
    guard let duration else { return }
    try checkTime(duration, name: "--duration")
    if (try? duration.frames(atSampleRate: TimelineLimit.maximumSampleRate, name: "--duration")) == 0 {
        throw ValidationError("--duration must be longer than 0")
    }
}

/// A `--duration` in frames at the server's `rate`: at least one.
func durationFrames(_ duration: TimeArgument?, rate: Int) throws(AMIOError) -> Int64? {
    guard let duration else { return nil }
    let frames = try duration.frames(atSampleRate: rate, name: "--duration")
    guard frames > 0 else {
        throw .invalidArgument(name: "--duration", reason: "\(duration) is shorter than one frame at \(rate) Hz")
    }
    return frames
}

/// Opens the interface the command needs; with --start-server, first starts a
/// private dummy jackd if the server is not running.
struct Connection {
    let interface: AudioInterface
    let privateServer: PrivateServer?

    static func open(_ options: GlobalOptions, inputs: Int, outputs: Int, connectPhysical: Bool,
                     logger: Logger) async throws -> Connection {
        let clientName = try options.checkedClientName()
        func attempt(_ server: String?) async -> Result<AudioInterface, AMIOError> {
            do throws(AMIOError) {
                return .success(try await AudioInterface(clientName: clientName, serverName: server,
                                                         inputChannels: inputs, outputChannels: outputs,
                                                         connectPhysicalPorts: connectPhysical))
            } catch {
                return .failure(error)
            }
        }
        switch await attempt(options.server) {
        case let .success(io):
            logger.debug("connected to JACK at \(io.sampleRate) Hz, period \(io.periodFrames)")
            return Connection(interface: io, privateServer: nil)
        case let .failure(error):
            guard options.startServer, case .serverUnavailable = error else { throw error }
        }
        let server = try PrivateServer.start(name: options.server ?? "amio-\(getpid())", logger: logger)
        switch await attempt(server.name) {
        case let .success(io):
            return Connection(interface: io, privateServer: server)
        case let .failure(error):
            server.stop()
            throw error
        }
    }

    /// Opens a connection, runs `body` with its interface, and closes it
    /// (interface first, then any private server) however `body` ends.
    static func with<R>(_ options: GlobalOptions, inputs: Int, outputs: Int, connectPhysical: Bool, logger: Logger,
                        _ body: (AudioInterface) async throws -> R) async throws -> R {
        let connection = try await open(options, inputs: inputs, outputs: outputs, connectPhysical: connectPhysical,
                                        logger: logger)
        do {
            let result = try await body(connection.interface)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Closes the interface, then stops the private server (clients close first).
    func close() async {
        await interface.close()
        privateServer?.stop()
    }
}

/// A `jackd --no-realtime -d dummy` started for this run.
final class PrivateServer: Sendable {
    let name: String
    private let process: Process

    private init(name: String, process: Process) {
        self.name = name
        self.process = process
    }

    static func start(name: String, logger: Logger) throws -> PrivateServer {
        let process = Process()
        process.executableURL = try tool("jackd")
        process.arguments = ["--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        logger.notice("started a private JACK server: jackd --no-realtime -n \(name) -d dummy -r 48000 -p 256")
        let wait = Process()
        wait.executableURL = try tool("jack_wait")
        wait.arguments = ["-s", name, "-w", "-t", "20"]
        wait.standardInput = FileHandle.nullDevice
        wait.standardOutput = FileHandle.nullDevice
        wait.standardError = FileHandle.nullDevice
        try wait.run()
        // jack_wait gives up after -t seconds, but can hang inside libjack
        // itself; a deadline of our own makes sure amio never does.
        let waited = Self.waitForExit(wait, within: 30)
        let server = PrivateServer(name: name, process: process)
        guard waited, wait.terminationStatus == 0, process.isRunning else {
            server.stop()
            throw AMIOError.serverUnavailable(server: name, status: .serverFailed, message: "the private jackd did not start")
        }
        return server
    }

    /// SIGTERM, so the server leaves JACK's registry; SIGKILL if it lingers.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        _ = Self.waitForExit(process, within: 5)
    }

    /// Waits up to `seconds` for `process` to exit; kills it if it has not.
    /// - Returns: Whether it exited by itself.
    private static func waitForExit(_ process: Process, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }

    static func tool(_ name: String) throws -> URL {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw AMIOError.serverUnavailable(server: nil, status: .serverFailed,
                                          message: "\(name) is not installed (apt-get install jackd2)")
    }
}

/// Ctrl-C, SIGTERM and SIGHUP, as an awaitable event.
enum Interrupt {
    /// Returns when SIGINT, SIGTERM or SIGHUP arrives, or when the task is cancelled.
    static func wait() async {
        await Waiter().wait()
    }

    /// Catches the signals from when it is made, so that one arriving before
    /// anything awaits it is not lost: ``interruptible(_:)`` makes one before
    /// its work starts, or a Ctrl-C right after the work's first step (a
    /// render creates its file at once) could come before the task that
    /// watches for it ran, and the signal's default action end the process
    /// with the file left behind.
    final class Waiter: Sendable {
        private let resumed = Resumed()
        private let slot = ContinuationSlot()

        init() {
            // A closed terminal (SIGHUP) ends a take as Ctrl-C does: finalised.
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { [resumed, slot] in
                    if resumed.claim() { slot.resume() }
                }
                source.resume()
                Sources.keep(source)
            }
        }

        /// Returns when a signal has arrived since it was made, or when the task is cancelled.
        func wait() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    slot.set(continuation)
                    if Task.isCancelled, resumed.claim() { slot.resume() }
                }
            } onCancel: {
                if resumed.claim() { slot.resume() }
            }
        }
    }

    /// Holds the continuation for whichever of signal and cancellation comes first.
    private final class ContinuationSlot: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Void, Never>?
        private var resumeEarly = false
        func set(_ continuation: CheckedContinuation<Void, Never>) {
            lock.lock()
            if resumeEarly { lock.unlock(); continuation.resume(); return }
            self.continuation = continuation
            lock.unlock()
        }
        func resume() {
            lock.lock()
            guard let continuation else { resumeEarly = true; lock.unlock(); return }
            self.continuation = nil
            lock.unlock()
            continuation.resume()
        }
    }

    private final class Resumed: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func claim() -> Bool { lock.lock(); defer { lock.unlock() }; defer { done = true }; return !done }
    }

    private enum Sources {
        nonisolated(unsafe) static var all: [any DispatchSourceSignal] = []
        static let lock = NSLock()
        static func keep(_ source: any DispatchSourceSignal) { lock.lock(); all.append(source); lock.unlock() }
    }
}

/// Runs `work` until it finishes or the user interrupts; returns false when interrupted.
func untilInterrupted(_ work: @escaping @Sendable () async throws -> Void) async throws -> Bool {
    try await interruptible(work) != nil
}

/// Runs `work` as ``untilInterrupted(_:)`` does, keeping its error instead
/// of throwing it, so that the caller finishes first (finalises the take,
/// prints the levels) and passes the error on after.
func untilInterruptedKeepingError(_ work: @escaping @Sendable () async throws -> Void) async -> Result<Bool, any Error> {
    do { return .success(try await untilInterrupted(work)) } catch { return .failure(error) }
}

/// Runs `work` until it finishes or the user interrupts (it is then
/// cancelled); returns its result, or nil when interrupted.
func interruptible<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T? {
    // Armed before the work starts: a signal from then on is the interrupt.
    let interrupt = Interrupt.Waiter()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask { await interrupt.wait(); return nil }
        let outcome = try await group.next()!
        group.cancelAll()
        return outcome
    }
}

/// Waits on the audio clock until the timeline reaches `end` (with no end,
/// until cancelled), calling `show` with the position every tenth of a second
/// of audio. Throws when the server goes away, so nothing waits forever.
func followPosition(of io: AudioInterface, until end: Int64?, show: (Int64) throws -> Void) async throws {
    let step = Int64(max(1, io.sampleRate / 10))
    while end.map({ io.position < $0 }) ?? true {
        let next = io.position + step
        try await io.waitUntilPosition(reaches: end.map { min($0, next) } ?? next)
        try show(io.position)
    }
}

/// Peak and RMS of each channel over the chunks since the last reading.
final class LevelMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var peak: [Float]
    private var sumOfSquares: [Double]
    private var count = 0
    private var total: Int64 = 0

    /// The frames added since the meter was made (``reading()`` does not reset it).
    var framesAdded: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    init(channels: Int) {
        peak = Array(repeating: 0, count: channels)
        sumOfSquares = Array(repeating: 0, count: channels)
    }

    /// Adds the first `frames` frames of `chunk` (all by default).
    func add(_ chunk: InputAudioChunk, frames: Int? = nil) {
        let frames = max(0, min(frames ?? chunk.frameCount, chunk.frameCount))
        lock.lock()
        defer { lock.unlock() }
        for channel in 0..<min(chunk.channelCount, peak.count) {
            for sample in chunk.samples(channel: channel).prefix(frames) {
                peak[channel] = max(peak[channel], abs(sample))
                sumOfSquares[channel] += Double(sample) * Double(sample)
            }
        }
        count += frames
        total += Int64(frames)
    }

    /// `peak / RMS` in dBFS per channel, and resets.
    func reading() -> [(peak: Double, rms: Double)] {
        lock.lock()
        defer {
            peak = peak.map { _ in 0 }
            sumOfSquares = sumOfSquares.map { _ in 0 }
            count = 0
            lock.unlock()
        }
        return zip(peak, sumOfSquares).map { peak, squares in
            (decibels(Double(peak)), decibels((squares / Double(max(1, count))).squareRoot()))
        }
    }

    static func bar(_ level: Double, width: Int = 20) -> String {
        // -60 dBFS and below (silence is -inf) shows as empty.
        let fraction = level.isFinite ? max(0, min(1, (level + 60) / 60)) : 0
        let filled = Int((fraction * Double(width)).rounded())
        return String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    }
}

func decibels(_ value: Double) -> Double { value > 0 ? 20 * log10(value) : -.infinity }

func formatLevel(_ level: Double) -> String { level.isFinite ? String(format: "%6.1f", level) : "  -inf" }

func formatTime(frames: Int64, rate: Int) -> String {
    let seconds = Double(frames) / Double(rate)
    let minutes = Int(seconds) / 60
    return String(format: "%d:%05.2f", minutes, seconds - Double(minutes * 60))
}

/// Writes a status line that redraws itself on a terminal and is printed plainly otherwise.
struct StatusLine {
    let enabled: Bool
    let terminal = isatty(STDERR_FILENO) != 0

    func show(_ text: String) {
        guard enabled else { return }
        if terminal { writeToStandardError("\r\u{1B}[K\(text)") }
    }

    func finish(_ text: String) {
        guard enabled else { return }
        writeToStandardError((terminal ? "\r\u{1B}[K" : "") + text + "\n")
    }

    /// Erases the line, leaving nothing in its place.
    func clear() {
        guard enabled, terminal else { return }
        writeToStandardError("\r\u{1B}[K")
    }
}

/// The files a command reads, `-` (standard input) among them. libsndfile
/// tells a type from its header, which it may have to seek back to, and a
/// file is opened twice (its channels, then its samples), so what cannot be
/// read twice (standard input, `/dev/stdin`, a FIFO, `<(sox …)`) is first
/// copied to a temporary file. The copy is unlinked as soon as it is made
/// and read through `/proc/self/fd/N`, so nothing is left behind however
/// amio ends (Ctrl-C, a kill); it holds at most ``limit`` bytes, since a
/// clip is loaded whole before it plays in any case.
final class InputFiles {
    let urls: [URL]
    private var descriptors: [Int32] = []

    /// 4 GiB: three hours of 48 kHz stereo in 16 bits.
    static let limit = 4 << 30

    init(_ paths: [String]) throws {
        var urls: [URL] = []
        for path in paths {
            var status = stat()
            let kind = stat(path, &status) == 0 ? status.st_mode & S_IFMT : S_IFREG
            guard path == "-" || !(kind == S_IFREG || kind == S_IFDIR) else {
                urls.append(URL(fileURLWithPath: path))
                continue
            }
            let shown = path == "-" ? "standard input" : path
            var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("amio-input-XXXXXX").path.utf8CString)
            let copy = mkstemp(&template)
            guard copy >= 0 else {
                throw AMIOError.fileError(path: shown, problem: .writeFailed, message: "no room for a copy: \(String(cString: strerror(errno)))")
            }
            _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
            descriptors.append(copy)
            let source = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
            guard source >= 0 else { throw AMIOError.fileError(path: path, problem: .unreadable, message: String(cString: strerror(errno))) }
            defer { if source != STDIN_FILENO { close(source) } }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total = 0
            while true {
                let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw AMIOError.fileError(path: shown, problem: .unreadable, message: String(cString: strerror(errno))) }
                if count == 0 { break }
                total += count
                guard total <= Self.limit else {
                    throw AMIOError.fileError(path: shown, problem: .unsupported,
                                              message: "it holds more than \(Self.limit >> 30) GiB, and amio loads what it plays whole: give a file")
                }
                let written = buffer.withUnsafeBytes { write(copy, $0.baseAddress, count) }
                guard written == count else {
                    throw AMIOError.fileError(path: shown, problem: .writeFailed, message: "no room for a copy: \(String(cString: strerror(errno)))")
                }
            }
            // Nothing came (`< /dev/null`, a producer that failed): said so, not "format not recognised".
            guard total > 0 else {
                throw AMIOError.fileError(path: shown, problem: .unreadable, message: "it is empty: no audio came")
            }
            let url = URL(fileURLWithPath: "/proc/self/fd/\(copy)")
            DisplayNames.shared.set(shown, for: url.path)
            urls.append(url)
        }
        self.urls = urls
    }

    deinit { for descriptor in descriptors { close(descriptor) } }
}

/// What to call a file in messages when its path is one amio made (the copy
/// of standard input), so that errors name what the user gave.
final class DisplayNames: @unchecked Sendable {
    static let shared = DisplayNames()
    private let lock = NSLock()
    private var names: [String: String] = [:]

    func set(_ name: String, for path: String) {
        lock.lock()
        names[path] = name
        lock.unlock()
    }

    /// `text` with every path amio made replaced by what the user gave.
    func apply(_ text: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        return names.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
    }
}

/// Where a command writes `path`: standard output for `-` (libsndfile
/// streams it; WAV as sox writes it to a pipe).
enum OutputFile {
    static func url(_ path: String) -> URL {
        guard path == "-" else { return URL(fileURLWithPath: path) }
        DisplayNames.shared.set("standard output", for: "/dev/stdout")
        return URL(fileURLWithPath: "/dev/stdout")
    }
}
