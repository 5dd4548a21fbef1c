import Foundation
import Testing

/// The guides have one source, `Docs/*.md`, read on GitHub and from the
/// README; the DocC catalog holds each of them as a symbolic link, so the
/// generated documentation has every guide and no copy can drift.
///
/// A guide added to `Docs/` without its link in the catalog, a copy in place
/// of a link, a link to a file that is gone, an article missing from the
/// catalog's Topics, or a relative link in the README or a guide that GitHub
/// cannot follow: each fails here. Whether DocC builds the catalog without
/// warnings is `scripts/docs.sh`'s check (the docc build, run by
/// `scripts/test.sh`).
@Suite struct GuideCatalogTests {
    static let docs = repositoryRoot.appendingPathComponent("Docs")
    static let catalog = repositoryRoot.appendingPathComponent("Sources/AMIO/AMIO.docc")

    static func markdownFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".md") }.sorted()
    }

    /// Each catalog article that is a link to a guide: its name in the
    /// catalog, and the guide's file name in `Docs/`.
    static func linkedGuides() throws -> [(article: String, guide: String)] {
        try markdownFiles(in: catalog).compactMap { name in
            let path = catalog.appendingPathComponent(name).path
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { return nil }
            return (String(name.dropLast(3)), destination)
        }
    }

    @Test func everyGuideIsALinkInTheCatalog() throws {
        let guides = try Self.markdownFiles(in: Self.docs)
        #expect(!guides.isEmpty)
        let linked = try Self.linkedGuides()
        for guide in guides {
            #expect(linked.contains { $0.guide == "../../../Docs/\(guide)" },
                    "Docs/\(guide) has no symbolic link ../../../Docs/\(guide) in Sources/AMIO/AMIO.docc")
        }
        for (article, destination) in linked {
            let target = Self.catalog.appendingPathComponent(destination).standardizedFileURL
            #expect(target.deletingLastPathComponent().path == Self.docs.standardizedFileURL.path
                        && FileManager.default.fileExists(atPath: target.path),
                    "AMIO.docc/\(article).md links to \(destination), which is no guide in Docs/")
        }
        // Any other Markdown file in the catalog is AMIO.md or would be a copy.
        let others = try Self.markdownFiles(in: Self.catalog)
            .filter { name in !linked.contains { $0.article + ".md" == name } }
        #expect(others == ["AMIO.md"], "the catalog's articles other than AMIO.md are links to Docs/, not copies")
    }

    @Test func theTopicsCurateEveryArticle() throws {
        let root = try String(contentsOf: Self.catalog.appendingPathComponent("AMIO.md"), encoding: .utf8)
        guard let topics = root.range(of: "\n## Topics\n") else {
            Issue.record("AMIO.md has no Topics section")
            return
        }
        let curated = Set(root[topics.upperBound...].split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("- <doc:"), line.hasSuffix(">") else { return nil }
            return String(line.dropFirst("- <doc:".count).dropLast())
        })
        for (article, _) in try Self.linkedGuides() {
            #expect(curated.contains(article), "AMIO.md's Topics lack <doc:\(article)>")
        }
    }

    /// The destinations of the inline links `[text](destination)` outside
    /// code, and of any `<doc:…>` link (which GitHub cannot follow).
    static func links(in markdown: String) -> [String] {
        var links: [String] = []
        var inFence = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { inFence.toggle() }
            if inFence { continue }
            // Code spans may hold brackets and parentheses of their own.
            let text = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset.isMultiple(of: 2) }.map(\.element).joined(separator: " ")
            for match in text.matches(of: /\]\(([^)\s]+)\)/) { links.append(String(match.1)) }
            for match in text.matches(of: /<(doc:[^>]*)>/) { links.append(String(match.1)) }
        }
        return links
    }

    /// GitHub's anchor for a heading: lower case, punctuation but `-` and `_`
    /// dropped, spaces made `-`.
    static func anchor(_ heading: Substring) -> String {
        String(heading.lowercased().compactMap { character -> Character? in
            if character == " " { return "-" }
            return character.isLetter || character.isNumber || character == "-" || character == "_" ? character : nil
        })
    }

    static func anchors(in markdown: String) -> Set<String> {
        var anchors: Set<String> = []
        var inFence = false
        for line in markdown.split(separator: "\n") {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { inFence.toggle() }
            guard !inFence, let heading = line.firstMatch(of: /^#{1,6} +(.*?) *$/) else { continue }
            anchors.insert(anchor(heading.1))
        }
        return anchors
    }

    @Test(arguments: ["README.md"] + ((try? markdownFiles(in: docs)) ?? []).map { "Docs/\($0)" })
    func relativeLinksWorkOnGitHub(file: String) throws {
        let url = repositoryRoot.appendingPathComponent(file)
        let markdown = try String(contentsOf: url, encoding: .utf8)
        for link in Self.links(in: markdown) where !link.hasPrefix("https://") && !link.hasPrefix("http://") {
            guard !link.hasPrefix("doc:") else {
                Issue.record("\(file): \(link) is a DocC link, which GitHub shows as no link")
                continue
            }
            let parts = link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let target = parts[0].isEmpty ? url : url.deletingLastPathComponent().appendingPathComponent(String(parts[0]))
            guard FileManager.default.fileExists(atPath: target.path) else {
                Issue.record("\(file): \(link) names no file")
                continue
            }
            if parts.count == 2, target.pathExtension == "md" {
                let anchors = Self.anchors(in: try String(contentsOf: target, encoding: .utf8))
                #expect(anchors.contains(String(parts[1])), "\(file): \(link) names no heading of \(target.lastPathComponent)")
            }
        }
    }
}
