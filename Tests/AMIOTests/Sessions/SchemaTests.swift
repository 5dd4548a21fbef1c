@testable import AMIO
import Foundation
import Testing

/// One truth for sessions: Docs/session.schema.json and the parser agree.
///
/// A small JSON Schema checker (the keywords the schema uses, and it fails on
/// any other) validates a table of documents — a valid session with each
/// field replaced by each of many probe values, each key deleted, unknown keys
/// added — and so does `Session(contentsOf:)`. Wherever the schema rejects,
/// the parser must reject; wherever it accepts, the parser must accept, except
/// for the loader's own rules the schema cannot state (listed in the schema's
/// description and in `loaderOnly`). Every constraint in the schema must
/// reject at least one probe, so a rule added to the schema without a probe,
/// or one the parser ignores, fails the test.
@Suite struct SchemaTests {
    static let schemaURL = repositoryRoot.appendingPathComponent("Docs/session.schema.json")

    static func loadSchema() throws -> JSONValue {
        try JSONValue.parse(try Data(contentsOf: schemaURL))
    }

    /// A session that is valid by both, with every optional field present.
    static let base = """
        {"$schema": "session.schema.json", "version": 1, "outputs": 2, "sampleRate": 48000, "length": "0:08",
         "loop": {"crossfade": 0.01, "shape": "equalPower"},
         "clips": {"a": {"file": "a.wav", "crop": [0, "end"], "generate": {"kind": "tone", "seconds": 1, "frequency": 440, "channels": 1}}},
         "entries": [{"clip": "a", "start": 0.5, "repeat": 1, "crop": ["0s", 0.5], "fadeIn": 0.1, "fadeOut": "480s", "shape": "linear",
                      "envelope": {"timeBase": "occurrence", "points": [{"at": 0, "gain": 0.5}, {"at": 0.25, "gain": ["-6 dB", 1]}]},
                      "gains": ["-6 dB", 0.5]}]}
        """

    /// Values put in every field: types, bounds, and the strings the issue found in dispute.
    static let probes: [String] = [
        "0", "1", "2", "-1", "-0.5", "0.5", "2.5", "8", "9", "4096", "4097", "768000", "768001", "600", "601", "24000", "24001",
        "1e300", "-1e300", "1e400", "6004799503160.661", "6004799503161", "3.4028234663852886e38", "3.5e38", "-3.5e38", "1.0",
        #""""#, #""x""#, #""a""#, #""end""#, #""tone""#, #""banjo""#, #""48000s""#, #""0s""#, #""00s""#, #""0""#, #""0:00""#,
        #"".0""#, #""1:30""#, #"".5""#, #""5.""#, #""+5""#, #""1e3""#, #""0x1p1""#, #""1:75""#, #""1:2:75""#, #""1:05:00""#,
        #"" 2 ""#, #""\t3\t""#, #""2\n""#, #""inf""#, #""nan""#, #""-1""#, #""-6 dB""#, #""-6 dB ""#, #""6db""#, #""+1.5 DB""#,
        #""dB""#, #""- 6 dB""#, #""0x1p1 dB""#, #""1e3 dB""#, #""a\u0000b""#, #""99999999999:00:00""#,
        "true", "false", "null", "[]", "[1]", "[0, 1]", "[0, \"end\"]", "[1, 0.5]", "[0, 1, 2]", "[\"-6 dB\", 1]", "[1, 2, 3]",
        "{}", #"{"kind": "click"}"#, #"{"file": "b.wav"}"#,
        #""linear""#, #""equalPower""#, #""exponential""#, #""Linear""#, #""equal power""#, #""occurrence""#, #""timeline""#,
        #"{"at": 0, "gain": 1}"#, #"[{"at": 0, "gain": 1}]"#, #"[{"at": 1, "gain": 1}, {"at": 0, "gain": 1}]"#,
        #"{"crossfade": 1}"#, #"{"points": [{"at": "10s", "gain": "-6 dB"}]}"#, #"{"at": 0}"#,
    ]

