extension Session {
    /// An entry's gain envelope, in session times: breakpoints a gain is
    /// drawn through (the session's form of a ``GainEnvelope``).
    ///
    /// ```json
    /// "envelope": { "timeBase": "occurrence",
    ///               "points": [ { "at": 0, "gain": 0 }, { "at": 0.5, "gain": "-6 dB" }, { "at": 2, "gain": [1, 0.5] } ] }
    /// ```
    ///
    /// Between two points the gain is interpolated linearly in amplitude;
    /// before the first it holds the first gain, after the last the last. It
    /// multiplies the entry's gains and fades. A point's time counts from the
    /// start of each occurrence of the entry (``GainEnvelope/TimeBase/occurrence``:
    /// the same curve in every repetition), or on the timeline
    /// (``GainEnvelope/TimeBase/timeline``, as `start` does).
    public struct Envelope: Sendable, Hashable {
        /// One breakpoint.
        public struct Point: Sendable, Hashable {
            /// Where it is, from the time base's origin (`at` in the file).
            public var time: AudioTime
            /// One linear gain for every output, or one per output.
            public var gains: [Float]

            /// A breakpoint with one gain per output, or one for all of them.
            ///
            /// - Parameters:
            ///   - time: Where it is, from the envelope's time base's origin.
            ///   - gains: One linear gain for every output, or one per output.
            public init(at time: AudioTime, gains: [Float]) {
                self.time = time
                self.gains = gains
            }

            /// A breakpoint with one gain for every output.
            ///
            /// - Parameters:
            ///   - time: Where it is, from the envelope's time base's origin.
            ///   - gain: The linear gain of every output.
            public init(at time: AudioTime, gain: Float) {
                self.init(at: time, gains: [gain])
            }
        }

        /// What the points' times count from.
        public var timeBase: GainEnvelope.TimeBase
        /// The breakpoints, each after the one before; at least one, at most
        /// ``GainEnvelope/maximumPoints``.
        public var points: [Point]

        /// An envelope; ``Session/init(url:outputs:sampleRate:length:loop:clips:entries:)`` checks it.
        ///
        /// - Parameters:
        ///   - points: The breakpoints, each after the one before.
        ///   - timeBase: What their times count from (default: each occurrence's start).
        public init(_ points: [Point], timeBase: GainEnvelope.TimeBase = .occurrence) {
            self.points = points
            self.timeBase = timeBase
        }
    }
}

extension SessionReader {
    /// `{"timeBase": …, "points": [{"at": time, "gain": gain or [gain per output]}, …]}`,
    /// the points in increasing order (compared at the session's rate).
    func envelope(_ value: JSONValue, outputs: Int, at location: String) throws(AMIOError) -> Session.Envelope {
        let fields = try object(value, at: location)
        try allowOnly(["timeBase", "points"], in: fields, at: location)
        var timeBase = GainEnvelope.TimeBase.occurrence
        if let base = fields["timeBase"] {
            let names = GainEnvelope.TimeBase.allCases.map(\.rawValue).sorted()
            guard case let .string(name) = base, let known = GainEnvelope.TimeBase(rawValue: name) else {
                throw fail("\(location).timeBase", "expected one of \(names.map { "\"\($0)\"" }.joined(separator: ", ")), "
                    + "found \(describe(base))")
            }
            timeBase = known
        }
        guard let pointsValue = fields["points"] else { throw fail("\(location).points", "required: an array of points") }
        guard case let .array(items) = pointsValue else {
            throw fail("\(location).points", "expected an array of points ({\"at\": time, \"gain\": gain}), found \(pointsValue.kind)")
        }
        guard !items.isEmpty else { throw fail("\(location).points", "an envelope has at least one point") }
        guard items.count <= GainEnvelope.maximumPoints else {
            throw fail("\(location).points", "\(items.count) points; an envelope holds at most \(GainEnvelope.maximumPoints)")
        }
        var points: [Session.Envelope.Point] = []
        points.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let at = "\(location).points[\(index)]"
            let point = try object(item, at: at)
            try allowOnly(["at", "gain"], in: point, at: at)
            guard let timeValue = point["at"] else { throw fail("\(at).at", "required: the point's time") }
            let time = try self.time(timeValue, at: "\(at).at")
            if let previous = points.last, !previous.time.isBefore(time, countingFramesAt: sampleRate ?? 1) {
                throw fail("\(at).at", "\(time.shown) is not after point \(index - 1) at \(previous.time.shown): points must come in order")
            }
            guard let gainValue = point["gain"] else { throw fail("\(at).gain", "required: a gain, or one per output") }
            points.append(Session.Envelope.Point(at: time, gains: try gains(gainValue, outputs: outputs, at: "\(at).gain",
                                                                             expandingOne: false)))
        }
        return Session.Envelope(points, timeBase: timeBase)
    }
}
