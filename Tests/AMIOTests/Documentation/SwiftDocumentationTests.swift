@testable import AMIO
import Foundation
import Testing

/// The Swift code of README.md and the guides: every block is a whole
/// program, kept as `Examples/Snippets/NAME/main.swift` (the same text), built
/// with the package and run by the tests; the one manifest is evaluated.
enum DocumentedSwift {
    struct Block: Sendable {
        let file: String
        let line: Int
        let text: String
        var isManifest: Bool { text.hasPrefix("// swift-tools-version:") }
    }

    static var guides: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "Docs/\($0)" }
    }

    /// Every ```swift block of the guides.
    static func blocks() throws -> [Block] {
        var blocks: [Block] = []
        for file in guides {
            let lines = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
                .components(separatedBy: "\n")
            var start: Int?
            for (index, line) in lines.enumerated() {
                if start == nil, line.hasPrefix("```swift") {
                    start = index + 1
                } else if let first = start, line.hasPrefix("```") {
                    blocks.append(Block(file: file, line: first, text: lines[first..<index].joined(separator: "\n")))
                    start = nil
                }
            }
        }
        return blocks
    }

    static let snippetDirectory = repositoryRoot.appendingPathComponent("Examples/Snippets")

    /// The snippet programs by name, with their text.
    static func snippets() throws -> [String: String] {
        var snippets: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: snippetDirectory.path) {
            let main = snippetDirectory.appendingPathComponent(name).appendingPathComponent("main.swift")
            if let text = try? String(contentsOf: main, encoding: .utf8) { snippets[name] = text }
        }
        return snippets
    }

    /// The recording the programs read, made as the guides say.
    static let takeCommand = "sox -n -r 44100 -c 2 take.flac synth 3 sine 440"
}

@Suite struct SwiftDocumentationTests {
    @Test func everySwiftBlockIsASnippetProgramAndEverySnippetIsShown() throws {
        let snippets = try DocumentedSwift.snippets()
        #expect(snippets.count >= 10)
        var shown: Set<String> = []
        for block in try DocumentedSwift.blocks() where !block.isManifest {
            let matches = snippets.filter { $0.value.trimmingCharacters(in: .newlines) == block.text }.map(\.key)
            #expect(matches.count == 1, "\(block.file):\(block.line): the block is not the text of a program in Examples/Snippets")
            shown.formUnion(matches)
        }
        #expect(shown == Set(snippets.keys), "programs no guide shows: \(Set(snippets.keys).subtracting(shown).sorted())")
        // Each is a target of the package, so `swift build` compiles it.
        let manifest = try String(contentsOf: repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        for name in snippets.keys { #expect(manifest.contains("\"\(name)\""), "Package.swift builds Snippet\(name)") }
    }

    /// The manifest a user copies: SwiftPM evaluates it as it stands, and it
    /// names the product by the package's identity.
    @Test func theManifestOfGettingStartedEvaluates() throws {
        let manifests = try DocumentedSwift.blocks().filter(\.isManifest)
        #expect(manifests.count == 1)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for manifest in manifests {
            try Data((manifest.text + "\n").utf8).write(to: directory.appendingPathComponent("Package.swift"))
            let sources = directory.appendingPathComponent("Sources/MyApp")
            try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
            try Data("import AMIO\n".utf8).write(to: sources.appendingPathComponent("main.swift"))
            let result = try run(executable: try JackServer.locate("env"), ["swift", "package", "--package-path", directory.path, "dump-package"],
                                 timeout: 300)
            #expect(result.status == 0, "\(manifest.file):\(manifest.line): \(result.output)")
            #expect(result.output.contains("\"product\"") && result.output.contains("\"AMIO\"") && result.output.contains("\"SwiftAMIO\""),
                    "\(result.output)")
        }
    }
}

extension JackTests {
    /// Every program of the guides runs to its end against this suite's
    /// server, in a directory holding the recording the guides make.
    @Suite(.jackServer(period: 256), .serialized)
    struct SwiftDocumentation {
        @Test(arguments: try DocumentedSwift.snippets().keys.sorted())
        func everyProgramOfTheGuidesRuns(name: String) throws {
            let server = try JackServer.suite
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let made = try run("bash", ["-c", "cd '\(directory.path)' && \(DocumentedSwift.takeCommand)"])
            #expect(made.status == 0, "\(made.output)")
            let program = amioTool.deletingLastPathComponent().appendingPathComponent("Snippet\(name)")
            let bash = try JackServer.locate("bash")
            let result = try ChildProcess(bash, ["-c", "cd '\(directory.path)' && '\(program.path)'"],
                                          environment: ProcessInfo.processInfo.environment.merging(server.environment()) { $1 })
                .waitForExit(within: 120)
            #expect(result.status == 0, "\(name): \(result.err)\n\(result.out.suffix(2000))")
        }
    }
}
