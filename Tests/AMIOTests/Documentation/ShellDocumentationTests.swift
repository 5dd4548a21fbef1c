@testable import AMIO
import Foundation
import Testing

/// A command a guide shows, and what it shows it printing.
struct DocumentedCommand: Sendable, CustomTestStringConvertible {
    let file: String
    let line: Int
    let command: String
    /// nil: the guide shows no output (an ```sh block), so only the status is checked.
    let output: [String]?
    let status: Int32

    var testDescription: String { "\(file):\(line): \(command)" }

    /// Commands the continuous integration script (`.ci/run`) runs itself,
    /// not this test: the test suite, which this test is part of (also as
    /// the `swift test` its PipeWire run is), the demo, and builds of the
    /// package the test is built from.
    static func isRunByCI(_ command: String) -> Bool {
        command.hasPrefix("bash scripts/test.sh") || command.hasPrefix("bash scripts/demo.sh")
            || command.hasPrefix("swift build") || command.contains("swift test")
    }

    /// The commands of `file`: each line of an ```sh block, and each `$ `
    /// line of a plain ``` block with the lines under it as its output. A
    /// trailing `# exit N` gives the status it ends with (0 otherwise); other
    /// trailing comments are the guide's, not the command's.
    static func commands(in file: String) throws -> [DocumentedCommand] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
        var commands: [DocumentedCommand] = []
        var fence: String?
        var pending: (line: Int, command: String, status: Int32, output: [String])?
        func flush() {
            if let pending {
                commands.append(DocumentedCommand(file: file, line: pending.line, command: pending.command,
                                                  output: pending.output, status: pending.status))
            }
            pending = nil
        }
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if fence == nil { fence = String(line.dropFirst(3)) } else { flush(); fence = nil }
                continue
            }
            guard let kind = fence else { continue }
            if kind == "sh" || kind == "bash" {
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty, !line.hasPrefix("#") else { continue }
                let (command, status) = split(line)
                commands.append(DocumentedCommand(file: file, line: index + 1, command: command, output: nil, status: status))
            } else if kind.isEmpty {
                if line.hasPrefix("$ ") {
                    flush()
                    let (command, status) = split(String(line.dropFirst(2)))
                    pending = (index + 1, command, status, [])
                } else {
                    pending?.output.append(line)
                }
            }
        }
        return commands.filter { !isRunByCI($0.command) }
    }

    /// The command without its trailing comment, and the status that comment gives.
    private static func split(_ line: String) -> (String, Int32) {
        // A comment starts at " #" outside quotes.
        var quote: Character?
        var previous: Character = " "
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "#", previous == " " {
                let comment = line[line.index(after: index)...].trimmingCharacters(in: .whitespaces)
                let status = comment.hasPrefix("exit ") ? Int32(comment.dropFirst(5).prefix { $0.isNumber }) ?? 0 : 0
                return (line[..<index].trimmingCharacters(in: .whitespaces), status)
            }
            previous = character
        }
        return (line.trimmingCharacters(in: .whitespaces), 0)
    }

    /// A printed line with what changes from run to run masked: the speed
    /// of a render (`in 0.08 s, 102× real time`) and an xrun count, which
    /// a loaded machine may raise. With `xrunsHappened`, also the frames a
    /// take dropped: jackd's dummy driver may skip a period when it runs
    /// late, and the take truly counts it. A drop without an xrun is never
    /// masked.
    static func masked(_ line: String, xrunsHappened: Bool = false) -> String {
        let masked = line
            .replacingOccurrences(of: #"in [0-9.]+ s, [0-9]+× real time"#, with: "in # s, #× real time", options: .regularExpression)
            .replacingOccurrences(of: #"xruns [0-9]+"#, with: "xruns #", options: .regularExpression)
            .replacingOccurrences(of: #", [0-9]+ xruns"#, with: ", # xruns", options: .regularExpression)
        return xrunsHappened
            ? masked.replacingOccurrences(of: #"[0-9]+ dropped"#, with: "# dropped", options: .regularExpression) : masked
    }

    /// Whether a printed line reports an xrun (`xruns 2`, `, 1 xruns`).
    static func reportsXruns(_ line: String) -> Bool {
        [#"xruns [1-9]"#, #", [1-9][0-9]* xruns"#].contains { line.range(of: $0, options: .regularExpression) != nil }
    }

    /// `printed` and `expected`, each line masked (``masked(_:xrunsHappened:)``)
    /// as its printed line calls for.
    static func masked(_ printed: [String], _ expected: [String]) -> (printed: [String], expected: [String]) {
        let xruns = printed.map(reportsXruns)
        func mask(_ lines: [String]) -> [String] {
            lines.enumerated().map { masked($1, xrunsHappened: $0 < xruns.count && xruns[$0]) }
        }
        return (mask(printed), mask(expected))
    }
}

extension JackTests {
    /// Every shell command of README.md and the guides runs, as written, in
    /// the directory the guide names (a copy of it), against this suite's
    /// server, in the guide's order; what it prints is what the guide shows.
    /// `swift run amio` is the amio built with this test (the same program:
    /// SwiftPM cannot run while it is testing), found first on PATH as `amio`.
    @Suite(.jackServer(period: 256), .serialized)
    struct ShellDocumentation {
        /// The guides and the directory each says its commands run in.
        static let guides: [(file: String, directory: String)] = [
            ("README.md", "."), ("Docs/Getting-Started.md", "."), ("Docs/Files-and-Recording.md", "."),
            ("Docs/CLI.md", "Examples/Sessions"),
        ]

        @Test(.enabled(if: JackServer.kind == .jackd, "the guides show a dummy jackd's ports and latencies"),
              arguments: guides.map(\.file))
        func everyCommandRunsAndPrintsWhatTheGuideShows(file: String) throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let named = Self.guides.first { $0.file == file }!.directory
            let workingDirectory: URL
            if named == "." {
                // The checkout, as far as the commands reach into it.
                for item in ["Examples", "scripts", "Docs"] {
                    try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent(item),
                                                               withDestinationURL: repositoryRoot.appendingPathComponent(item))
                }
                workingDirectory = directory
            } else {
                workingDirectory = directory.appendingPathComponent("guide")
                try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent(named), to: workingDirectory)
            }
            let binaries = amioTool.deletingLastPathComponent().path
            let environment = server.environment().merging([
                "PATH": "\(binaries):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            ]) { $1 }
            for documented in try DocumentedCommand.commands(in: file) {
                let command = documented.command.replacingOccurrences(of: "swift run amio", with: "amio")
                let bash = try JackServer.locate("bash")
                let result = try ChildProcess(bash, ["-c", "cd '\(workingDirectory.path)' && { \(command) ; } 2>&1"],
                                              environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
                    .waitForExit(within: 120)
                #expect(result.status == documented.status, "\(documented.testDescription): \(result.out)")
                guard let expected = documented.output else { continue }
                let printed = result.out.isEmpty ? []
                    : result.out.components(separatedBy: "\n").dropLast(result.out.hasSuffix("\n") ? 1 : 0)
                let compared = DocumentedCommand.masked(printed, expected)
                #expect(compared.printed == compared.expected, "\(documented.testDescription) printed:\n\(result.out)")
            }
        }
    }
}

/// What the guides' comparison forgives, and what it never does.
@Suite struct DocumentedOutputMaskingTests {
    static let shown = "played drum.wav and recorded 384000 frames to response.wav, 0 dropped (round trip 768 frames compensated)  xruns 0"

    @Test func aDropWithAnXrunIsForgiven() {
        let printed = "played drum.wav and recorded 384000 frames to response.wav, 256 dropped (round trip 768 frames compensated)  xruns 1"
        let compared = DocumentedCommand.masked([printed], [Self.shown])
        #expect(compared.printed == compared.expected)
        let record = DocumentedCommand.masked(["recorded 96000 frames (0:02.00) to take.flac, 512 dropped, 2 xruns"],
                                              ["recorded 96000 frames (0:02.00) to take.flac, 0 dropped, 0 xruns"])
        #expect(record.printed == record.expected)
    }

    @Test func aDropWithoutAnXrunFails() {
        let printed = "played drum.wav and recorded 384000 frames to response.wav, 256 dropped (round trip 768 frames compensated)  xruns 0"
        let compared = DocumentedCommand.masked([printed], [Self.shown])
        #expect(compared.printed != compared.expected)
        let record = DocumentedCommand.masked(["recorded 96000 frames (0:02.00) to take.flac, 512 dropped, 0 xruns"],
                                              ["recorded 96000 frames (0:02.00) to take.flac, 0 dropped, 0 xruns"])
        #expect(record.printed != record.expected)
    }
}
