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
        // `amio help nosuch` is the mistake `amio nosuch` is; ArgumentParser showed the root help, status 0.
        if let word = unknownHelpTopic(in: Array(CommandLine.arguments.dropFirst())) { exit(reportingUnknownCommand: word) }
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(attachingNegativeValues(Array(CommandLine.arguments.dropFirst())))
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
        if let word = unknownCommand(in: Array(CommandLine.arguments.dropFirst())) { exit(reportingUnknownCommand: word) }
        let message = message(for: error)
        let full = fullMessage(for: error, columns: 100)
        // ArgumentParser's full text: the message, "Usage: …" (the subcommand's), and a "See …" line.
        let usage = full.range(of: "Usage: ").map { String(full[$0.upperBound...]) }?
            .components(separatedBy: "\n  See '").first?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        printError("amio: \(message)" + (usage.map { "\nusage: \(compact(usage: $0))" } ?? ""))
        Foundation.exit(status.rawValue)
    }

    /// The global options that take a value (`--server NAME`): both walks of
    /// the arguments before parsing skip the value with its option.
    static let globalOptionsTakingValues: Set<String> = ["--server", "--client-name"]

    /// The subcommands' names, as typed.
    static var commandNames: [String] { configuration.subcommands.map { $0._commandName } }

    /// The options of each subcommand that take several numbers (or times),
    /// any of which may be negative.
    static let multiValueNumberOptions: [String: Set<String>] = ["play": ["--map"], "mix": ["--loop"]]

    /// `arguments` with each negative number among the values of an option
    /// that takes several attached to it (`--map -1` as `--map=-1`, `--map 2 -1`
    /// as `--map 2 --map=-1`):
    /// ArgumentParser takes `-1` there for an option and says the option
    /// misses its value, where a negative value is a range error to report.
    /// A single value takes a negative number already (`parsing: .unconditional`).
    static func attachingNegativeValues(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var command: String?
        var option: String?
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            index += 1
            if word == "--" {
                result += [word] + arguments[index...]
                break
            }
            guard let command else {
                // Before the subcommand: global options, one of which takes a value.
                if globalOptionsTakingValues.contains(word), index < arguments.endIndex {
                    result += [word, arguments[index]]
                    index += 1
                    continue
                }
                if !word.hasPrefix("-") { command = word }
                result.append(word)
                continue
            }
            if let option, isNegativeNumber(word) {
                // `--map -1` is `--map=-1`: the bare option has a value then.
                if result.last == option { result.removeLast() }
                result.append("\(option)=\(word)")
                continue
            }
            if word.hasPrefix("-") {
                option = multiValueNumberOptions[command]?.first { word == $0 || word.hasPrefix($0 + "=") }
            }
            result.append(word)
        }
        return result
    }

    /// Whether `word` is a negative number (`-1`, `-0.5`, `-.5`, `-1:00`), not an option.
    static func isNegativeNumber(_ word: String) -> Bool {
        guard word.hasPrefix("-") else { return false }
        let rest = word.dropFirst()
        return rest.first?.isASCII == true && rest.first?.isNumber == true
            || rest.hasPrefix(".") && rest.dropFirst().first?.isASCII == true && rest.dropFirst().first?.isNumber == true
    }

    /// `word`, given for a command, named as no command, with the commands
    /// and the nearest one: a usage error.
    private static func exit(reportingUnknownCommand word: String) -> Never {
        let names = commandNames
        let near = names.filter { editDistance($0, word) <= 2 }
        printError("amio: '\(word)' is not a command: \(names.joined(separator: ", "))"
            + (near.isEmpty ? "" : " (did you mean '\(near[0])'?)")
            + "\nusage: amio [<options>] <subcommand>")
        Foundation.exit(ExitStatus.usage)
    }

    /// The word after `help` that names no subcommand (`amio help plya`), if
    /// `help` is the command given.
    static func unknownHelpTopic(in arguments: [String]) -> String? {
        let words = commandWords(in: arguments)
        guard words.first == "help", let topic = words.dropFirst().first else { return nil }
        return commandNames.contains(topic) ? nil : topic
    }

    /// The words of `arguments` that are no options nor a global option's value.
    static func commandWords(in arguments: [String]) -> [String] {
        var words: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            if globalOptionsTakingValues.contains(word) {
                index += 2
                continue
            }
            if !word.hasPrefix("-") { words.append(word) }
            index += 1
        }
        return words
    }

    /// The first word of `arguments` that is no option, when it names no
    /// subcommand (`amio plya x.wav`): ArgumentParser calls that and what
    /// follows "unexpected arguments", which does not say what was wrong.
    static func unknownCommand(in arguments: [String]) -> String? {
        let names = Set(commandNames + ["help"])
        return commandWords(in: arguments).first.flatMap { names.contains($0) ? nil : $0 }
    }

    /// The Levenshtein distance between `a` and `b`, for a suggestion.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        // One row of the table at a time: row[j] is the distance from a's
        // first i characters to b's first j.
        var row = Array(0...b.count)
        for i in a.indices {
            var previous = row[0]
            row[0] = i + 1
            for j in b.indices {
                let substitution = previous + (a[i] == b[j] ? 0 : 1)
                previous = row[j + 1]
                row[j + 1] = min(substitution, row[j + 1] + 1, row[j] + 1)
            }
        }
        return row[b.count]
    }
}
