import CRealtimeProbe
import Foundation

/// A thread's page faults so far, from /proc/self/task/<tid>/stat.
enum ThreadFaults {
    struct Unreadable: Error { let path: String }

    /// The kernel id of POSIX thread `thread` of this process. The thread is
    /// given a name of its own from this thread (pthread_setname_np writes
    /// its /proc entry; the thread itself makes no system call), then found
    /// by it.
    static func kernelID(of thread: UInt64) throws -> Int64 {
        let name = "amio-probe-\(thread % 10000)"
        guard amio_probe_name_thread(thread, name) == 0 else { throw Unreadable(path: "pthread_setname_np") }
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        for task in tasks {
            let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            if comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name, let tid = Int64(task) { return tid }
        }
        throw Unreadable(path: "/proc/self/task/*/comm named \(name)")
    }

    /// Minor plus major faults of kernel thread `tid` of this process.
    static func read(_ tid: Int64) throws -> Int {
        let path = "/proc/self/task/\(tid)/stat"
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { throw Unreadable(path: path) }
        // After the command's closing parenthesis: state is field 3, minflt 10, majflt 12.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 9, let minor = Int(fields[7]), let major = Int(fields[9]) else { throw Unreadable(path: path) }
        return minor + major
    }
}

/// What the realtime probe (Tests/CRealtimeProbe) counted on the watched thread.
struct ProbeCounts: Equatable, CustomStringConvertible {
    struct Kinds: Equatable, CustomStringConvertible {
        var allocations = 0, locks = 0, waits = 0, io = 0, mappings = 0
        var description: String {
            "\(allocations) allocations, \(locks) locks, \(waits) waits, \(io) reads/writes, \(mappings) maps/unmaps"
        }
    }
    static let none = Kinds()
    /// Anywhere on the thread, and only inside the engine's cycles.
    var onThread: Kinds, inCycle: Kinds
    var allocations: Int { onThread.allocations }

    static func read() -> ProbeCounts {
        func kinds(_ inCycle: Bool) -> Kinds {
            func count(_ kind: amio_probe_kind) -> Int { Int(amio_probe_count(kind, inCycle)) }
            return Kinds(allocations: count(AMIO_PROBE_ALLOCATION), locks: count(AMIO_PROBE_LOCK), waits: count(AMIO_PROBE_WAIT),
                         io: count(AMIO_PROBE_IO), mappings: count(AMIO_PROBE_MAPPING))
        }
        return ProbeCounts(onThread: kinds(false), inCycle: kinds(true))
    }

    var description: String { "on the thread: \(onThread); inside cycles: \(inCycle)" }
}


/// Whether this process may lock any amount of memory (RLIMIT_MEMLOCK
/// unlimited, or root's CAP_IPC_LOCK), so every lock must succeed.
enum LockedMemory {
    static var isUnlimited: Bool { amio_probe_memory_lock_unlimited() != 0 || getuid() == 0 }
}
