import AMIO
import ArgumentParser
import Foundation

/// What a finished render wrote.
struct Bounce: Sendable {
    let frames: Int
    let sampleRate: Int
}

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bounce a session to a file with the offline driver, faster than real time.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The session file (JSON).")
    var session: String

    @Argument(help: "The file to write; - writes standard output (wav unless --type says otherwise).")
    var output: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Sample rate, 1...768000, in Hz (44100) or kHz (44.1k) (default: the session's, else 48000).",
                                                    valueName: "rate"), transform: RateArgument.parse)
    var rate: Int?

    @Option(name: [.customShort("t"), .long, .customLong("format")], help: FileType.typeHelp)
    var type: String?

    @Option(name: .shortAndLong, help: FileType.encodingHelp(defaultEncoding: .float))
    var encoding: String?

    @Option(name: [.customShort("b"), .long], parsing: .unconditional, help: FileType.bitsHelp)
    var bits: Int?

    func validate() throws {
        if let rate, !(1...768_000).contains(rate) { throw ValidationError("--rate must be 1...768000") }
    }

    func run() async throws {
        let fileType = try FileType.forWriting(output, type: type)
        let encoding = try fileType.encoding(self.encoding, bits: bits, commandDefault: .float)
        let url = OutputFile.url(output)
        try await perform(options) { logger in
            let session = try Session(contentsOf: URL(fileURLWithPath: self.session))
            let status = StatusLine(enabled: !options.quiet)
            let started = Date()
            // Streamed to the file a block at a time: memory does not grow with the length.
            // Ctrl-C cancels it, and the unfinished file is removed (a file, never a pipe or device).
            let rendered = try await interruptible { [rate] () async throws -> Bounce in
                let (frames, sampleRate) = try await session.render(to: url, format: fileType.format, encoding: encoding,
                                                                    sampleRate: rate) { fraction in
                    let filled = max(0, min(30, Int(fraction * 30)))
                    status.show("rendering [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] \(Int(fraction * 100))%")
                }
                return Bounce(frames: frames, sampleRate: sampleRate)
            }
            guard let (frames, sampleRate) = rendered.map({ ($0.frames, $0.sampleRate) }) else {
                status.finish("interrupted: \(output) was not finished" + (output == "-" ? "" : ", and is removed"))
                throw ExitCode(ExitStatus.interrupted)
            }
            let seconds = Date().timeIntervalSince(started)
            let duration = Double(frames) / Double(sampleRate)
            status.finish(String(format: "rendered %@ (%@, %d Hz, %d channels) in %.2f s, %.0f× real time", output,
                                 formatTime(frames: Int64(frames), rate: sampleRate), sampleRate,
                                 session.outputs, seconds, duration / max(seconds, 1e-6)))
            logger.debug("rendered \(frames) frames")
        }
    }
}
