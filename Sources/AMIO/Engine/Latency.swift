/// Latency around the interface, in frames.
public struct Latency: Sendable, Hashable, CustomStringConvertible {
    /// From the physical input to the interface's inputs, as JACK reports it.
    public var capture: Int
    /// From the interface's outputs to the physical output, as JACK reports it.
    public var playback: Int
    /// What input chunks are compensated by: capture + playback, plus one
    /// period when an input is fed straight from the interface's own output
    /// (JACK delays such a cycle by exactly one period).
    public var roundTrip: Int

    /// The three figures in words.
    public var description: String { "capture \(capture), playback \(playback), round trip \(roundTrip) frames" }
}
