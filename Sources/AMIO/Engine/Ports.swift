import CAMIO

/// One port of the JACK graph.
public struct JACKPort: Sendable, Hashable {
    /// The full name, `client:port`.
    public var name: String
    /// JACK's port type, e.g. `32 bit float mono audio`.
    public var type: String
    /// Whether data flows into the port (a playback or client input port).
    public var isInput: Bool
    /// Whether the port is a physical (hardware, or the dummy driver's) port.
    public var isPhysical: Bool
    /// The capture latency range in frames.
    public var captureLatency: ClosedRange<Int>
    /// The playback latency range in frames.
    public var playbackLatency: ClosedRange<Int>
    /// Full names of the ports it is connected to.
    public var connections: [String]
}

extension AudioInterface {
    /// Every port of the JACK graph, with direction, type, latency and connections,
    /// in the order JACK lists them.
    ///
    /// - Throws: ``AMIOError/closed`` or ``AMIOError/serverShutdown(reason:)``.
    public func ports() throws(AMIOError) -> [JACKPort] {
        if let error = session.core.terminalError { throw error }
        var names: UnsafeMutablePointer<UnsafePointer<CChar>?>? = nil
        let count = Int(camio_jack_list_ports(session.jack, &names))
        defer { camio_jack_free_names(names) }
        var ports: [JACKPort] = []
        let maxConnections = 64
        let nameSize = Int(CAMIO_PORT_NAME_SIZE)
        var connections = [CChar](repeating: 0, count: maxConnections * nameSize)
        for index in 0..<count {
            guard let name = names?[index] else { continue }
            var info = camio_port_info()
            guard camio_jack_port_info(session.jack, name, &info, &connections, UInt32(maxConnections)) else { continue }
            let linked = (0..<min(Int(info.connection_count), maxConnections)).map { i in
                String(cBuffer: Array(connections[(i * nameSize)..<((i + 1) * nameSize)]))
            }
            ports.append(JACKPort(
                name: withUnsafeBytes(of: info.name) { String(cBuffer: Array($0.bindMemory(to: CChar.self))) },
                type: withUnsafeBytes(of: info.type) { String(cBuffer: Array($0.bindMemory(to: CChar.self))) },
                isInput: info.is_input != 0, isPhysical: info.is_physical != 0,
                captureLatency: Int(info.capture_latency_min)...Int(max(info.capture_latency_min, info.capture_latency_max)),
                playbackLatency: Int(info.playback_latency_min)...Int(max(info.playback_latency_min, info.playback_latency_max)),
                connections: linked))
        }
        return ports
    }
}
