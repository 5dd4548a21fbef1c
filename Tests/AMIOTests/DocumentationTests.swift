import Foundation
import Testing

/// The convention every public function of `Sources/AMIO` follows (see
/// DESIGN.md): a doc comment that names each parameter (`- Parameter x:` or
/// under `- Parameters:`), says what it returns (`- Returns:`) and what it
/// throws (`- Throws:`), and names no parameter it does not have.
///
/// The sources are read as text, declaration by declaration: a public
/// `func`, `init` or `subscript` up to the brace that opens its body.
@Suite struct DocumentationTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/AMIO")

    struct Declaration: CustomStringConvertible {
        var file: String
        var line: Int
        var text: String
        var documentation: String
        var description: String { "\(file):\(line): \(text.split(separator: "\n").first ?? "")" }
    }

    static func declarations() throws -> [Declaration] {
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        let start = /^\s*(@\w+(\(.*\))?\s+)*public\s+((static|class|convenience|mutating|nonisolated|override|required|final)\s+)*(func|init|subscript)\b/
        var found: [Declaration] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (index, line) in lines.enumerated() where line.contains(start) {
                // The declaration runs to the first brace outside parentheses: its body.
                var text = "", depth = 0, end = index
                scan: while end < lines.count {
                    for character in lines[end] {
                        if character == "(" { depth += 1 } else if character == ")" { depth -= 1 }
                        if character == "{" && depth == 0 { break scan }
                        text.append(character)
                    }
                    text.append("\n")
                    end += 1
                }
                // The comment above it, past attributes (which may span lines).
                func trimmed(_ line: Int) -> String { lines[line].trimmingCharacters(in: .whitespaces) }
                var above = index - 1
                while above >= 0, !trimmed(above).isEmpty, !trimmed(above).hasPrefix("//"), !trimmed(above).hasPrefix("}") {
                    above -= 1
                }
                var documentation: [Substring] = []
                while above >= 0, trimmed(above).hasPrefix("///") {
                    documentation.insert(trimmed(above).dropFirst(3), at: 0)
                    above -= 1
                }
                found.append(Declaration(file: file.lastPathComponent, line: index + 1, text: text,
                                         documentation: documentation.joined(separator: "\n")))
            }
        }
        return found
    }

    /// The parameter list's internal names, and what follows the list (effects and result).
    static func signature(of text: String) -> (parameters: [String], tail: String)? {
        guard let keyword = text.firstMatch(of: /\b(func\s+\S+?|init[?!]?|subscript)\s*[(<]/) else { return nil }
        var position = text.index(before: keyword.range.upperBound)
        var angle = 0
        while position < text.endIndex {
            let character = text[position]
            if character == "<" { angle += 1 }
            if character == ">" && text[text.index(before: position)] != "-" { angle -= 1 }
            if character == "(" && angle == 0 { break }
            position = text.index(after: position)
        }
        guard position < text.endIndex else { return nil }
        var depth = 0, parameters: [String] = [], current = ""
        var cursor = position
        while cursor < text.endIndex {
            let character = text[cursor]
            if "([<".contains(character) { depth += 1 }
            if ")]>".contains(character) && !(character == ">" && current.hasSuffix("-")) { depth -= 1 }
            if depth == 0 { break }
            if character == "," && depth == 1 {
                parameters.append(current)
                current = ""
            } else if depth > 1 || character != "(" {
                current.append(character)
            }
            cursor = text.index(after: cursor)
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { parameters.append(current) }
        let names = parameters.compactMap { parameter -> String? in
            let head = parameter.split(separator: ":", maxSplits: 1).first ?? ""
            return head.split(whereSeparator: \.isWhitespace)
                .filter { !$0.hasPrefix("@") && !["inout", "borrowing", "consuming", "isolated"].contains($0) }
                .last.map(String.init)
        }
        return (names, String(text[text.index(after: cursor)...]))
    }

    @Test func everyPublicFunctionDocumentsItsParametersResultAndErrors() throws {
        let declarations = try Self.declarations()
        #expect(declarations.count > 60, "found \(declarations.count) public functions in \(Self.sources.path)")
        let headings: Set<String> = ["Parameters", "Parameter", "Returns", "Throws", "Note", "Important", "Precondition"]
        for declaration in declarations {
            guard let (parameters, tail) = Self.signature(of: declaration.text) else {
                Issue.record("cannot read the signature of \(declaration)")
                continue
            }
            let documentation = declaration.documentation
            let named = Set(documentation.matches(of: /- Parameter (\w+):/).map { String($0.1) })
                .union(documentation.matches(of: /^\s*- (\w+):/.anchorsMatchLineEndings()).map { String($0.1) })
                .subtracting(headings)
            var gaps = parameters.filter { $0 != "_" && !named.contains($0) }
            let stale = named.subtracting(parameters).sorted()
            if !stale.isEmpty { gaps.append("parameters it does not have: \(stale.joined(separator: ", "))") }
            let isInitialiserOrSubscript = declaration.text.contains(/\b(init[?!]?|subscript)\s*[(<]/)
                && !declaration.text.contains(/\bfunc\b/)
            if !isInitialiserOrSubscript, let result = tail.firstMatch(of: /->\s*(.+)/)?.1,
               !["Void", "()"].contains(result.trimmingCharacters(in: .whitespacesAndNewlines)),
               !documentation.contains("- Returns:") {
                gaps.append("- Returns:")
            }
            if tail.contains(/\bthrows\b/), !documentation.contains("- Throws:") { gaps.append("- Throws:") }
            if documentation.isEmpty { gaps.append("a doc comment") }
            if !gaps.isEmpty { Issue.record("\(declaration) lacks \(gaps.joined(separator: "; "))") }
        }
    }
}
