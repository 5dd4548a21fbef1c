import Foundation

/// The status bits JACK returns when a client cannot be opened or is cut off.
public struct JACKStatus: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// JACK's `jack_status_t` bits.
    public let rawValue: UInt32
    /// Wraps JACK's `jack_status_t` bits.
    ///
    /// - Parameter rawValue: The bits, as `jack_client_open` reports them.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The operation failed.
    public static let failure = JACKStatus(rawValue: 0x01)
    /// The options were invalid.
    public static let invalidOption = JACKStatus(rawValue: 0x02)
    /// The client name was not unique.
    public static let nameNotUnique = JACKStatus(rawValue: 0x04)
    /// A server was started for this client.
    public static let serverStarted = JACKStatus(rawValue: 0x08)
    /// No server could be reached.
    public static let serverFailed = JACKStatus(rawValue: 0x10)
    /// Communication with the server failed.
    public static let serverError = JACKStatus(rawValue: 0x20)
    /// The requested client does not exist.
    public static let noSuchClient = JACKStatus(rawValue: 0x40)
    /// An internal client could not be loaded.
    public static let loadFailure = JACKStatus(rawValue: 0x80)
    /// An internal client could not be initialised.
    public static let initFailure = JACKStatus(rawValue: 0x100)
    /// Shared memory could not be attached.
    public static let sharedMemoryFailure = JACKStatus(rawValue: 0x200)
    /// Client and server protocol versions differ.
    public static let versionError = JACKStatus(rawValue: 0x400)
    /// The server's backend failed.
    public static let backendError = JACKStatus(rawValue: 0x800)
    /// The client was closed by the server.
    public static let clientZombie = JACKStatus(rawValue: 0x1000)

    private static let names: [(JACKStatus, String)] = [
        (.failure, "failure"), (.invalidOption, "invalid option"),
        (.nameNotUnique, "name not unique"), (.serverStarted, "server started"),
        (.serverFailed, "server failed"), (.serverError, "server error"),
        (.noSuchClient, "no such client"), (.loadFailure, "load failure"),
        (.initFailure, "init failure"), (.sharedMemoryFailure, "shared memory failure"),
        (.versionError, "version error"), (.backendError, "backend error"),
        (.clientZombie, "client zombie"),
    ]

    /// The bits in hex and in words, e.g. `0x11 (failure, server failed)`.
    public var description: String {
        let words = Self.names.filter { contains($0.0) }.map(\.1)
        let hex = "0x" + String(rawValue, radix: 16)
        return words.isEmpty ? hex : "\(hex) (\(words.joined(separator: ", ")))"
    }
}

/// Every error SwiftAMIO throws. Each case says what was wrong and with which
/// value; a call that throws has changed nothing.
///
/// ``description`` and Foundation's `localizedDescription` (through
/// ``errorDescription``) give the same sentence, so an error printed with
/// `print(error)`, `"\(error)"` or `error.localizedDescription` reads alike.
public enum AMIOError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// No JACK server could be reached (or it refused the client).
    case serverUnavailable(server: String?, status: JACKStatus, message: String)
    /// The client opened but could not register its ports or activate.
    case clientStartFailed(message: String)
    /// The interface was closed; nothing can be done with it any more.
    case closed
    /// The JACK server went away while the interface was open.
    case serverShutdown(reason: String)
    /// A playspec entry was rejected before anything was queued.
    case invalidPlayspec(entry: Int, reason: String)
    /// A clip could not be built from the given samples.
    case invalidClip(reason: String)
    /// An argument was outside what the call accepts.
    case invalidArgument(name: String, reason: String)
    /// As many changes as the interface was configured for are still outstanding.
    case changeQueueFull(capacity: Int)
    /// JACK refused to connect (or disconnect) two ports.
    case connectionFailed(source: String, destination: String, code: Int32)
    /// Memory for the engine or a playspec could not be allocated.
    case outOfMemory
    /// An audio file could not be read or written. `message` is libsndfile's own.
    case fileError(path: String, problem: FileProblem, message: String)
    /// Sample-rate conversion failed; `message` is libsoxr's own.
    case resamplingFailed(message: String)
    /// The operation was cancelled (its task was cancelled).
    case cancelled
    /// A session file is wrong at `location`, a JSON path such as `entries[3].gains`.
    case invalidSession(path: String, location: String, reason: String)

    /// A sentence naming what was wrong and with which value.
    public var description: String {
        switch self {
        case let .serverUnavailable(server, status, message):
            let name = server.map { "'\($0)'" } ?? "(default)"
            return "JACK server \(name) is unavailable: status \(status): \(message)"
        case let .clientStartFailed(message):
            return "the JACK client could not start: \(message)"
        case .closed:
            return "the audio interface is closed"
        case let .serverShutdown(reason):
            return "the JACK server shut down: \(reason)"
        case let .invalidPlayspec(entry, reason):
            return "invalid playspec: entry \(entry): \(reason)"
        case let .invalidClip(reason):
            return "invalid audio clip: \(reason)"
        case let .invalidArgument(name, reason):
            return "invalid \(name): \(reason)"
        case let .changeQueueFull(capacity):
            return "\(capacity) playspec changes are already outstanding; await some of them first"
        case let .connectionFailed(source, destination, code):
            return "cannot connect \(source) to \(destination) (JACK error \(code))"
        case .outOfMemory:
            return "out of memory"
        case let .fileError(path, problem, message):
            return "\(path): \(problem.rawValue): \(message)"
        case let .resamplingFailed(message):
            return "resampling failed: \(message)"
        case .cancelled:
            return "cancelled"
        case let .invalidSession(path, location, reason):
            return "\(path): \(location): \(reason)"
        }
    }

    /// The sentence ``description`` gives: what `localizedDescription` shows,
    /// instead of Foundation's "(AMIO.AMIOError error 8.)".
    public var errorDescription: String? { description }
}

/// What was wrong with an audio file.
public enum FileProblem: String, Sendable, Hashable {
    /// There is no file at the path.
    case missing
    /// The file exists but cannot be opened.
    case unreadable
    /// The file holds no audio frames.
    case empty
    /// The file ends before the audio its header announces.
    case truncated
    /// The file's contents are damaged.
    case corrupt
    /// libsndfile does not support the file's format or the requested format and encoding.
    case unsupported
    /// Writing failed (the disk is full, the file cannot be created, …).
    case writeFailed = "write failed"
}
