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
    public var captureLatency: ClosedRange<FrameCount>
    /// The playback latency range in frames.
    public var playbackLatency: ClosedRange<FrameCount>
    /// Full names of the ports it is connected to.
    public var connections: [String]
}

extension AudioInterface {
    /// Every port of the JACK graph, with direction, type, latency and connections,
    /// in the order JACK lists them.
    ///
    /// Safe from any thread, also while ``close()`` runs (see ``connect(_:to:)``):
    /// the graph is read through the client with no other call using it.
    ///
    /// - Returns: The ports, the interface's own among them.
    /// - Throws: ``AMIOError/closed`` once closing has begun, or
    ///   ``AMIOError/serverShutdown(reason:)`` when the server has gone away.
    public func ports() throws(AMIOError) -> [JACKPort] {
        if let error = session.core.terminalError { throw error }
        return try session.withOpenClient { jack throws(AMIOError) in Self.ports(of: jack) }
    }

    /// Every port of the graph, through the open client `jack`.
    private static func ports(of jack: OpaquePointer) -> [JACKPort] {
        var names: UnsafeMutablePointer<UnsafePointer<CChar>?>? = nil
        let count = Int(camio_jack_list_ports(jack, &names))
        defer { camio_jack_free_names(names) }
        var ports: [JACKPort] = []
        let maxConnections = 64
        let nameSize = Int(CAMIO_PORT_NAME_SIZE)
        var connections = [CChar](repeating: 0, count: maxConnections * nameSize)
        for index in 0..<count {
            guard let name = names?[index] else { continue }
            var info = camio_port_info()
            guard camio_jack_port_info(jack, name, &info, &connections, UInt32(maxConnections)) else { continue }
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

/// A cable between two JACK ports.
public struct JACKCable: Sendable, Hashable, CustomStringConvertible {
    /// The output port's full name.
    public var source: String
    /// The input port's full name.
    public var destination: String

    /// Creates a cable description.
    ///
    /// - Parameters:
    ///   - source: An output port's full name.
    ///   - destination: An input port's full name.
    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }

    /// `source -> destination`.
    public var description: String { "\(source) -> \(destination)" }
}

/// How ``AudioInterface/connectLoopback(_:)`` loops outputs back to inputs.
public enum LoopbackRoute: Sendable, Hashable {
    /// Through `system` when it has monitor ports (a PipeWire sink), else
    /// the interface's own cables.
    case automatic
    /// The interface's own `out_i → in_i` cables (jackd delays them one period).
    case ownCables
    /// Through the named client's `playback_X` and `monitor_X` ports.
    case sink(String)
}

extension AudioInterface {
    /// Loops each output back to the input of the same number, for
    /// measurements and tests without sound hardware: output `i` is heard
    /// on input `i` one period later, and the engine finds that loop in the
    /// graph and compensates it (``Latency/isFedBack``), so input chunks
    /// line up with the timeline at offset 0.
    ///
    /// On jackd the loop is the interface's own `out_i → in_i` cable. PipeWire's
    /// JACK carries nothing on such a cable, so there the loop goes through a
    /// sink whose monitor ports give back what it played: `out_i →
    /// SINK:playback_X` and `SINK:monitor_X → in_i`, X the sink's channels in
    /// JACK's order (a sink mixes what every client plays into it).
    ///
    /// It reads the graph and makes each cable in separate calls, each safe
    /// against ``close()`` on another thread: should closing begin meanwhile,
    /// the cables made so far stay (until the client closes) and it throws.
    ///
    /// - Parameter route: Which way; ``LoopbackRoute/automatic`` by default.
    /// - Returns: The cables made.
    /// - Throws: ``AMIOError/invalidArgument(name:reason:)`` when the sink has
    ///   fewer monitored channels than the interface has outputs paired with
    ///   inputs; ``AMIOError/connectionFailed(source:destination:code:)``,
    ///   ``AMIOError/closed`` or ``AMIOError/serverShutdown(reason:)``.
    @discardableResult
    public func connectLoopback(_ route: LoopbackRoute = .automatic) throws(AMIOError) -> [JACKCable] {
        let pairs = Array(zip(outputPortNames, inputPortNames))
        let ports = try self.ports()
        func monitoredChannels(of client: String) -> [(playback: String, monitor: String)] {
            let outputs = Set(ports.filter { !$0.isInput }.map(\.name))
            let prefix = "\(client):playback_"
            return ports.filter { $0.isInput && $0.name.hasPrefix(prefix) }.compactMap { port in
                let monitor = "\(client):monitor_" + port.name.dropFirst(prefix.count)
                return outputs.contains(monitor) ? (port.name, monitor) : nil
            }
        }
        let through: String?
        switch route {
        case .automatic: through = monitoredChannels(of: "system").isEmpty ? nil : "system"
        case .ownCables: through = nil
        case let .sink(name): through = name
        }
        let cables: [JACKCable]
        if let through {
            let channels = monitoredChannels(of: through)
            guard channels.count >= pairs.count else {
                throw .invalidArgument(name: "sink", reason: "'\(through)' has \(channels.count) playback ports with "
                    + "monitors; looping \(pairs.count) channels back needs as many")
            }
            cables = zip(pairs, channels).flatMap { pair, channel in
                [JACKCable(source: pair.0, destination: channel.playback),
                 JACKCable(source: channel.monitor, destination: pair.1)]
            }
        } else {
            cables = pairs.map { JACKCable(source: $0, destination: $1) }
        }
        for cable in cables { try connect(cable.source, to: cable.destination) }
        return cables
    }
}
