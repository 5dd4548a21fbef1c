/// What a command-line program built on SwiftAMIO should exit with.
extension AMIOError {
    /// The sysexits(3) status for this error, as `amio` and the examples
    /// use it: 64 (`EX_USAGE`) for a bad argument or port name, 65
    /// (`EX_DATAERR`) for a bad file, session, playspec or clip, 69
    /// (`EX_UNAVAILABLE`) when there is no JACK server or it went away, 74
    /// (`EX_IOERR`) when a file cannot be written, and 70 (`EX_SOFTWARE`)
    /// for the rest (the client could not start, the interface is closed,
    /// the change queue is full, memory ran out, cancelled).
    public var exitStatus: Int32 {
        switch self {
        case .invalidArgument, .connectionFailed: 64
        case .invalidSession, .invalidPlayspec, .invalidClip, .resamplingFailed: 65
        case let .fileError(_, problem, _): problem == .writeFailed ? 74 : 65
        case .serverUnavailable, .serverShutdown: 69
        case .clientStartFailed, .closed, .changeQueueFull, .outOfMemory, .cancelled: 70
        }
    }
}
