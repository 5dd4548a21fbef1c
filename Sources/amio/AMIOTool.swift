import AMIO
import ArgumentParser
import Foundation

@main
struct AMIOTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amio",
        abstract: "Play, record, mix and render audio through JACK with SwiftAMIO.",
        discussion: """
            TIME is [[hh:]mm:]ss[.frac][t], frames with an s suffix (48000s, 1.7e6s), milliseconds \
            with ms (10ms), or a sum or difference of those (1:00+24000s), as in sox. A file name - is standard input or output.
            Exit codes: 0 success, 64 bad usage, 65 bad input file or session, 69 no JACK server \
            (or it went away), 70 internal failure, 74 I/O error, 75 an xrun with --fatal-xruns, \
            130 a render stopped by Ctrl-C.
            """,
        version: "amio \(SwiftAMIO.version) (\(SwiftAMIO.libraryVersions))",
        subcommands: [Ports.self, Play.self, Record.self, PlayRecord.self, Mix.self, Render.self, Meter.self])

    /// Accepted before the subcommand too (`amio --server x play …`): the
    /// subcommands declare the same group, and ArgumentParser fills both.
    @OptionGroup var options: GlobalOptions

    /// Parses and runs the command, reporting every error in one style:
    /// `amio: what was wrong`, then for a usage error the usage of the
    /// subcommand it concerns, and a sysexits status.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(reportingParseError: error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
            // What a command printed as its result must have reached its reader
            // (`amio ports > /dev/full` is a failure, as `ls > /dev/full` is).
            if let failure = StandardOutput.failed {
                printError("amio: standard output: write failed: \(String(cString: strerror(failure)))")
                Foundation.exit(ExitStatus.ioError)
            }
        } catch let error as ValidationError {
            // Found by a run() once it could look (a file's name, its type).
            printError("amio: \(error.message)\nusage: \(compactUsage(of: type(of: command)))")
            Foundation.exit(ExitStatus.usage)
        } catch {
            exit(withError: error)
        }
    }

    /// A subcommand's usage as ArgumentParser shows it with a parse error:
    /// its options folded into `[<options>]`, its arguments spelled out.
    static func compactUsage(of command: any ParsableCommand.Type) -> String {
        compact(usage: usageString(for: command))
    }

    static func compact(usage: String) -> String {
        let arguments = usage.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
            .replacingOccurrences(of: #" \[-[^\]]*\]"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: " [<options>]", with: "")
        guard let firstArgument = arguments.range(of: " <") else { return arguments + " [<options>]" }
        return arguments[..<firstArgument.lowerBound] + " [<options>]" + arguments[firstArgument.lowerBound...]
    }

    /// `--help` and `--version` as ArgumentParser prints them; a usage error
    /// as `amio: message` and the subcommand's usage, with status 64.
    private static func exit(reportingParseError error: any Error) -> Never {
        let status = exitCode(for: error)
        guard status != .success else { exit(withError: error) }
        let message = message(for: error)
        let full = fullMessage(for: error, columns: 100)
        // ArgumentParser's full text: the message, "Usage: …" (the subcommand's), and a "See …" line.
        let usage = full.range(of: "Usage: ").map { String(full[$0.upperBound...]) }?
            .components(separatedBy: "\n  See '").first?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        printError("amio: \(message)" + (usage.map { "\nusage: \(compact(usage: $0))" } ?? ""))
        Foundation.exit(status.rawValue)
    }
}