    /// The fields probed: JSON paths into ``base``.
    static let fields: [[PathStep]] = [
        [.key("$schema")], [.key("version")], [.key("outputs")], [.key("sampleRate")], [.key("length")],
        [.key("clips")], [.key("clips"), .key("a")], [.key("clips"), .key("a"), .key("file")],
        [.key("clips"), .key("a"), .key("crop")], [.key("clips"), .key("a"), .key("crop"), .index(0)],
        [.key("clips"), .key("a"), .key("crop"), .index(1)], [.key("clips"), .key("a"), .key("generate")],
        [.key("clips"), .key("a"), .key("generate"), .key("kind")], [.key("clips"), .key("a"), .key("generate"), .key("seconds")],
        [.key("clips"), .key("a"), .key("generate"), .key("frequency")],
        [.key("clips"), .key("a"), .key("generate"), .key("channels")],
        [.key("entries")], [.key("entries"), .index(0)], [.key("entries"), .index(0), .key("clip")],
        [.key("entries"), .index(0), .key("start")],
        [.key("entries"), .index(0), .key("repeat")], [.key("entries"), .index(0), .key("crop")],
        [.key("entries"), .index(0), .key("crop"), .index(0)], [.key("entries"), .index(0), .key("crop"), .index(1)],
        [.key("entries"), .index(0), .key("gains")], [.key("entries"), .index(0), .key("gains"), .index(0)],
        [.key("loop")], [.key("loop"), .key("crossfade")], [.key("loop"), .key("shape")],
        [.key("entries"), .index(0), .key("fadeIn")], [.key("entries"), .index(0), .key("fadeOut")],
        [.key("entries"), .index(0), .key("shape")], [.key("entries"), .index(0), .key("envelope")],
        [.key("entries"), .index(0), .key("envelope"), .key("timeBase")], [.key("entries"), .index(0), .key("envelope"), .key("points")],
        [.key("entries"), .index(0), .key("envelope"), .key("points"), .index(0)],
        [.key("entries"), .index(0), .key("envelope"), .key("points"), .index(0), .key("at")],
        [.key("entries"), .index(0), .key("envelope"), .key("points"), .index(1), .key("at")],
        [.key("entries"), .index(0), .key("envelope"), .key("points"), .index(1), .key("gain")],
        [.key("entries"), .index(0), .key("envelope"), .key("points"), .index(1), .key("gain"), .index(0)],
    ]

    enum PathStep: Hashable, CustomStringConvertible {
        case key(String), index(Int)
        var description: String {
            switch self {
            case let .key(key): ".\(key)"
            case let .index(index): "[\(index)]"
            }
        }
    }

    /// The parser's rules beyond the schema, for a document the schema accepts:
    /// a reason if `document` breaks one, else nil.
    static func loaderOnly(_ document: JSONValue) -> String? {
        guard case let .object(top) = document else { return nil }
        let outputs: Int = if case let .number(n)? = top["outputs"] { Int(n) } else { 2 }
        let sampleRate: Int? = if case let .number(n)? = top["sampleRate"] { Int(n) } else { nil }
        for time in times(in: document) {
            if case let .string(text) = time, case .frames? = try? AudioTime(parsing: text), sampleRate == nil {
                return "a time in frames without a sampleRate"
            }
        }
        var clipNames: Set<String> = []
        if case let .object(clips)? = top["clips"] {
            clipNames = Set(clips.keys)
            for case let .object(clip) in clips.values {
                if let crop = clip["crop"], !cropEndsAfterStart(crop, sampleRate: sampleRate) { return "crop end not after its start" }
            }
        }
        if case let .array(entries)? = top["entries"] {
            for case let .object(entry) in entries {
                if case let .string(name)? = entry["clip"], !clipNames.contains(name) { return "no such clip" }
                if case let .array(gains)? = entry["gains"], gains.count != outputs { return "gains per output" }
                if entry["repeat"] != nil, top["length"] == nil { return "length required with a repeat" }
                if let crop = entry["crop"], !cropEndsAfterStart(crop, sampleRate: sampleRate) { return "crop end not after its start" }
                if case let .object(envelope)? = entry["envelope"], case let .array(points)? = envelope["points"] {
                    var previous: AudioTime?
                    for case let .object(point) in points {
                        if case let .array(gains)? = point["gain"], gains.count != outputs { return "envelope gains per output" }
                        guard let at = point["at"].flatMap(time) else { continue }
                        if let previous, !previous.isBefore(at, countingFramesAt: sampleRate ?? 1) { return "envelope points out of order" }
                        previous = at
                    }
                }
            }
        }
        for time in times(in: document) {
            if case let .string(text) = time, (try? AudioTime(parsing: text)) == nil { return "a time string beyond the timeline" }
        }
        return nil
    }

