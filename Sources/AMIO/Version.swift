import CJack
import CSampleRate
import CSndFile

/// The package's version, and those of the C libraries it runs on.
public enum SwiftAMIO {
    /// This release of SwiftAMIO.
    public static let version = "0.2.0"

    /// The versions of libjack, libsndfile and libsamplerate loaded in this
    /// process (libjack's is the one the dynamic linker found: jackd2's, or
    /// PipeWire's when run under `pw-jack`).
    public static var libraryVersions: String {
        let jack = jack_get_version_string().map { String(cString: $0) } ?? "unknown"
        // libsamplerate's string ends with its copyright: the version is before it.
        let samplerate = String(cString: src_get_version()).components(separatedBy: " (c)")[0]
        return "libjack \(jack), \(String(cString: sf_version_string())), \(samplerate)"
    }
}
