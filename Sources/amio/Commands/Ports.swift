import AMIO
import ArgumentParser
import Foundation

struct Ports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List JACK ports with direction, type, latency and connections.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await perform(options) { logger in
            let ports = try await Connection.with(options, inputs: 0, outputs: 0, connectPhysical: false, logger: logger) { io in
                try io.ports()
            }
            let width = ports.map(\.name.count).max() ?? 0
            for port in ports {
                let direction = port.isInput ? "input " : "output"
                let kind = port.isPhysical ? "physical" : "client  "
                let latency = "capture \(port.captureLatency.lowerBound)..\(port.captureLatency.upperBound)"
                    + " playback \(port.playbackLatency.lowerBound)..\(port.playbackLatency.upperBound)"
                let arrow = port.isInput ? "<-" : "->"
                let links = port.connections.isEmpty ? "" : "  \(arrow) " + port.connections.joined(separator: ", ")
                StandardOutput.print("\(port.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(direction)  \(kind)  \(port.type)  \(latency)\(links)")
            }
        }
    }
}
