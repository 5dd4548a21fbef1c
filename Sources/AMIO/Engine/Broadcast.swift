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

    /// How a consumer that asked for elements of at least so many frames
    /// gets them: consecutive elements joined into one.
    struct Coalescing: Sendable {
        /// The frames an element holds.
        let frames: @Sendable (Element) -> Int
        /// Whether the second element carries straight on from the first, so
        /// the two may be joined.
        let continues: @Sendable (Element, Element) -> Bool
        /// One element for a run of elements each continuing the one before.
        let join: @Sendable ([Element]) -> Element
    }

    /// Where a consumer's elements go: its own queue (an iterator), or a
    /// callback on the producer's thread. `deliver` returns false when the
    /// consumer's buffer is full and the element was dropped; `end` finishes
    /// it, with the error the broadcaster ended with, if any.
    private enum Target: Sendable {
        /// Called straight from the broadcast, specialised for the element.
        case queue(ConsumerQueue<Element>)
        case callback(deliver: @Sendable (Element) -> Bool, end: @Sendable (AMIOError?) -> Void)
    }

    private final class Subscriber: Sendable {
        let target: Target
        /// Frames this consumer takes at once (0: every element as it comes).
        let minimumFrames: Int
        /// Touched only by the single producer thread.
        let droppedSinceLastDelivery = Atomic<Int>(0)
        /// Elements held back until they add up to `minimumFrames`, and their
        /// frames. Touched by the producer thread and, once, by finish.
        let held = Mutex<(elements: [Element], frames: Int)>(([], 0))
        init(_ target: Target, minimumFrames: Int = 0) {
            self.target = target
            self.minimumFrames = minimumFrames
        }

        func deliver(_ element: Element) -> Bool {
            switch target {
            case let .queue(queue): queue.push(element)
            case let .callback(deliver, _): deliver(element)
            }
        }

        func end(_ error: AMIOError?) {
            switch target {
            case let .queue(queue): queue.finish(throwing: error)
            case let .callback(_, end): end(error)
            }
        }
    }

    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        /// The subscribers' values, kept up to date, so that a broadcast
        /// takes them without building an array.
        var snapshot: [Subscriber] = []
        var nextID: UInt64 = 0
        var ending: AMIOError?? = nil

        mutating func refresh() { snapshot = Array(subscribers.values) }
        /// The fewest frames any consumer takes at once; 0 when one takes every element or none is there.
        var demand: Int { snapshot.map(\.minimumFrames).min() ?? 0 }
    }

    private let state = Mutex<State>(State())
    /// Moves with every change of the subscribers, after it is made: the
    /// producer takes the lock to re-read them only when it moved, not for
    /// every element.
    private let generation = Atomic<UInt64>(0)
    /// The subscribers as the producer last read them (with `singleProducer`).
    private final class ProducerView: @unchecked Sendable {
        // Touched only by the one producer thread (see broadcast).
        var generation: UInt64 = .max
        var subscribers: [Subscriber] = []
    }
    private let producerView = ProducerView()
    /// Whether one thread alone broadcasts (the bridge, for input chunks):
    /// it may then keep the subscribers between elements. Events come from
    /// the bridge and from control calls, and read them under the lock.
    private let singleProducer: Bool
    private let account: DropAccounting?
    private let weight: DropWeight
    private let coalescing: Coalescing?
    private let demandChanged: (@Sendable (Int) -> Void)?

    /// - Parameters:
    ///   - coalescing: How elements are joined for consumers that take at
    ///     least so many frames at once; without it, every consumer gets every element.
    ///   - demandChanged: Called with the fewest frames any consumer now
    ///     takes at once, whenever consumers come and go; under the lock, so
    ///     the calls come in the order of the changes. It must be quick.
    ///   - singleProducer: Whether ``broadcast(_:)`` is only ever called
    ///     from one thread.
    init(account: DropAccounting? = nil, weight: @escaping DropWeight = { _ in 1 },
         coalescing: Coalescing? = nil, demandChanged: (@Sendable (Int) -> Void)? = nil,
         singleProducer: Bool = false) {
        self.singleProducer = singleProducer
        self.account = account
        self.weight = weight
        self.coalescing = coalescing
        self.demandChanged = demandChanged
    }

    /// A new consumer; it sees every element broadcast from now on, joined
    /// into elements of at least `minimumFrames` frames where the
    /// broadcaster knows how (see ``Coalescing``).
    ///
    /// Its elements wait in a ``ConsumerQueue`` of its own: concrete code,
    /// specialised for the element, where an `AsyncStream` would run the
    /// standard library's unspecialised generic code (metadata lookups,
    /// witness tables) for every element.
    func subscribe(bufferLimit: Int, minimumFrames: Int = 0) -> BroadcastSequence<Element>.Iterator {
        let queue = ConsumerQueue<Element>(limit: bufferLimit)
        let subscriber = Subscriber(
            .queue(queue),
            minimumFrames: coalescing == nil || minimumFrames <= 1 ? 0 : minimumFrames)
        if let id = add(subscriber) {
            queue.onLeave { [weak self] in self?.remove(id) }
        }
        return BroadcastSequence.Iterator(queue: queue)
    }

    /// A consumer that is called on the producer's thread; see ``Subscriber``.
    /// Returns a token for ``remove(_:)``, or nil when the broadcaster already ended
    /// (`end` has then been called).
    @discardableResult
    func subscribe(deliver: @escaping @Sendable (Element) -> Bool,
                   end: @escaping @Sendable (AMIOError?) -> Void) -> UInt64? {
        add(Subscriber(.callback(deliver: deliver, end: end)))
    }

    private func add(_ subscriber: Subscriber) -> UInt64? {
        let added: Result<UInt64, AlreadyEnded> = state.withLock { state in
            if let ending = state.ending { return .failure(AlreadyEnded(error: ending)) }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = subscriber
            state.refresh()
            generation.add(1, ordering: .releasing)
            demandChanged?(state.demand)
            return .success(id)
        }
        switch added {
        case let .success(id):
            return id
        case let .failure(ending):
            subscriber.end(ending.error)
            return nil
        }
    }

    private struct AlreadyEnded: Error { let error: AMIOError? }

    /// Stops delivering to one consumer (it is not finished).
    func remove(_ id: UInt64) {
        state.withLock { state in
            guard state.subscribers.removeValue(forKey: id) != nil else { return }
            state.refresh()
            generation.add(1, ordering: .releasing)
            demandChanged?(state.demand)
        }
    }

    /// Delivers to every consumer. With `singleProducer`, call from that one
    /// thread only; elements from several threads may arrive in any order.
    func broadcast(_ element: Element) {
        let subscribers: [Subscriber]
        if singleProducer {
            let current = generation.load(ordering: .acquiring)
            if producerView.generation != current {
                producerView.subscribers = state.withLock { $0.snapshot }
                producerView.generation = current
            }
            subscribers = producerView.subscribers
        } else {
            subscribers = state.withLock { $0.snapshot }
        }
        for subscriber in subscribers {
            guard subscriber.minimumFrames > 0, let coalescing else {
                send(element, to: subscriber)
                continue
            }
            // Held back until the run adds up to what the consumer asked for;
            // an element that does not continue the run sends the run first.
            let (earlier, run): (Element?, Element?) = subscriber.held.withLock { held in
                var earlier: Element?
                if let last = held.elements.last, !coalescing.continues(last, element) {
                    earlier = coalescing.join(held.elements)
                    held = ([], 0)
                }
                held.elements.append(element)
                held.frames += coalescing.frames(element)
                guard held.frames >= subscriber.minimumFrames else { return (earlier, nil) }
                defer { held = ([], 0) }
                return (earlier, coalescing.join(held.elements))
            }
            if let earlier { send(earlier, to: subscriber) }
            if let run { send(run, to: subscriber) }
        }
    }

    private func send(_ element: Element, to subscriber: Subscriber) {
        var delivered = element
        let dropped = subscriber.droppedSinceLastDelivery.load(ordering: .relaxed)
        if dropped > 0, let account { account(&delivered, dropped) }
        if subscriber.deliver(delivered) {
            subscriber.droppedSinceLastDelivery.store(0, ordering: .relaxed)
        } else {
            subscriber.droppedSinceLastDelivery.add(weight(element), ordering: .relaxed)
        }
    }

    /// Ends every stream, now and for consumers that subscribe later. A
    /// consumer's held-back elements are delivered first.
    func finish(throwing error: AMIOError? = nil) {
        let subscribers: [Subscriber] = state.withLock { state in
            guard state.ending == nil else { return [] }
            state.ending = .some(error)
            defer {
                state.subscribers = [:]
                state.snapshot = []
                generation.add(1, ordering: .releasing)
            }
            return state.snapshot
        }
        // Outside the lock: finishing runs onTermination, which takes the lock.
        for subscriber in subscribers {
            let held = subscriber.held.withLock { held in
                defer { held = ([], 0) }
                return held.elements
            }
            if let coalescing, !held.isEmpty { send(coalescing.join(held), to: subscriber) }
            subscriber.end(error)
        }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// One consumer's elements, in order, in a buffer of at most `limit`, and the
/// consumer's suspended `next()` while it waits: one lock guards both, held
/// only to move an element or the continuation (never while resuming), so
/// neither side waits on it for longer than that.
///
/// An element pushed while the consumer waits goes straight to it, without
/// touching the buffer.
final class ConsumerQueue<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        /// A ring: `count` elements from `head`, growing (by doubling, up to
        /// the limit) only when a consumer falls that far behind.
        var ring: [Element?] = []
        var head = 0
        var count = 0
        /// The consumers' `next()`, suspended, oldest first; only while
        /// `count == 0`. Usually one; more when copies of an iterator await
        /// at once (as AsyncStream allows), each then gets its own element.
        /// Emptied with `removeFirst`, so it keeps its storage.
        var waiters: [UnsafeContinuation<Element?, Never>] = []
        /// Set once: no element is taken after it, and the consumer gets
        /// `nil` once the buffer is empty.
        var finished = false
        var error: AMIOError?
        /// Called once when the consumer leaves (cancelled, or its iterator gone).
        var leave: (@Sendable () -> Void)?

        mutating func popFirst() -> Element? {
            guard count > 0 else { return nil }
            defer {
                ring[head] = nil
                head = head + 1 == ring.count ? 0 : head + 1
                count -= 1
            }
            return ring[head]
        }

        mutating func append(_ element: Element, limit: Int) -> Bool {
            if count == ring.count {
                guard ring.count < limit else { return false }
                var grown = [Element?](repeating: nil, count: min(limit, max(4, ring.count * 2)))
                for index in 0..<count { grown[index] = ring[(head + index) % ring.count] }
                ring = grown
                head = 0
            }
            ring[(head + count) % ring.count] = element
            count += 1
            return true
        }
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// Hands `element` to the consumer. Returns false when its buffer is full
    /// and the element was dropped (not when it has finished: then nobody
    /// will miss it).
    func push(_ element: Element) -> Bool {
        let (waiter, taken): (UnsafeContinuation<Element?, Never>?, Bool) = state.withLock { state in
            if state.finished { return (nil, true) }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst(), true) }
            return (nil, state.append(element, limit: limit))
        }
        waiter?.resume(returning: element)
        return taken
    }

    /// Ends the consumer: it takes what is buffered, then gets `nil` (and the
    /// iterator throws `error` once, if there is one).
    func finish(throwing error: AMIOError? = nil) {
        let waiters = state.withLock { state -> [UnsafeContinuation<Element?, Never>] in
            guard !state.finished else { return [] }
            state.finished = true
            state.error = error
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// Sets what to call when the consumer leaves; called at once if it has.
    func onLeave(_ leave: @escaping @Sendable () -> Void) {
        let gone = state.withLock { state -> Bool in
            guard !state.finished else { return true }
            state.leave = leave
            return false
        }
        if gone { leave() }
    }

    /// The consumer leaves: its task was cancelled, or its iterator is gone.
    func leave() {
        let leave = state.withLock { state -> (@Sendable () -> Void)? in
            defer { state.leave = nil }
            return state.leave
        }
        finish()
        leave?()
    }

    /// The error the queue finished with, once it has.
    var error: AMIOError? { state.withLock { $0.error } }

    /// The next element, or nil once finished and empty (at once when the
    /// task is cancelled); resumes on `actor`.
    func next(isolation actor: isolated (any Actor)?) async -> Element? {
        // A cancelled consumer leaves at its first `next()`, as with
        // AsyncStream (whose every `next()` installs the handler): it takes
        // what is buffered, then nil, and nothing more is queued for it.
        // Without this, one whose buffer is never empty would never see it.
        if Task.isCancelled { leave() }
        // Taken without suspending when one is waiting.
        let ready: Element?? = state.withLock { state in
            if let element = state.popFirst() { return .some(element) }
            return state.finished ? .some(nil) : nil
        }
        if let ready { return ready }
        return await withTaskCancellationHandler(operation: {
            await withUnsafeContinuation(isolation: actor) { (continuation: UnsafeContinuation<Element?, Never>) in
                let ready: Element?? = state.withLock { state in
                    if let element = state.popFirst() { return .some(element) }
                    if state.finished { return .some(nil) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }, onCancel: { self.leave() }, isolation: actor)
    }
}

/// Makes a consumer leave when the last copy of its iterator goes.
final class ConsumerLease<Element: Sendable>: Sendable {
    let queue: ConsumerQueue<Element>
    init(_ queue: ConsumerQueue<Element>) { self.queue = queue }
    deinit { queue.leave() }
}

/// An asynchronous sequence that every consumer iterates independently: each
/// `for try await` loop gets every element from the moment it starts, in its
/// own buffer of `bufferLimit` elements.
///
/// The input chunks and the events of an ``AudioInterface`` come this way.
/// A consumer that falls more than `bufferLimit` elements behind loses the
/// newest ones; for input chunks the lost frames are reported in the next
/// chunk it receives (``InputAudioChunk/droppedFramesBefore``).
///
/// The sequence throws only ``AMIOError`` (its `Failure`), so a loop in a
/// function that `throws(AMIOError)`, or in a `do throws(AMIOError)` block,
/// needs no cast:
///
/// ```swift
/// do throws(AMIOError) {
///     for try await chunk in io.inputChunks { meter.add(chunk) }
/// } catch {
///     print("input ended: \(error)")   // error is an AMIOError
/// }
/// ```
///
/// A loop ends (`next()` returns nil) when the interface closes, and when
/// its task is cancelled: the consumer leaves, the others go on. It throws
/// when the server goes away (``AMIOError/serverShutdown(reason:)``), once,
/// after the elements that came before.
public struct BroadcastSequence<Element: Sendable>: AsyncSequence, Sendable {
    /// What iterating throws: only ``AMIOError``.
    public typealias Failure = AMIOError

    let broadcaster: Broadcaster<Element>
    /// How many elements each consumer may fall behind before it loses some.
    public let bufferLimit: Int
    /// Frames each consumer takes at once: consecutive input chunks are
    /// joined until they hold at least this many (0: each as captured).
    public let minimumFrames: FrameCount

    init(broadcaster: Broadcaster<Element>, bufferLimit: Int, minimumFrames: Int = 0) {
        self.broadcaster = broadcaster
        self.bufferLimit = bufferLimit
        self.minimumFrames = minimumFrames
    }

    /// Starts a new consumer: it receives every element from now on.
    ///
    /// - Returns: The consumer's iterator; each call makes a new consumer.
    public func makeAsyncIterator() -> Iterator {
        broadcaster.subscribe(bufferLimit: bufferLimit, minimumFrames: minimumFrames)
    }

    /// Iterates one consumer's stream.
    public struct Iterator: AsyncIteratorProtocol {
        /// What ``next()`` throws: only ``AMIOError``.
        public typealias Failure = AMIOError

        let queue: ConsumerQueue<Element>
        /// Held by every copy of the iterator; the last one gone makes the
        /// consumer leave, as a loop that breaks does.
        let lease: ConsumerLease<Element>
        /// Whether the ending's error has been thrown: it is thrown once,
        /// and every call after it returns nil.
        var endingThrown = false

        init(queue: ConsumerQueue<Element>) {
            self.queue = queue
            lease = ConsumerLease(queue)
        }

        // Code outside the module calls the unspecialised generic function,
        // which would look up the element's types (its Optional, the queue's
        // state) at run time for every element; these attributes give it
        // entry points compiled for the two sequences an interface has,
        // which the generic one jumps to on a comparison of the metadata.

        /// The next element.
        ///
        /// - Returns: The element; nil once the sequence has finished, or
        ///   the task was cancelled.
        /// - Throws: The error the sequence ended with (the server went
        ///   away), once, after every element that came before it.
        @_specialize(where Element == InputAudioChunk)
        @_specialize(where Element == AudioInterfaceEvent)
        public mutating func next() async throws(AMIOError) -> Element? {
            if let element = await queue.next(isolation: nil) { return element }
            try throwEndingOnce()
            return nil
        }

        /// The next element, awaited on `actor` (the caller's isolation, which
        /// `for try await` passes): the consumer resumes where it runs, without
        /// a hop through the global executor and back for every element.
        ///
        /// - Parameter actor: The actor to resume on; `nil` for none.
        /// - Returns: As ``next()``.
        /// - Throws: As ``next()``.
        @_specialize(where Element == InputAudioChunk)
        @_specialize(where Element == AudioInterfaceEvent)
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AMIOError) -> Element? {
            if let element = await queue.next(isolation: actor) { return element }
            try throwEndingOnce()
            return nil
        }

        private mutating func throwEndingOnce() throws(AMIOError) {
            guard !endingThrown, let error = queue.error else { return }
            endingThrown = true
            throw error
        }
    }
}
