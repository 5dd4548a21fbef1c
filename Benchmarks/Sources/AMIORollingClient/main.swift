// The client under test of the idle-cost benchmark: a SwiftAMIO interface
// through the public API only, rolling with no clips, its two inputs
// consumed by a task that iterates `inputChunks`, as an application that
// records or meters would.
//
//   AMIORollingClient SERVER-NAME [MINIMUM-FRAMES [on-input-executor]]
//
// With MINIMUM-FRAMES the task iterates `inputChunks(minimumFrames:)`
// instead: input in pieces of at least that many frames; with
// on-input-executor the task prefers `io.inputExecutor`.
//
// It speaks the same protocol as PlainJackClient, its C yardstick: "ready"
// once rolling, "cpu MICROSECONDS" for each line read from standard input
// (the CPU time of the whole process, every thread, so far), and at the end
// of input it closes the interface and prints "consumed FRAMES dropped FRAMES".
import AMIO
import Foundation

let arguments = CommandLine.arguments
guard (2...4).contains(arguments.count), let minimumFrames = arguments.count >= 3 ? Int(arguments[2]) : 0,
      arguments.count < 4 || arguments[3] == "on-input-executor" else {
    FileHandle.standardError.write(Data("usage: AMIORollingClient SERVER-NAME [MINIMUM-FRAMES [on-input-executor]]\n".utf8))
    exit(2)
}
let onInputExecutor = arguments.count == 4
let io = try await AudioInterface(clientName: "amio-rolling-\(minimumFrames)\(onInputExecutor ? "-x" : "")", serverName: CommandLine.arguments[1],
                                  inputChannels: 2, outputChannels: 2, connectPhysicalPorts: true)
let consumer = Task(executorPreference: onInputExecutor ? io.inputExecutor : nil) {
    var frames = 0, dropped = 0
    do {
        for try await chunk in io.inputChunks(minimumFrames: minimumFrames) {
            frames += chunk.frameCount
            dropped += chunk.droppedFramesBefore
        }
    } catch {}
    return (frames, dropped)
}
try io.setTransportRolling(true)
Protocol.say("ready")

// Standard input is read on a thread of its own: a blocking read on the
// concurrency pool would take one of its two threads from the consumer.
await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
    Thread.detachNewThread {
        while readLine() != nil { Protocol.say("cpu \(Protocol.cpuMicroseconds())") }
        ended.resume()
    }
}
await io.close()
let (frames, dropped) = await consumer.value
Protocol.say("consumed \(frames) dropped \(dropped)")

/// The lines the benchmark reads.
enum Protocol {
    /// Writes one line to standard output at once (unbuffered: the benchmark waits for it).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// CPU time of the process, user and system, every thread, in microseconds.
    static func cpuMicroseconds() -> Int {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
            + Int(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}
