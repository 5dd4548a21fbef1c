import ArgumentParser
import Foundation

/// A sample rate on the command line, as sox's `-r` takes it: Hz (`44100`,
/// `48000.0`, `8e3`) or kHz with a `k` (`44.1k`, `48k`), a whole number of
/// Hz in the end. The range is each command's to check.
enum RateArgument {
    static let forms = "Hz (44100) or kHz with k (44.1k, 48k)"

    /// Parses `text`; anything else is an error naming the forms.
    static func parse(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let kilo = trimmed.lowercased().hasSuffix("k")
        let digits = kilo ? String(trimmed.dropLast()) : trimmed
        // Decimal digits, a point and an exponent only: no sign, hex, inf or nan.
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || ".eE".contains($0)) }),
              let value = Double(digits).map({ kilo ? $0 * 1000 : $0 }), value.isFinite,
              value >= 0, value <= 1e9, value.rounded() == value else {
            throw ValidationError("'\(text.prefix(60))' is not a sample rate: \(forms), a whole number of Hz")
        }
        return Int(value)
    }
}
