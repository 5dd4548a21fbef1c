import Foundation

/// A JSON document as a tree, so errors can name where in it they are.
enum JSONValue: Sendable, Hashable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a JSON text strictly, as RFC 8259 says: no trailing commas, no
    /// comments, no duplicate keys, no `NaN` or `Infinity`, valid UTF-8.
    ///
    /// - Parameters:
    ///   - data: The text.
    ///   - maximumDepth: The deepest nesting of arrays and objects accepted.
    /// - Throws: ``JSONSyntaxError`` with the line and column (both from 1).
    static func parse(_ data: Data, maximumDepth: Int = JSONParser.maximumDepth) throws(JSONSyntaxError) -> JSONValue {
        let bytes = [UInt8](data)
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        return try parser.document()
    }
}

/// What is wrong with a JSON text and where: `line` and `column` count from 1,
/// the column in characters; `location` is the JSON path of the value being
/// read (`entries[3].gains`), `$` at the top.
struct JSONSyntaxError: Error, Sendable, Hashable {
    var line: Int
    var column: Int
    var location: String
    var reason: String
}

/// A recursive-descent parser over UTF-8 bytes that keeps the JSON path of
/// the value it is in, for errors.
struct JSONParser {
    /// Sessions nest five levels deep; anything far deeper is refused before it can exhaust the stack.
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var index = 0
    private var path: [String] = []

    init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func document() throws(JSONSyntaxError) -> JSONValue {
        // A UTF-8 byte-order mark is allowed (and ignored), as RFC 8259 permits.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        let value = try self.value()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected \(describeNext()) after the document's end") }
        return value
    }

    // MARK: Errors

    private var location: String { path.isEmpty ? "$" : path.joined() }

    private func fail(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        let position = min(position ?? index, bytes.count)
        var line = 1, column = 1
        for byte in bytes[..<position] {
            if byte == 0x0A { line += 1; column = 1 }
            // A character's continuation bytes (10xxxxxx) do not start a column.
            else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(line: line, column: column, location: location, reason: reason)
    }

    private func describeNext() -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if (0x21...0x7E).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
        return String(format: "byte 0x%02X", byte)
    }

    // MARK: Grammar

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw fail("expected a value, found the end of file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default:
            throw fail("expected a value (object, array, string, number, true, false or null), found \(describeNext())")
        }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw fail("expected a value, found \(describeNext())")
        }
        index += expected.count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        guard path.count < maximumDepth else {
            throw fail("arrays and objects nest deeper than \(maximumDepth) levels")
        }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail(fields.isEmpty ? "expected a key in double quotes or '}', found \(describeNext())"
                                          : "expected a key in double quotes after ',', found \(describeNext())")
            }
            let keyStart = index
            let key = try string()
            path.append(JSONPath.component(key, first: path.isEmpty))
            if fields[key] != nil { throw fail("duplicate key \(quoted(key))", at: keyStart) }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw fail("expected ':' after the key, found \(describeNext())")
            }
            index += 1
            skipWhitespace()
            fields[key] = try value()
            path.removeLast()
            if try endsAfterItem(closing: "}") { return .object(fields) }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipWhitespace()
            path.append("[\(items.count)]")
            items.append(try value())
            path.removeLast()
            if try endsAfterItem(closing: "]") { return .array(items) }
        }
    }

    /// After an object's field or an array's item: consumes `closing` (true:
    /// the container ends) or a ',' that another item must follow (false).
    private mutating func endsAfterItem(closing: Unicode.Scalar) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail("expected ',' or '\(closing)', found the end of file") }
        if bytes[index] == UInt8(ascii: closing) { index += 1; return true }
        guard bytes[index] == UInt8(ascii: ",") else { throw fail("expected ',' or '\(closing)', found \(describeNext())") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: closing) { throw fail("a trailing ',' before '\(closing)'") }
        return false
    }

    private mutating func number() throws(JSONSyntaxError) -> Double {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw fail("expected a digit after '-', found \(describeNext())") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") {
            throw fail("a number must not start with 0 (found leading zeros)", at: integerStart)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("expected a digit after '.', found \(describeNext())") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent, found \(describeNext())") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        // strtod's rounding: beyond Double's range the value is ±infinity,
        // which the session's range checks then refuse by name.
        return Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity)
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun() throws(JSONSyntaxError) {
            guard runStart < index else { return }
            guard let run = String(validating: bytes[runStart..<index], as: UTF8.self) else {
                throw fail("the string is not valid UTF-8", at: runStart)
            }
            scalars.append(contentsOf: run.unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw fail("the string has no closing '\"'", at: start) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try flushRun()
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw fail(String(format: "control character 0x%02X in a string (escape it)", byte)) }
            if byte != UInt8(ascii: "\\") { index += 1; continue }
            try flushRun()
            index += 1
            guard index < bytes.count else { throw fail("the string has no closing '\"'", at: start) }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("a lone UTF-16 surrogate \\u\(String(code, radix: 16, uppercase: true))")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone UTF-16 surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("a lone UTF-16 surrogate") }
                scalars.append(scalar)
            default:
                index -= 1
                throw fail("unknown escape '\\\(describeNext().trimmingCharacters(in: CharacterSet(charactersIn: "'")))' in a string")
            }
            runStart = index
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - index >= 4,
              let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
              bytes[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
        else { throw fail("expected four hex digits after \\u") }
        index += 4
        return code
    }
}

/// JSON paths as errors name them: `entries[3].gains`, `clips.pad.file`,
/// `clips["odd name"].file` for a key that is not a plain word.
enum JSONPath {
    /// The path component for object key `key`; `first` for a key at the top.
    static func component(_ key: String, first: Bool) -> String {
        let plain = !key.isEmpty && key.count <= 60 && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "$"
        }
        if plain { return first ? key : ".\(key)" }
        var escaped = ""
        for scalar in key.prefix(40).unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: escaped += String(format: "\\u%04X", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "[\"\(escaped)\(key.count > 40 ? "…" : "")\"]"
    }
}
