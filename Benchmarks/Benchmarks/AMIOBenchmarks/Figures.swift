import Benchmark
import Foundation

/// Samples of the figures that `scripts/benchmark.sh` tabulates against the
/// goals of the realtime core, after the run.
///
/// package-benchmark runs every benchmark in a process of its own and keeps
/// its results to itself, so the benchmarks that feed the table append
/// `KEY VALUE` lines to the file named by `AMIO_BENCHMARK_FIGURES` (when it is
/// set), one line a sample; the script takes the median of each key and
/// derives the table from them.
enum Figures {
    private static let path = ProcessInfo.processInfo.environment["AMIO_BENCHMARK_FIGURES"]

    /// Appends one sample of `key`.
    static func record(_ key: String, _ value: Double) {
        guard let path, value.isFinite else { return }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // One write with O_APPEND: a line is never torn, whoever else appends.
        let line = "\(key) \(value)\n"
        _ = line.withCString { write(descriptor, $0, strlen($0)) }
    }
}

extension Benchmark {
    /// Whether this run of the closure is measured rather than a warm-up
    /// (package-benchmark numbers the warm-up runs first).
    var isMeasuredRound: Bool { currentIteration >= configuration.warmupIterations }
}
