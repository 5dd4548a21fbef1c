// SpectrumChunks: overlapping Hann-windowed chunks of the input (2048 frames,
// 50 % overlap) and the peak frequency of each (pastream's chunks(overlap:) recipe).
//   SpectrumChunks [seconds] [--loopback FREQUENCY]
// With --loopback the program plays a tone into its own inputs, so there is
// something to measure on a server without sound hardware.
import AMIO
import ExampleSupport
import Foundation

let commandLine = ExampleCommandLine("SpectrumChunks", usage: "SpectrumChunks [seconds] [--loopback FREQUENCY]")
let arguments = commandLine.arguments
let loopback = arguments.firstIndex(of: "--loopback")
let positional = arguments.indices.filter { $0 != loopback && $0 != loopback.map { $0 + 1 } }
guard positional.count <= 1, loopback.map({ arguments.indices.contains($0 + 1) }) ?? true else { commandLine.usageError() }
let seconds = positional.first.map { commandLine.number($0, "seconds", default: 2, in: 0.001...86400) } ?? 2
let loopbackFrequency = loopback.map { commandLine.number($0 + 1, "the --loopback frequency", default: 1000, in: 1...20000) }

let size = 2048, hop = size / 2
// Errors end the program as a command-line tool ends: one line, a sysexits status.
do throws(AMIOError) {
    let io = try await AudioInterface(clientName: "spectrum", inputChannels: 1, outputChannels: 1,
                                      connectPhysicalPorts: loopbackFrequency == nil)
    let rate = io.sampleRate
    if let frequency = loopbackFrequency {
        try io.connectLoopback()  // its own cable on jackd, through the sink's monitor on PipeWire
        let tone = try AudioClip(channels: [(0..<rate).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }],
                                 sampleRate: rate)
        try io.setPlayspec([PlayspecEntry(clip: tone, playAt: 0, repeatInterval: try io.frames(forSeconds: 1), gains: [1])])
    }
    try io.setTransportRolling(true)

    let window = (0..<size).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(size)) }

    /// In-place iterative radix-2 FFT.
    func fft(_ real: inout [Double], _ imaginary: inout [Double]) {
        let n = real.count
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { real.swapAt(i, j); imaginary.swapAt(i, j) }
        }
        var length = 2
        while length <= n {
            let angle = -2 * Double.pi / Double(length)
            for start in stride(from: 0, to: n, by: length) {
                for k in 0..<length / 2 {
                    let (c, s) = (cos(angle * Double(k)), sin(angle * Double(k)))
                    let a = start + k, b = a + length / 2
                    let tr = real[b] * c - imaginary[b] * s, ti = real[b] * s + imaginary[b] * c
                    real[b] = real[a] - tr; imaginary[b] = imaginary[a] - ti
                    real[a] += tr; imaginary[a] += ti
                }
            }
            length <<= 1
        }
    }

    /// The strongest frequency, refined between bins by a parabola through the log magnitudes.
    func peakFrequency(_ samples: ArraySlice<Float>) -> (frequency: Double, level: Double) {
        var real = zip(samples, window).map { Double($0) * $1 }
        var imaginary = [Double](repeating: 0, count: size)
        fft(&real, &imaginary)
        let magnitude = (0..<size / 2).map { (real[$0] * real[$0] + imaginary[$0] * imaginary[$0]).squareRoot() }
        let bin = (1..<size / 2 - 1).max { magnitude[$0] < magnitude[$1] }!
        let (a, b, c) = (log(magnitude[bin - 1] + 1e-12), log(magnitude[bin] + 1e-12), log(magnitude[bin + 1] + 1e-12))
        let offset = (a - c) / (2 * (a - 2 * b + c))
        return ((Double(bin) + offset) * Double(rate) / Double(size), 20 * log10(2 * magnitude[bin] / (Double(size) / 2) + 1e-12))
    }

    var buffer: [Float] = []
    var firstFrame: FramePosition? = nil
    var startFrame: FramePosition? = nil   // of the current run of windows
    var analysed = 0
    var analysedBeforeGap = 0
    // `seconds` of audio, counted in frames (the audio clock), not on the wall clock.
    let wanted = try io.frames(forSeconds: seconds)
    for try await chunk in io.inputChunks where chunk.wasTransportRolling {
        if firstFrame == nil { firstFrame = chunk.startingFrame; startFrame = chunk.startingFrame }
        if chunk.droppedFramesBefore > 0 {
            // Frames were lost (a stall): a window across the gap would measure
            // the splice, not the signal. Start the windows afresh after it.
            print("gap of \(chunk.droppedFramesBefore) frames before frame \(chunk.startingFrame)")
            buffer.removeAll()
            startFrame = chunk.startingFrame
            analysedBeforeGap = analysed
        }
        buffer += chunk.samples(channel: 0)
        while buffer.count >= size {
            let (frequency, level) = peakFrequency(buffer[0..<size])
            print(String(format: "chunk %3d at frame %7lld: peak %8.1f Hz, %6.1f dBFS", analysed,
                         startFrame! + FramePosition((analysed - analysedBeforeGap) * hop), frequency, level))
            analysed += 1
            buffer.removeFirst(hop)
        }
        if chunk.endFrame - firstFrame! >= wanted { break }
    }
    await io.close()
} catch {
    commandLine.fail(error)
}
