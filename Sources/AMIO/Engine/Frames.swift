/// A frame on the engine's timeline, or a distance along it: where a clip
/// plays (``PlayspecEntry/playAt``), how often it repeats, where a change
/// switches (``PlayspecChange/insertAt``), the transport's
/// ``AudioInterface/position``, the frame an input chunk lines up with
/// (``InputAudioChunk/startingFrame``), where a recording starts and ends.
///
/// Timeline frames are 64-bit whatever the platform, as the realtime core
/// counts them (`int64_t`): the timeline may run for centuries, and may be
/// negative (a seek before 0, a loop whose start lies before it); every
/// value lies within ±2^62 (``TimelineLimit``). One exception stands on
/// another clock: ``InputAudioChunk/cycleFrameTime`` is a frame of the JACK
/// server's clock, not of the timeline. (`UInt64` in the API is never a
/// frame: it is an id, or JACK's microsecond clock.)
///
/// Frames held in memory are counted with ``FrameCount``. Where the two
/// meet, a count becomes a distance along the timeline with
/// `FramePosition(count)` — a clip's length, a latency, a period — which is
/// always exact. Times in seconds become timeline frames at the
/// interface's rate with ``AudioInterface/frames(forSeconds:)`` (or
/// ``OfflineRenderer/frames(forSeconds:)``), which checks the range:
///
/// ```swift
/// let beat = try io.frames(forSeconds: 0.5)                 // 120 bpm
/// let end = entry.playAt + FramePosition(entry.clip.frameCount)
/// try io.schedulePlayspecChange(playspec, insertAt: 8 * beat, startFrom: 4 * beat)
/// ```
public typealias FramePosition = Int64

/// A number of frames held in memory, or an index into them: a clip's,
/// chunk's or file's ``AudioClip/frameCount``, a crop
/// (``PlayspecEntry/frames``, clip frames), a period
/// (``AudioInterface/periodFrames``), a latency, frames lost or written.
///
/// It is `Int`, as Swift counts and indexes collections, so it indexes
/// samples without a conversion. To place a count on the timeline, convert
/// it with `FramePosition(count)` (exact); the other way, a distance along
/// the timeline that is to be held in memory (the frames of a take between
/// two positions, say) becomes a count with `FrameCount(distance)`, exact
/// on the 64-bit platforms the package runs on.
public typealias FrameCount = Int