    /// Whether a crop's end comes after its start, frames counting at the session's rate.
    static func cropEndsAfterStart(_ crop: JSONValue, sampleRate: Int?) -> Bool {
        guard case let .array(ends) = crop, ends.count == 2 else { return true }
        if ends[1] == .string("end") { return true }
        guard let a = time(ends[0]), let b = time(ends[1]) else { return true }
        return Session.Crop(start: a, end: .time(b)).endIsAfterStart(countingFramesAt: sampleRate ?? 1)
    }

    /// A time position's value as the parser reads it, if it is one.
    static func time(_ value: JSONValue) -> AudioTime? {
        switch value {
        case let .number(n): .seconds(n)
        case let .string(text): try? AudioTime(parsing: text)
        default: nil
        }
    }

    /// Every value in a time position of the document.
    static func times(in document: JSONValue) -> [JSONValue] {
        guard case let .object(top) = document else { return [] }
        var found: [JSONValue] = []
        if let length = top["length"] { found.append(length) }
        if case let .object(loop)? = top["loop"], let crossfade = loop["crossfade"] { found.append(crossfade) }
        func crop(_ value: JSONValue?) {
            guard case let .array(ends)? = value else { return }
            found.append(contentsOf: ends.prefix(2).enumerated().filter { $0.offset == 0 || $0.element != .string("end") }.map(\.element))
        }
        if case let .object(clips)? = top["clips"] {
            for case let .object(clip) in clips.values { crop(clip["crop"]) }
        }
        if case let .array(entries)? = top["entries"] {
            for case let .object(entry) in entries {
                if let start = entry["start"] { found.append(start) }
                if let again = entry["repeat"] { found.append(again) }
                crop(entry["crop"])
                for key in ["fadeIn", "fadeOut"] { if let fade = entry[key] { found.append(fade) } }
                if case let .object(envelope)? = entry["envelope"], case let .array(points)? = envelope["points"] {
                    for case let .object(point) in points { if let at = point["at"] { found.append(at) } }
                }
            }
        }
        return found
    }

    /// `value` with the thing at `path` replaced (nil: deleted).
    static func replacing(_ path: ArraySlice<PathStep>, in value: JSONValue, with new: JSONValue?) -> JSONValue? {
        guard let step = path.first else { return new }
        switch (step, value) {
        case let (.key(key), .object(fields)):
            var fields = fields
            fields[key] = replacing(path.dropFirst(), in: fields[key] ?? .null, with: new)
            return .object(fields)
        case let (.index(index), .array(items)):
            var items = items
            if let item = replacing(path.dropFirst(), in: items[index], with: new) { items[index] = item } else { items.remove(at: index) }
            return .array(items)
        default: return value
        }
    }

