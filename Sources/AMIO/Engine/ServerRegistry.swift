import Glibc
import Synchronization

/// libjack connects a process to one JACK server at a time: a client opened on a
/// second server silently joins the first. The registry turns that into an error.
final class ServerRegistry: Sendable {
    static let shared = ServerRegistry()
    private let state = Mutex<(server: String?, clients: Int)>((nil, 0))

    /// The name libjack resolves `nil` to.
    static func resolve(_ serverName: String?) -> String {
        if let serverName { return serverName }
        if let name = getenv("JACK_DEFAULT_SERVER") { return String(cString: name) }
        return "default"
    }

    /// Registers one more client of `serverName`.
    ///
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` while clients of another server are open.
    func acquire(_ serverName: String?) throws(AMIOError) -> String {
        let key = Self.resolve(serverName)
        let busy: String? = state.withLock { state in
            if let server = state.server, server != key, state.clients > 0 { return server }
            state = (key, state.clients + 1)
            return nil
        }
        if let busy {
            throw .invalidArgument(name: "serverName", reason: "this process has interfaces open on JACK server "
                + "'\(busy)'; libjack serves one server per process, so close them before opening one on '\(key)'")
        }
        return key
    }

    func release(_ key: String) {
        state.withLock { state in
            if state.server == key && state.clients > 0 { state.clients -= 1 }
        }
    }
}
