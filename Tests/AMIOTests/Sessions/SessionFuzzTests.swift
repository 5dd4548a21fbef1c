@testable import AMIO
import Foundation
import Testing

/// Seeded mutations of the example sessions (fades, envelopes and a loop
/// among them) — deleted keys, wrong types,
/// huge, negative and non-finite numbers and time strings, deep nesting, long
/// strings, odd paths, broken JSON text, 100 000 entries — run through the
/// session loader in this process (it must never trap: every failure is a
/// typed session or file error), and a sample of them through `amio render`
/// in a child process under a deadline and a memory limit: no crash (no exit
/// of 128 or more), no hang, every failure a documented exit code.
///
/// `AMIO_FUZZ_SEED` and `AMIO_FUZZ_COUNT` reproduce a run; both are printed.
/// Sessions the loader accepts as longer than ``renderCap`` are not rendered
/// by the child (a legal 12-hour session takes minutes to bounce, which is
/// not a hang); the render's own maximum (24 hours) is what the huge lengths
/// the fuzzer produces run into.
@Suite struct SessionFuzzTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["AMIO_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_201
    static let count = ProcessInfo.processInfo.environment["AMIO_FUZZ_COUNT"].flatMap { Int($0) } ?? 1200
    static let childSamples = 100
    /// The longest session (in seconds at its rate) the child process renders.
    static let renderCap = 30.0
    static let childDeadline = 30.0
    static let memoryLimitKiB = 1_000_000

    /// The package's SplitMix64 (the dither's generator): one sequence for a seed on every machine.
    typealias Rng = SplitMix

    /// Values dropped into the tree: every type, the bounds, and what broke the old parser.
    static let values: [JSONValue] = [
        .null, .bool(true), .bool(false), .number(0), .number(-0.0), .number(-1), .number(1), .number(2), .number(0.5),
        .number(1e300), .number(-1e300), .number(.infinity), .number(3e14), .number(1e18), .number(9.2e18),
        .number(4096), .number(4097), .number(768_000), .number(768_001), .number(187), .number(1), .number(8), .number(9),
        .number(600), .number(601), .number(1e-300), .number(0.000001), .number(2.5), .number(6_004_799_503_160),
        .number(3.5e38), .number(24001),
        .string(""), .string("x"), .string("end"), .string("kick"), .string("take"), .string("banjo"), .string("-6 dB"),
        .string("+800 dB"), .string("-6 dB "), .string("0x1p1"), .string("1e18"), .string("1:75"), .string("99999999999:00:00"),
        .string("9223372036854775807s"), .string("4611686018427387904s"), .string("4611686018427387905s"), .string("12:00:00"),
        .string("24:00:01"), .string("0:00"), .string("0s"), .string("1s"), .string("48000s"), .string("nan"), .string("inf"),
        .string("-1"), .string("1:30"), .string(String(repeating: "9", count: 400) + "s"),
        .string(String(repeating: "long ", count: 20000)), .string("a\u{0}b"), .string("\u{1F3B5}\u{301}"),
        .string("/dev/zero"), .string("/dev/null"), .string("/proc/self/status"), .string("."), .string("/"),
        .string("../fuzz-escape.wav"), .string("audio/"), .string("/proc/amio-no-dir/x.wav"),
        .string(String(repeating: "d/", count: 300) + "x.wav"), .string(String(repeating: "n", count: 300) + ".wav"),
        .array([]), .array([.number(0)]), .array([.number(0), .string("end")]), .array([.number(2), .number(1)]),
        .array([.number(0), .number(1e300)]), .array([.string("-6 dB"), .number(1)]),
        .array([.number(1), .number(2), .number(3)]), .array(Array(repeating: .number(1), count: 4096)),
        .object([:]), .object(["kind": .string("click")]), .object(["file": .string("x.wav")]),
        .object(["kind": .string("tone"), "seconds": .number(601)]),
        .object(["kind": .string("take"), "seconds": .number(2), "channels": .number(8)]),
        // Fades, envelopes and the loop.
        .string("linear"), .string("equalPower"), .string("exponential"), .string("occurrence"), .string("timeline"),
        .string("16777217s"), .number(349.6),
        .object(["crossfade": .number(0.01)]), .object(["crossfade": .string("16777216s"), "shape": .string("linear")]),
        .object(["points": .array([])]), .object(["at": .number(0), "gain": .number(1)]),
        .object(["timeBase": .string("timeline"), "points": .array([.object(["at": .number(1e300), "gain": .number(1)])])]),
        .object(["points": .array([.object(["at": .string("0s"), "gain": .number(1)]), .object(["at": .string("1s"), "gain": .number(0)])])]),
        .object(["points": .array([.object(["at": .number(2), "gain": .number(1)]), .object(["at": .number(1), "gain": .number(0)])])]),
        .array(Array(repeating: .object(["at": .number(0), "gain": .number(1)]), count: 3)),
    ]

    /// Every (path, value) of `value`, objects and arrays included.
    static func paths(_ value: JSONValue, _ prefix: [SchemaTests.PathStep] = []) -> [[SchemaTests.PathStep]] {
        var found = [prefix]
        switch value {
        case let .object(fields):
            for (key, child) in fields.sorted(by: { $0.key < $1.key }) { found += paths(child, prefix + [.key(key)]) }
        case let .array(items):
            for (index, child) in items.enumerated().prefix(50) { found += paths(child, prefix + [.index(index)]) }
        default: break
        }
        return found
    }

    static func nested(_ depth: Int) -> JSONValue {
        (0..<depth).reduce(JSONValue.number(1)) { inner, level in level % 2 == 0 ? .array([inner]) : .object(["k": inner]) }
    }

    /// One mutation: a description and the file's text.
    static func mutate(_ bases: [JSONValue], _ rng: inout Rng, index: Int) -> (String, String) {
        var document = rng.pick(bases)
        var what: [String] = []
        if index == 7 {
            // 100 000 entries: beyond the 65 536 a session may have.
            guard case var .object(top) = document, case let .array(entries)? = top["entries"] else { return ("", "") }
            top["entries"] = .array((0..<100_000).map { entries[$0 % entries.count] })
            return ("100000 entries", SchemaTests.encode(.object(top)))
        }
        for _ in 0...rng.below(3) {
            let all = paths(document).filter { !$0.isEmpty }
            // Half the time, a number the session gives: that is where the old parser trapped.
            let numeric = all.filter { path in
                path.contains { step in
                    if case let .key(key) = step { return ["start", "repeat", "length", "crop", "seconds", "sampleRate", "outputs",
                                                            "gains", "frequency", "channels", "version", "fadeIn", "fadeOut",
                                                            "crossfade", "at", "gain"].contains(key) }
                    return false
                }
            }
            let path = !numeric.isEmpty && rng.below(2) == 0 ? rng.pick(numeric) : rng.pick(all)
            let name = path.map(\.description).joined()
            switch rng.below(10) {
            case 0, 1:
                document = SchemaTests.replacing(path[...], in: document, with: nil) ?? document
                what.append("delete \(name)")
            case 2:
                let depth = rng.pick([10, 60, 64, 65, 200, 1000])
                document = SchemaTests.replacing(path[...], in: document, with: nested(depth)) ?? document
                what.append("\(name) = nested \(depth)")
            case 3:
                document = SchemaTests.replacing(path[...] + [.key(rng.pick(["bogus", "$schema", "", "clip", "a b"]))],
                                                 in: document, with: rng.pick(values)) ?? document
                what.append("add a key under \(name)")
            case 4:
                // Duplicate an entry many times.
                if case var .object(top) = document, case let .array(entries)? = top["entries"], !entries.isEmpty {
                    let copies = rng.pick([2, 100, 1000])
                    top["entries"] = .array(entries + Array(repeating: rng.pick(entries), count: copies))
                    document = .object(top)
                    what.append("\(copies) more entries")
                }
            default:
                let value = rng.pick(values)
                document = SchemaTests.replacing(path[...], in: document, with: value) ?? document
                what.append("\(name) = \(SchemaTests.encode(value).prefix(40))")
            }
        }
        var text = SchemaTests.encode(document)
        // Now and then, break the text itself.
        if rng.below(8) == 0, !text.isEmpty {
            let utf8 = Array(text.utf8)
            let at = rng.below(utf8.count)
            switch rng.below(6) {
            case 0: text = String(decoding: utf8[..<at], as: UTF8.self); what.append("cut at byte \(at)")
            case 1: text = text.replacingOccurrences(of: "}", with: ",}"); what.append("trailing commas")
            case 2: text = text.replacingOccurrences(of: #"{"#, with: #"{"version":1,"#); what.append("duplicate keys")
            case 3: text = text.replacingOccurrences(of: ":1", with: ":NaN"); what.append("NaN")
            case 4: text = text.replacingOccurrences(of: ":0", with: ":-Infinity"); what.append("Infinity")
            default:
                var bytes = utf8
                bytes[at] ^= UInt8(1 << rng.below(8))
                text = String(decoding: bytes, as: UTF8.self)
                what.append("flip a bit at byte \(at)")
            }
        }
        return (what.joined(separator: "; "), text)
    }

    @Test func mutatedSessionsNeverCrashTheLoaderOrAmioRender() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // Sessions one level down, so "../" paths stay inside the test's folder.
        let folder = root.appendingPathComponent("sessions")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let bases = try ["drum-loop.json", "multitrack.json", "fades.json"].map {
            try JSONValue.parse(try Data(contentsOf: exampleSessions.appendingPathComponent($0)))
        }
        print("session fuzz: seed \(Self.seed), \(Self.count) mutations (AMIO_FUZZ_SEED, AMIO_FUZZ_COUNT)")
        var rng = Rng(seed: Self.seed)
        var accepted = 0, refused = 0, beyondTimeline = 0
        var children: [(index: Int, what: String, url: URL)] = []
        let every = max(1, Self.count / Self.childSamples)
        let started = Date()
        for index in 0..<Self.count {
            let (what, text) = Self.mutate(bases, &rng, index: index)
            let url = folder.appendingPathComponent("m\(index).json")
            try Data(text.utf8).write(to: url)
            let label = "mutation \(index) (seed \(Self.seed)): \(what)"
            var renderable = true
            do throws(AMIOError) {
                let session = try Session(contentsOf: url)
                let rate = session.sampleRate ?? 48000
                let (playspec, length) = try await session.playspec(sampleRate: rate)
                // The engine takes what the loader accepted: compile it and mix a block.
                let renderer = try OfflineRenderer(sampleRate: rate, outputChannels: session.outputs,
                                                   maximumPlayspecEntries: Session.maximumEntries)
                try renderer.setPlayspec(playspec)
                try renderer.setTransportRolling(true)
                if length > 0 { _ = try renderer.render(frames: Int(min(length, 4096))) }
                renderable = Double(length) <= Self.renderCap * Double(rate)
                accepted += 1
            } catch {
                switch error {
                case let .invalidSession(_, _, reason):
                    refused += 1
                    if reason.contains("timeline limit") { beyondTimeline += 1 }
                case .fileError: refused += 1
                default: Issue.record("\(label): an error amio does not report as a bad session or file: \(error)")
                }
                let message = "\(error)".replacingOccurrences(of: url.path, with: "")
                #expect(message.count < 600, "\(label): a long message: \(message.prefix(300))…")
            }
            if renderable, index % every == 0 || index == 7 { children.append((index, what, url)) }
        }
        let inProcess = Date().timeIntervalSince(started)

        // The sample, through `amio render` with a deadline and a memory limit,
        // one at a time and niced: the JACK suites running beside this one must
        // not starve (a starved jackd skips cycles, which their takes show).
        let results = try await withThrowingTaskGroup(of: (Int, String, Int32?, String).self) { group in
            var results: [(Int, String, Int32?, String)] = []
            var pending = children[...]
            func launch(_ child: (index: Int, what: String, url: URL), in group: inout ThrowingTaskGroup<(Int, String, Int32?, String), any Error>) {
                group.addTask {
                    let output = child.url.deletingPathExtension().appendingPathExtension("wav")
                    defer { try? FileManager.default.removeItem(at: output) }
                    let process = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), [
                        "-c", "ulimit -v \(Self.memoryLimitKiB); exec nice -n 19 \"$0\" \"$@\"", amioTool.path,
                        "render", child.url.path, output.path, "-q",
                    ])
                    do {
                        let (status, _, err) = try process.waitForExit(within: Self.childDeadline)
                        return (child.index, child.what, status, err)
                    } catch {
                        return (child.index, child.what, nil, "\(error)")
                    }
                }
            }
            if let next = pending.popFirst() { launch(next, in: &group) }
            while let result = try await group.next() {
                results.append(result)
                if let next = pending.popFirst() { launch(next, in: &group) }
            }
            return results
        }
        var crashes = 0, hangs = 0, byStatus: [Int32: Int] = [:]
        for (index, what, status, err) in results {
            let label = "mutation \(index) (seed \(Self.seed)): \(what)"
            guard let status else { hangs += 1; Issue.record("\(label): hung: \(err.prefix(300))"); continue }
            byStatus[status, default: 0] += 1
            if status >= 128 { crashes += 1 }
            #expect([0, 65, 74].contains(status), "\(label): exit \(status): \(err.prefix(400))")
            if status != 0 {
                #expect(err.hasPrefix("amio: ") && !err.contains("Fatal error"), "\(label): \(err.prefix(400))")
            }
        }
        print("session fuzz: \(Self.count) mutations in process in \(String(format: "%.1f", inProcess)) s: "
            + "\(accepted) accepted, \(refused) refused with a typed error (\(beyondTimeline) for the timeline limit); \(results.count) rendered by amio: "
            + "exit codes \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")), "
            + "\(crashes) crashes, \(hangs) hangs")
        #expect(results.count >= Self.childSamples / 2, "enough of the sample is rendered")
    }
}

extension SplitMix {
    /// A value in 0..<n, by remainder (so a seed's mutations stay what they were).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