    static func encode(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case let .bool(flag): return flag ? "true" : "false"
        case let .number(number): return number.isFinite ? "\(number)" : (number > 0 ? "1e400" : "-1e400")
        case let .string(text):
            let data = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        case let .array(items): return "[" + items.map(encode).joined(separator: ",") + "]"
        case let .object(fields):
            return "{" + fields.sorted { $0.key < $1.key }.map { "\(encode(.string($0.key))):\(encode($0.value))" }.joined(separator: ",") + "}"
        }
    }

    @Test func everySchemaRuleAgreesWithTheParser() throws {
        let schema = try Self.loadSchema()
        let validator = SchemaValidator(root: schema)
        let base = try JSONValue.parse(Data(Self.base.utf8))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("probe.json")

        #expect(validator.validate(base).isEmpty, "the base session is valid by the schema")
        var documents: [(String, JSONValue)] = [("base", base)]
        for field in Self.fields {
            let name = field.map(\.description).joined()
            for probe in Self.probes {
                let value = try JSONValue.parse(Data(probe.utf8))
                if let document = Self.replacing(field[...], in: base, with: value) { documents.append(("\(name) = \(probe)", document)) }
            }
            if let document = Self.replacing(field[...], in: base, with: nil) { documents.append(("\(name) deleted", document)) }
            // An unknown key in every object.
            if case .object = field.reduce(Optional(base), { value, step in
                switch (step, value) {
                case let (.key(key), .object(fields)?): fields[key]
                case let (.index(index), .array(items)?): items.indices.contains(index) ? items[index] : nil
                default: nil
                }
            }) {
                let extra = Self.replacing(field[...] + [.key("bogus")], in: base, with: .number(1))!
                documents.append(("\(name).bogus = 1", extra))
            }
        }
        documents.append(("bogus = 1", Self.replacing([.key("bogus")], in: base, with: .number(1))!))
        for top in ["[]", "1", #""x""#, "null", "true"] { documents.append(("the document is \(top)", try JSONValue.parse(Data(top.utf8)))) }
        let many = JSONValue.array(Array(repeating: .object(["clip": .string("a")]), count: Session.maximumEntries + 1))
        documents.append(("65537 entries", Self.replacing([.key("entries")], in: base, with: many)!))

        var rejectedBy: Set<String> = []
        var agreed = 0, loaderOnly = 0
        for (name, document) in documents {
            let failures = validator.validate(document)
            for failure in validator.allFailures(document) { rejectedBy.insert(failure) }
            try Data(Self.encode(document).utf8).write(to: url)
            let parsed: AMIOError?
            do { _ = try Session(contentsOf: url); parsed = nil } catch { parsed = error }
            if !failures.isEmpty {
                #expect(parsed != nil, "\(name): the schema rejects (\(failures.first!)) but the parser accepts")
                agreed += 1
            } else if let reason = Self.loaderOnly(document) {
                #expect(parsed != nil, "\(name): the loader's rule '\(reason)' does not reject")
                loaderOnly += 1
            } else {
                #expect(parsed == nil, "\(name): the schema accepts but the parser says \(parsed.map { "\($0)" } ?? "")")
                agreed += 1
            }
        }
        print("schema agreement: \(documents.count) documents, \(agreed) judged alike, \(loaderOnly) by loader-only rules")

        // Every constraint of the schema rejected some probe: none is untested.
        let constraints = validator.constraintLocations()
        let untested = constraints.subtracting(rejectedBy).sorted()
        #expect(untested.isEmpty, "schema rules no probe breaks: \(untested)")
    }

    /// The grammar and the limits in the schema are the very ones the parser uses.
    @Test func theSchemasPatternsAndLimitsAreTheParsers() throws {
        guard case let .object(top) = try Self.loadSchema(), case let .object(defs)? = top["$defs"],
              case let .object(time)? = defs["time"], case let .array(timeKinds)? = time["oneOf"],
              case let .object(number)? = timeKinds.first, case let .object(text)? = timeKinds.last,
              case let .object(gain)? = defs["gain"], case let .array(gainKinds)? = gain["oneOf"],
              case let .object(gainNumber)? = gainKinds.first, case let .object(gainText)? = gainKinds.last
        else { Issue.record("the schema's $defs changed shape"); return }
        #expect(text["pattern"] == .string(AudioTime.pattern))
        #expect(number["maximum"] == .number(TimelineLimit.maximumSeconds))
        #expect(gainText["pattern"] == .string(#"^[ \t]*[-+]?([0-9]+(\.[0-9]+)?|\.[0-9]+)[ \t]*[dD][bB][ \t]*$"#))
        #expect(gainNumber["maximum"] == .number(Double(Float.greatestFiniteMagnitude)))
        guard case let .object(properties)? = top["properties"], case let .object(entries)? = properties["entries"] else { return }
        #expect(entries["maxItems"] == .number(Double(Session.maximumEntries)))
        // The names of shapes and time bases, and the most points, are the engine's.
        guard case let .object(shape)? = defs["shape"], case let .object(envelope)? = defs["envelope"],
              case let .object(envelopeFields)? = envelope["properties"], case let .object(timeBase)? = envelopeFields["timeBase"],
              case let .object(points)? = envelopeFields["points"]
        else { Issue.record("the schema's shape or envelope changed shape"); return }
        #expect(shape["enum"] == .array(FadeShape.allCases.map { .string($0.rawValue) }))
        #expect(timeBase["enum"] == .array([.string("occurrence"), .string("timeline")]))
        #expect(Set(GainEnvelope.TimeBase.allCases.map(\.rawValue)) == ["occurrence", "timeline"])
        // The most points is the loader's rule (a probe of a million points takes minutes to check here), named in the description.
        #expect(points["maxItems"] == nil && top["description"].map { "\($0)".contains("at most 1048576 points") } == true)
    }

    @Test func theExampleSessionsAreValidByTheSchema() throws {
        let validator = SchemaValidator(root: try Self.loadSchema())
        for name in ["drum-loop.json", "multitrack.json", "fades.json"] {
            let document = try JSONValue.parse(try Data(contentsOf: exampleSessions.appendingPathComponent(name)))
            #expect(validator.validate(document).isEmpty, "\(name)")
        }
    }
}

