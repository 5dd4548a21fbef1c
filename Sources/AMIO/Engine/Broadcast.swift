import Synchronization

/// Fans one producer's elements out to any number of consumers, each with a
/// bounded buffer of its own. A consumer that falls behind loses only its own
/// elements; the producer never waits.
final class Broadcaster<Element: Sendable>: Sendable {
    /// Called with an element about to be delivered and the number of frames
    /// this consumer lost before it, so the element can report them.
    typealias DropAccounting = @Sendable (inout Element, Int) -> Void
    /// How many frames an element that had to be dropped stands for.
    typealias DropWeight = @Sendable (Element) -> Int

    /// One consumer: `deliver` returns false when its buffer is full and the
    /// element was dropped; `end` finishes it.
    private final class Subscriber: Sendable {
        let deliver: @Sendable (Element) -> Bool
        let end: @Sendable ((any Error)?) -> Void
        /// Touched only by the single producer thread.
        let droppedSinceLastDelivery = Atomic<Int>(0)
        init(deliver: @escaping @Sendable (Element) -> Bool, end: @escaping @Sendable ((any Error)?) -> Void) {
            self.deliver = deliver
            self.end = end
        }
    }

    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 0
        var ending: (any Error)?? = nil
    }

    private let state = Mutex<State>(State())
    private let account: DropAccounting?
    private let weight: DropWeight

    init(account: DropAccounting? = nil, weight: @escaping DropWeight = { _ in 1 }) {
        self.account = account
        self.weight = weight
    }

    /// A new consumer's stream; it sees every element broadcast from now on.
    func subscribe(bufferLimit: Int) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: Element.self, throwing: (any Error).self, bufferingPolicy: .bufferingOldest(max(1, bufferLimit)))
        let subscriber = Subscriber(
            deliver: { element in
                if case .dropped = continuation.yield(element) { return false }
                return true
            },
            end: { continuation.finish(throwing: $0) })
        if let id = add(subscriber) {
            continuation.onTermination = { [weak self] _ in self?.remove(id) }
        }
        return stream
    }

    /// A consumer that is called on the producer's thread; see ``Subscriber``.
    /// Returns a token for ``remove(_:)``, or nil when the broadcaster already ended
    /// (`end` has then been called).
    @discardableResult
    func subscribe(deliver: @escaping @Sendable (Element) -> Bool,
                   end: @escaping @Sendable ((any Error)?) -> Void) -> UInt64? {
        add(Subscriber(deliver: deliver, end: end))
    }

    private func add(_ subscriber: Subscriber) -> UInt64? {
        let added: Result<UInt64, Ending> = state.withLock { state in
            if let ending = state.ending { return .failure(Ending(error: ending)) }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = subscriber
            return .success(id)
        }
        switch added {
        case let .success(id): return id
        case let .failure(ending):
            subscriber.end(ending.error)
            return nil
        }
    }

    private struct Ending: Error { let error: (any Error)? }

    /// Stops delivering to one consumer (it is not finished).
    func remove(_ id: UInt64) {
        state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
    }

    /// Delivers to every consumer. Call from one producer thread only.
    func broadcast(_ element: Element) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            var delivered = element
            let dropped = subscriber.droppedSinceLastDelivery.load(ordering: .relaxed)
            if dropped > 0, let account { account(&delivered, dropped) }
            if subscriber.deliver(delivered) {
                subscriber.droppedSinceLastDelivery.store(0, ordering: .relaxed)
            } else {
                subscriber.droppedSinceLastDelivery.add(weight(element), ordering: .relaxed)
            }
        }
    }

    /// Ends every stream, now and for consumers that subscribe later.
    func finish(throwing error: (any Error)? = nil) {
        let subscribers: [Subscriber] = state.withLock { state in
            guard state.ending == nil else { return [] }
            state.ending = .some(error)
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        // Outside the lock: finishing runs onTermination, which takes the lock.
        for subscriber in subscribers { subscriber.end(error) }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// An asynchronous sequence that every consumer iterates independently: each
/// `for await` loop gets every element from the moment it starts, in its own
/// buffer of `bufferLimit` elements.
///
/// The input chunks and the events of an ``AudioInterface`` come this way.
/// A consumer that falls more than `bufferLimit` elements behind loses the
/// newest ones; for input chunks the lost frames are reported in the next
/// chunk it receives (``InputAudioChunk/droppedFramesBefore``).
public struct BroadcastSequence<Element: Sendable>: AsyncSequence, Sendable {
    let broadcaster: Broadcaster<Element>
    /// How many elements each consumer may fall behind before it loses some.
    public let bufferLimit: Int

    /// Starts a new consumer: it receives every element from now on.
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: broadcaster.subscribe(bufferLimit: bufferLimit).makeAsyncIterator())
    }

    /// Iterates one consumer's stream.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Element, any Error>.Iterator

        /// The next element; `nil` when the sequence finished, or the error it ended with.
        public mutating func next() async throws -> Element? {
            try await base.next()
        }
    }
}
