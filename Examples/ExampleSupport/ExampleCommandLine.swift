// What every example does with its command line and its errors, as a
// command-line tool does: a bad argument ends it with one line and the
// usage (status 64, EX_USAGE), an error with one line `NAME: message` and
// the error's sysexits status (`AMIOError.exitStatus`), never a backtrace.
import AMIO
import Foundation

/// One example's command line.
public struct ExampleCommandLine: Sendable {
    /// The example's name, which starts its error lines.
    public let name: String
    /// Its usage, without `usage: `.
    public let usage: String
    /// The arguments after the program's name.
    public let arguments: [String]

    /// - Parameters:
    ///   - name: The example's name.
    ///   - usage: Its usage, such as `PlaySine [seconds] [frequency]`.
    ///   - arguments: The arguments after the program's name.
    public init(_ name: String, usage: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        self.name = name
        self.usage = usage
        self.arguments = arguments
    }

    /// Ends the program as a tool ends on bad usage: `message`, if any,
    /// then the usage, on standard error; status 64.
    ///
    /// - Parameter message: What was wrong, without the name.
    public func usageError(_ message: String? = nil) -> Never {
        let line = message.map { "\(name): \($0)\n" } ?? ""
        try? FileHandle.standardError.write(contentsOf: Data("\(line)usage: \(usage)\n".utf8))
        exit(64)
    }

    /// Argument `index` as a number in `range`, or `value` when it is not
    /// given; anything else is a usage error.
    ///
    /// - Parameters:
    ///   - index: The argument's place among ``arguments``.
    ///   - what: Its name in the error, such as `seconds`.
    ///   - value: The number when it is not given.
    ///   - range: The numbers it may be.
    /// - Returns: The number.
    public func number(_ index: Int, _ what: String, default value: Double, in range: ClosedRange<Double>) -> Double {
        guard arguments.indices.contains(index) else { return value }
        guard let number = Double(arguments[index]), range.contains(number) else {
            usageError("\(what) is a number from \(range.lowerBound) to \(range.upperBound), not '\(arguments[index])'")
        }
        return number
    }

    /// Ends the program on `error` as a tool ends: one line `NAME: message`
    /// and the error's sysexits status (70, EX_SOFTWARE, for an error that
    /// is no ``AMIOError``).
    ///
    /// - Parameter error: What ended the example.
    public func fail(_ error: any Error) -> Never {
        try? FileHandle.standardError.write(contentsOf: Data("\(name): \(error)\n".utf8))
        exit((error as? AMIOError)?.exitStatus ?? 70)
    }
}