/// The part of JSON Schema 2020-12 that Docs/session.schema.json uses.
/// Unknown keywords are failures, so the schema cannot grow past this checker unnoticed.
struct SchemaValidator {
    let root: JSONValue

    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "default", "$defs"]

    /// The failures of `value`, as `keywordLocation: what` strings; empty when valid.
    func validate(_ value: JSONValue) -> [String] {
        var failures: [String] = []
        var ignored: Set<String> = []
        check(value, against: root, at: "#", failures: &failures, collect: &ignored)
        return failures
    }

    /// The locations of every constraint that failed anywhere, also inside `oneOf`/`not` branches.
    func allFailures(_ value: JSONValue) -> Set<String> {
        var failures: [String] = []
        var all: Set<String> = []
        check(value, against: root, at: "#", failures: &failures, collect: &all)
        return all
    }

    /// Every constraint keyword's location in the schema.
    func constraintLocations() -> Set<String> {
        var found: Set<String> = []
        func walk(_ schema: JSONValue, _ at: String) {
            guard case let .object(fields) = schema else { return }
            for (key, value) in fields {
                switch key {
                case "properties", "$defs":
                    if case let .object(children) = value { for (name, child) in children { walk(child, "\(at)/\(key)/\(name)") } }
                case "additionalProperties", "items":
                    if case .bool(false) = value { found.insert("\(at)/\(key)") } else { walk(value, "\(at)/\(key)") }
                case "not": found.insert("\(at)/not")  // what fails inside a `not` is what it accepts
                case "oneOf", "allOf", "prefixItems":
                    if case let .array(children) = value { for (i, child) in children.enumerated() { walk(child, "\(at)/\(key)/\(i)") } }
                    if key == "oneOf" { found.insert("\(at)/oneOf") }
                case "$ref": break
                case _ where Self.annotations.contains(key): break
                default: found.insert("\(at)/\(key)")
                }
            }
        }
        walk(root, "#")
        return found
    }

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node = root
        for part in reference.dropFirst(2).split(separator: "/") {
            guard case let .object(fields) = node, let next = fields[String(part)] else { return nil }
            node = next
        }
        return node
    }

    private func type(of value: JSONValue) -> Set<String> {
        switch value {
        case .null: ["null"]
        case .bool: ["boolean"]
        case let .number(n): n == n.rounded() ? ["number", "integer"] : ["number"]
        case .string: ["string"]
        case .array: ["array"]
        case .object: ["object"]
        }
    }

    private func fullMatch(_ pattern: String, _ text: String) -> Bool {
        // ECMA-262 `$` matches only at the end; ICU's also before a final newline, so insist on a whole match.
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        let range = NSRange(text.startIndex..., in: text)
        guard let match = regex.firstMatch(in: text, range: range) else { return false }
        return match.range == range
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at location: String,
                       failures: inout [String], collect: inout Set<String>) {
        guard case let .object(keywords) = schema else {
            if schema == .bool(false) { failures.append("\(location): false") }
            return
        }
        func fail(_ keyword: String, _ what: String) {
            failures.append("\(location)/\(keyword): \(what)")
            collect.insert("\(location)/\(keyword)")
        }
        for (keyword, argument) in keywords {
            switch keyword {
            case _ where Self.annotations.contains(keyword): break
            case "$ref":
                guard case let .string(reference) = argument, let target = resolve(reference) else { fail(keyword, "unresolvable"); break }
                var inner: [String] = []
                // Failures inside a referenced definition are named at the definition.
                check(value, against: target, at: "#" + reference.dropFirst(), failures: &inner, collect: &collect)
                failures.append(contentsOf: inner)
            case "type":
                guard case let .string(name) = argument else { fail(keyword, "bad schema"); break }
                if !type(of: value).contains(name) { fail(keyword, "not \(name)") }
            case "const": if value != argument { fail(keyword, "not \(argument)") }
            case "enum":
                guard case let .array(options) = argument else { fail(keyword, "bad schema"); break }
                if !options.contains(value) { fail(keyword, "not one of the options") }
            case "minimum", "maximum", "exclusiveMinimum":
                guard case let .number(bound) = argument else { fail(keyword, "bad schema"); break }
                guard case let .number(n) = value else { break }
                let ok = keyword == "minimum" ? n >= bound : keyword == "maximum" ? n <= bound : n > bound
                if !ok { fail(keyword, "\(n) vs \(bound)") }
            case "minLength":
                guard case let .number(bound) = argument else { fail(keyword, "bad schema"); break }
                if case let .string(text) = value, Double(text.unicodeScalars.count) < bound { fail(keyword, "too short") }
            case "pattern":
                guard case let .string(pattern) = argument else { fail(keyword, "bad schema"); break }
                if case let .string(text) = value, !fullMatch(pattern, text) { fail(keyword, "no match") }
            case "required":
                guard case let .array(names) = argument else { fail(keyword, "bad schema"); break }
                if case let .object(fields) = value {
                    for case let .string(name) in names where fields[name] == nil { fail(keyword, "\(name) missing") }
                }
            case "properties":
                guard case let .object(children) = argument else { fail(keyword, "bad schema"); break }
                if case let .object(fields) = value {
                    for (name, child) in children {
                        if let field = fields[name] { check(field, against: child, at: "\(location)/properties/\(name)", failures: &failures, collect: &collect) }
                    }
                }
            case "additionalProperties":
                guard case let .object(fields) = value else { break }
                let known: Set<String> = if case let .object(properties)? = keywords["properties"] { Set(properties.keys) } else { [] }
                for (name, field) in fields where !known.contains(name) {
                    if argument == .bool(false) { fail(keyword, "\(name) not allowed") }
                    else { check(field, against: argument, at: "\(location)/additionalProperties", failures: &failures, collect: &collect) }
                }
            case "items":
                guard case let .array(items) = value else { break }
                let skip: Int = if case let .array(prefix)? = keywords["prefixItems"] { prefix.count } else { 0 }
                for item in items.dropFirst(skip) { check(item, against: argument, at: "\(location)/items", failures: &failures, collect: &collect) }
            case "prefixItems":
                guard case let .array(schemas) = argument else { fail(keyword, "bad schema"); break }
                if case let .array(items) = value {
                    for (i, (item, child)) in zip(items, schemas).enumerated() {
                        check(item, against: child, at: "\(location)/prefixItems/\(i)", failures: &failures, collect: &collect)
                    }
                }
            case "minItems", "maxItems":
                guard case let .number(bound) = argument else { fail(keyword, "bad schema"); break }
                if case let .array(items) = value, keyword == "minItems" ? Double(items.count) < bound : Double(items.count) > bound {
                    fail(keyword, "\(items.count) items")
                }
            case "oneOf", "allOf":
                guard case let .array(branches) = argument else { fail(keyword, "bad schema"); break }
                var passing = 0
                for (i, branch) in branches.enumerated() {
                    var inner: [String] = []
                    check(value, against: branch, at: "\(location)/\(keyword)/\(i)", failures: &inner, collect: &collect)
                    if inner.isEmpty { passing += 1 } else if keyword == "allOf" { failures.append(contentsOf: inner) }
                }
                if keyword == "oneOf", passing != 1 { fail(keyword, "\(passing) branches match") }
            case "not":
                var inner: [String] = []
                var ignored: Set<String> = []
                check(value, against: argument, at: "\(location)/not", failures: &inner, collect: &ignored)
                if inner.isEmpty { fail(keyword, "matches what it must not") }
            default:
                fail(keyword, "a keyword this checker does not know")
            }
        }
    }
}
