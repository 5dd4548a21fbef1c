import CAMIO

/// Latency around the interface, in frames.
public struct Latency: Sendable, Hashable, CustomStringConvertible {
    /// From the physical input to the interface's inputs, as JACK reports it
    /// (the largest of its input ports).
    public var capture: FrameCount
    /// From the interface's outputs to the physical output, as JACK reports
    /// it (the largest of its output ports).
    public var playback: FrameCount
    /// Whether an input is fed from one of the interface's own outputs:
    /// by a direct cable, through other clients, or through a sink's monitor
    /// ports (PipeWire). The server breaks such a loop with one cycle of
    /// delay, so the round trip includes one period.
    public var isFedBack: Bool
    /// The longest of ``inputRoundTrips``: capture + playback for a path
    /// through the physical ports; for a fed-back input, one period plus the
    /// latency the clients on the loop report adding.
    public var roundTrip: FrameCount
    /// What each input channel (`in_1` first) is compensated by, found from
    /// the paths that lead to its port: a loop from the interface's outputs
    /// (a cable, other clients, a sink's monitor), else the physical round
    /// trip of its own capture latency; an unconnected input has the longest
    /// of the others. Where these differ, the earlier channels are held back
    /// so that frame i of every channel of a chunk lines up with the same
    /// timeline frame (up to ``AudioInterfaceOptions/inputAlignmentFrames``
    /// apart, less a period; beyond, ``AudioInterfaceEvent/inputsBeyondAlignment(skew:alignmentFrames:)``).
    /// An input fed by a loop and by other sources at once (a capture port
    /// too) is labelled by the loop: the other sources' sound in it is not
    /// in line. Empty when not known per channel.
    public var inputRoundTrips: [FrameCount]
    /// The capture latency range of each input port (`in_1` first), as JACK
    /// reports it.
    public var inputs: [ClosedRange<FrameCount>]
    /// The playback latency range of each output port (`out_1` first).
    public var outputs: [ClosedRange<FrameCount>]

    /// Creates a latency from its figures.
    ///
    /// - Parameters:
    ///   - capture: Capture latency of the inputs.
    ///   - playback: Playback latency of the outputs.
    ///   - isFedBack: Whether the inputs are fed from the outputs.
    ///   - roundTrip: The (longest) round trip in frames.
    ///   - inputRoundTrips: Each input channel's round trip in frames.
    ///   - inputs: Each input port's capture latency range.
    ///   - outputs: Each output port's playback latency range.
    public init(capture: FrameCount, playback: FrameCount, isFedBack: Bool = false, roundTrip: FrameCount,
                inputRoundTrips: [FrameCount] = [], inputs: [ClosedRange<FrameCount>] = [],
                outputs: [ClosedRange<FrameCount>] = []) {
        self.capture = capture
        self.playback = playback
        self.isFedBack = isFedBack
        self.roundTrip = roundTrip
        self.inputRoundTrips = inputRoundTrips
        self.inputs = inputs
        self.outputs = outputs
    }

    init(_ latency: camio_latency, delays: [camio_input_delay], period: UInt32, inputs: [ClosedRange<Int>],
         outputs: [ClosedRange<Int>]) {
        var longest = latency
        let trips = delays.map { delay in
            var delay = delay
            return Int(camio_input_delay_round_trip(&delay, period))
        }
        let fedBack = delays.contains { $0.feedback_cycles > 0 || $0.periods > 0 }
        self.init(capture: Int(latency.capture), playback: Int(latency.playback),
                  isFedBack: fedBack || latency.feedback_cycles > 0 || latency.periods > 0,
                  roundTrip: Int(camio_latency_round_trip(&longest, period)), inputRoundTrips: trips,
                  inputs: inputs, outputs: outputs)
    }

    /// The figures in words.
    public var description: String {
        let perChannel = Set(inputRoundTrips).count > 1
            ? " (inputs \(inputRoundTrips.map(String.init).joined(separator: ", ")))" : ""
        return "capture \(capture), playback \(playback), round trip \(roundTrip) frames" + perChannel
            + (isFedBack ? " (fed back)" : "")
    }
}
