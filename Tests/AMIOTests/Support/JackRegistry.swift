import Foundation

/// jack2's registry of running servers, as the test harness reads it: at
/// most 8 entries (pid, `jack-UID:NAME:`) in the shared memory segment
/// `/dev/shm/jack-shm-registry`.
///
/// jackd leaves its entry when it exits; a jackd that was killed leaves it
/// behind, dead, and jack2 frees a dead entry only when a server of the same
/// name registers. With 8 dead entries no jackd starts at all, and it says
/// nothing of why (it prints its banner and exits with status 255). The test
/// servers take their names from a small pool (``JackServer/NameClaim``), so
/// they free their own; this frees what others left (a killed server of an
/// older test run, a user's), the way jack2 itself does: by starting a
/// server of each dead entry's name for a moment. The segment is only read
/// here, never written: jack2 guards it with a semaphore of its own.
enum JackRegistry {
    struct Entry: CustomStringConvertible {
        var pid: Int32
        /// The server's name, without jack2's `jack-UID:` prefix and `:` suffix.
        var name: String
        /// Whether the entry belongs to this user (jack2 prefixes it with the uid).
        var isOwn: Bool
        var isAlive: Bool { kill(pid, 0) == 0 || errno == EPERM }
        var description: String { "\(name) (pid \(pid), \(isAlive ? "running" : "dead"))" }
    }

    static let path = "/dev/shm/jack-shm-registry"
    /// jack2's `JACK_SHM_MAGIC`, "JACK".
    private static let magic: UInt32 = 0x4a41_434b
    private static let maximumServers = 8
    /// `jack_shm_header_t` up to its server array, and one `jack_shm_server_t`
    /// (pid, then a name of 257 bytes, padded to 4), on Linux.
    private static let headerLength = 24
    private static let entryLength = 264

    /// The registry's occupied entries; empty when there is no registry, or
    /// one of a layout this reader does not know (then nothing is touched).
    static func entries() -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path),
              data.count >= headerLength + maximumServers * entryLength else { return [] }
        let bytes = [UInt8](data)
        func uint32(at offset: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
        }
        guard uint32(at: 0) == magic else { return [] }
        let ownPrefix = "jack-\(getuid()):"
        return (0..<maximumServers).compactMap { slot in
            let base = headerLength + slot * entryLength
            let pid = Int32(bitPattern: uint32(at: base))
            guard pid > 0 else { return nil }
            let field = bytes[(base + 4)..<(base + entryLength)]
            let registered = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
            let isOwn = registered.hasPrefix(ownPrefix) && registered.hasSuffix(":")
            let name = isOwn ? String(registered.dropFirst(ownPrefix.count).dropLast()) : registered
            return Entry(pid: pid, name: name, isOwn: isOwn)
        }
    }

    /// When every entry is taken, frees this user's dead ones: for each, a
    /// jackd of its name starts (jack2 reclaims the entry as it registers)
    /// and is stopped again at once (it leaves the registry as it exits).
    /// - Returns: The names freed.
    @discardableResult
    static func freeDeadEntriesIfFull() -> [String] {
        let entries = entries()
        guard entries.count == maximumServers, let jackd = try? JackServer.locate("jackd") else { return [] }
        var freed: [String] = []
        for entry in entries where entry.isOwn && !entry.isAlive && !entry.name.isEmpty {
            guard let server = try? ChildProcess(jackd, ["--no-realtime", "-n", entry.name, "-d", "dummy"]) else { continue }
            let started = JackServer.waitUntilServing(entry.name, process: server, within: 10,
                                                      environment: ["JACK_DEFAULT_SERVER": entry.name])
            server.send(SIGTERM)
            _ = try? server.waitForExit(within: JackServer.exitGrace)
            if started { freed.append(entry.name) }
        }
        if !freed.isEmpty {
            FileHandle.standardError.write(Data("JackRegistry: freed the dead entries of \(freed.joined(separator: ", "))\n".utf8))
        }
        return freed
    }
}
