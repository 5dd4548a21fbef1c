import AMIO
import ArgumentParser
import Foundation

struct PlayRecord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "playrec", abstract: "Play a file and record the inputs for the same span (measurement).")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var xruns: XrunOptions

    @Argument(help: "The file to play; - reads standard input.")
    var input: String

    @Argument(help: "The file to record into; - writes standard output.")
    var output: String

    @Option(name: [.customShort("t"), .long, .customLong("format")], help: FileType.typeHelp)
    var type: String?

    @Option(name: .shortAndLong, help: FileType.encodingHelp(defaultEncoding: .float))
    var encoding: String?

    @Option(name: [.customShort("b"), .long], parsing: .unconditional, help: FileType.bitsHelp)
    var bits: Int?

    @Option(parsing: .upToNextOption, help: "Ports to play to (default: the physical ones).")
    var to: [String] = []

    @Option(parsing: .upToNextOption, help: "Ports to record from (default: the physical ones).")
    var from: [String] = []

    func run() async throws {
        let fileType = try FileType.forWriting(output, type: type)
        let encoding = try fileType.encoding(self.encoding, bits: bits, commandDefault: .float)
        let outputURL = OutputFile.url(output)
        try await perform(options) { logger in
            let inputs = try InputFiles([input])
            let inputURL = inputs.urls[0]
            let file = try AudioFile(forReading: inputURL)
            let (channels, fileFrames, fileRate) = (file.channelCount, file.frameCount, file.sampleRate)
            file.close()
            try await Connection.with(options, inputs: channels, outputs: channels, connectPhysical: true, logger: logger) { io in
                // Each side goes to the physical ports unless its own option names others.
                let graph = try io.ports()
                func links(of port: String) -> [String] { graph.first { $0.name == port }?.connections ?? [] }
                if !to.isEmpty {
                    for output in io.outputPortNames { for link in links(of: output) { try io.disconnect(output, from: link) } }
                    for (output, port) in zip(io.outputPortNames, to) { try io.connect(output, to: port) }
                }
                if !from.isEmpty {
                    for input in io.inputPortNames { for link in links(of: input) { try io.disconnect(link, from: input) } }
                    for (port, input) in zip(from, io.inputPortNames) { try io.connect(port, to: input) }
                }
                // Ctrl-C, or an xrun with --fatal-xruns, cancels the take, which keeps what it recorded.
                let take = Task { () throws -> RecordingSummary in
                    try await io.playAndRecord(file: inputURL, to: outputURL, format: fileType.format, encoding: encoding)
                }
                let rate = io.sampleRate
                // For the status line only: the header's length, at the server's rate.
                let length = fileFrames.map { Int64((Double($0) * Double(rate) / Double(fileRate)).rounded()) }
                let status = StatusLine(enabled: !options.quiet)
                let watch = XrunWatch(io, fatal: xruns.fatalXruns)
                let progress = Task {
                    do {
                        while !Task.isCancelled {
                            try await Task.sleep(nanoseconds: 100_000_000)
                            let position = max(0, io.position)
                            try watch.check(at: position)
                            status.show("playing and recording \(formatTime(frames: position, rate: rate))"
                                + (length.map { " / \(formatTime(frames: $0, rate: rate))" } ?? "") + watch.summary)
                        }
                    } catch is CancellationError {
                    } catch {
                        take.cancel()
                        throw error
                    }
                }
                let interrupted = Task {
                    await Interrupt.wait()
                    take.cancel()
                }
                let result = await take.result
                interrupted.cancel()
                progress.cancel()
                let summary = try result.get()
                let cut = summary.ending == .stopped ? " (interrupted)" : ""
                status.finish("played \(input) and recorded \(summary.framesWritten) frames to \(output)\(cut), "
                    + "\(summary.droppedFrames) dropped (round trip \(io.latency.roundTrip) frames compensated)" + watch.summary)
                // A fatal xrun ended the take: it is kept, and the status says why.
                try await progress.value
            }
        }
    }
}
