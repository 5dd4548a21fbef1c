import CAMIO

/// The curve of a fade or a crossfade: a weight s(x) that rises from
/// s(0) = 0 to s(1) = 1 as x goes from the fade's first frame to its end.
///
/// A fade-in of F frames weighs frame p (0 ..< F) by s(p / F); a fade-out
/// of F frames weighs the frame L − p frames before an occurrence's end by
/// s((L − p) / F), so it is the fade-in played backwards, and a fade-out
/// and a fade-in of one length laid over each other form a crossfade.
public enum FadeShape: String, Sendable, Hashable, CaseIterable {
    /// s(x) = x. A fade-out and a fade-in of one length overlapping sum to 1:
    /// the crossfade for material that is alike (two takes of one part).
    case linear
    /// s(x) = sin(x · π/2). Their squares sum to 1, so the power stays
    /// constant: the crossfade for material that is not alike (a loop jump).
    case equalPower
    /// Linear in decibels over 60 dB, lifted to end at 0:
    /// s(x) = (10^(3(x − 1)) − 10^−3) / (1 − 10^−3). Sounds even to the ear
    /// on a long fade-out.
    case exponential

    /// The weight s(x), as the mixer computes it (x is clamped to 0 … 1).
    ///
    /// - Parameter x: Where in the fade, from 0 (its start) to 1 (its end).
    /// - Returns: The weight, 0 … 1.
    public func weight(at x: Double) -> Float { camio_fade_weight(cShape.rawValue, x) }

    var cShape: camio_fade_shape {
        switch self {
        case .linear: CAMIO_FADE_LINEAR
        case .equalPower: CAMIO_FADE_EQUAL_POWER
        case .exponential: CAMIO_FADE_EXPONENTIAL
        }
    }
}
