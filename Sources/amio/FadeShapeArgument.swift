import AMIO
import ArgumentParser

/// A fade's curve on the command line: `linear`, `equalPower` or
/// `exponential`, the names a session uses, in any case.
enum FadeShapeArgument {
    static let names = FadeShape.allCases.map(\.rawValue).joined(separator: ", ")

    /// Parses `text`; anything else is an error listing the names.
    static func parse(_ text: String) throws -> FadeShape {
        guard let shape = FadeShape.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw ValidationError("'\(text.prefix(60))' is not a fade shape: \(names)")
        }
        return shape
    }
}
