import CJack
import CSndFile
import CSoxr

/// The package's version, and those of the C libraries it runs on.
public enum SwiftAMIO {
    /// This release of SwiftAMIO.
    public static let version = "0.2.0"

    /// The versions of libjack, libsndfile and libsoxr loaded in this
    /// process (libjack's is the one the dynamic linker found: jackd2's, or
    /// PipeWire's when run under `pw-jack`).
    public static var libraryVersions: String {
        let jack = jack_get_version_string().map { String(cString: $0) } ?? "unknown"
        // libsoxr's string reads "libsoxr-0.1.3".
        return "libjack \(jack), \(String(cString: sf_version_string())), \(String(cString: soxr_version()))"
    }
}
