import CAMIO

/// Latency around the interface, in frames.
public struct Latency: Sendable, Hashable, CustomStringConvertible {
    /// From the physical input to the interface's inputs, as JACK reports it
    /// (the largest of its input ports).
    public var capture: Int
    /// From the interface's outputs to the physical output, as JACK reports
    /// it (the largest of its output ports).
    public var playback: Int
    /// Whether an input is fed from one of the interface's own outputs:
    /// by a direct cable, through other clients, or through a sink's monitor
    /// ports (PipeWire). The server breaks such a loop with one cycle of
    /// delay, so the round trip includes one period.
    public var isFedBack: Bool
    /// What input chunks are compensated by: capture + playback for a path
    /// through the physical ports; for a fed-back input, one period plus the
    /// latency the clients on the loop report adding.
    public var roundTrip: Int
    /// The capture latency range of each input port (`in_1` first), as JACK
    /// reports it. Input chunks are compensated by one figure for all
    /// channels, from the largest of these.
    public var inputs: [ClosedRange<Int>]
    /// The playback latency range of each output port (`out_1` first).
    public var outputs: [ClosedRange<Int>]

    /// Creates a latency from its figures.
    ///
    /// - Parameters:
    ///   - capture: Capture latency of the inputs.
    ///   - playback: Playback latency of the outputs.
    ///   - isFedBack: Whether the inputs are fed from the outputs.
    ///   - roundTrip: The round trip in frames.
    ///   - inputs: Each input port's capture latency range.
    ///   - outputs: Each output port's playback latency range.
    public init(capture: Int, playback: Int, isFedBack: Bool = false, roundTrip: Int,
                inputs: [ClosedRange<Int>] = [], outputs: [ClosedRange<Int>] = []) {
        self.capture = capture
        self.playback = playback
        self.isFedBack = isFedBack
        self.roundTrip = roundTrip
        self.inputs = inputs
        self.outputs = outputs
    }

    init(_ latency: camio_latency, period: UInt32, inputs: [ClosedRange<Int>], outputs: [ClosedRange<Int>]) {
        var roundTrip = latency
        self.init(capture: Int(latency.capture), playback: Int(latency.playback),
                  isFedBack: latency.feedback_cycles > 0 || latency.periods > 0,
                  roundTrip: Int(camio_latency_round_trip(&roundTrip, period)), inputs: inputs, outputs: outputs)
    }

    /// The figures in words.
    public var description: String {
        "capture \(capture), playback \(playback), round trip \(roundTrip) frames" + (isFedBack ? " (fed back)" : "")
    }
}
