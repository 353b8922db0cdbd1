import ArgumentParser
import Foundation
import Histogram
import LogStore
import Logging
import RingstoreCore

/// `ringstore-storage-bench`: measures the storage engine on this machine, next to the
/// disk's own raw fdatasync rate measured in the same run.
@main
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringstore-storage-bench",
        abstract: "Benchmark LogStore: group commit, compression, restart, keydir memory."
    )

    @Option(help: "Directory for the benchmark's files (removed afterwards).")
    var directory: String = "/tmp/ringstore-storage-bench"

    @Option(help: "Seconds per throughput measurement.")
    var seconds: Double = 3

    @Option(help: "Keys for the restart measurement.")
    var restartKeys: Int = 1_000_000

    @Option(help: "Value bytes for the append measurements.")
    var valueBytes: Int = 100

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = Report()
        report.line("# LogStore storage benchmark")
        report.line("")
        report.line("- command: `ringstore-storage-bench \(CommandLine.arguments.dropFirst().joined(separator: " "))`")
        report.line("- machine: \(MachineDescription.current())")
        report.line("- CRC32C: \(CRC32C.isHardwareAccelerated ? "SSE4.2" : "table")")
        report.line("")

        let raw = try RawFsync.measure(path: directory + "/raw", seconds: seconds, recordBytes: valueBytes)
        report.line("## Raw disk: append \(valueBytes) B + fdatasync, one writer")
        report.line("")
        report.line("| fsyncs/s | p50 | p99 |")
        report.line("|---|---|---|")
        report.line("| \(Int(raw.perSecond)) | \(Micros(raw.p50)) | \(Micros(raw.p99)) |")
        report.line("")

        report.line("## Appends with sync=always (\(valueBytes) B values)")
        report.line("")
        report.line("| writers | appends/s | MB/s | records per fsync | p50 | p99 | x raw fsync rate | x one writer |")
        report.line("|---|---|---|---|---|---|---|---|")
        var single = 0.0
        for writers in [1, 16, 64] {
            let r = try await AppendLoad.run(
                directory: directory + "/append-\(writers)", writers: writers, seconds: seconds,
                valueBytes: valueBytes, compression: true, logger: logger)
            report.line(
                "| \(writers) | \(Int(r.perSecond)) | \(String(format: "%.2f", r.megabytesPerSecond)) | "
                    + "\(String(format: "%.1f", r.recordsPerFsync)) | \(Micros(r.p50)) | \(Micros(r.p99)) | "
                    + "\(String(format: "%.1f", r.perSecond / raw.perSecond)) | "
                    + "\(String(format: "%.1f", r.perSecond / (single > 0 ? single : r.perSecond))) |")
            if writers == 1 { single = r.perSecond }
        }
        report.line("")

        report.line("## Compression (LZ4 against a shared 64 KiB dictionary)")
        report.line("")
        report.line("| values | raw bytes | stored value bytes | ratio | bytes on disk per record |")
        report.line("|---|---|---|---|---|")
        for kind in CompressionRun.Kind.allCases {
            let r = try await CompressionRun.run(directory: directory + "/compress-\(kind)", kind: kind, logger: logger)
            report.line(
                "| \(kind.title) | \(r.rawBytes) | \(r.storedBytes) | \(String(format: "%.2f", r.ratio))x | "
                    + "\(String(format: "%.0f", r.diskBytesPerRecord)) |")
        }
        report.line("")
        report.line("### Cost of LZ4 on writes (1 KiB JSON values, 64 writers, sync=always)")
        report.line("")
        report.line("| compression | appends/s |")
        report.line("|---|---|")
        var withAndWithout: [Double] = []
        for compression in [false, true, false, true] {
            let r = try await AppendLoad.run(
                directory: directory + "/lz4-\(compression)-\(withAndWithout.count)", writers: 64, seconds: seconds,
                valueBytes: 1024, compression: compression, json: true, logger: logger)
            withAndWithout.append(r.perSecond)
            report.line("| \(compression ? "on" : "off") | \(Int(r.perSecond)) |")
        }
        let off = (withAndWithout[0] + withAndWithout[2]) / 2
        let on = (withAndWithout[1] + withAndWithout[3]) / 2
        report.line("")
        report.line("LZ4 on / off (mean of two alternating runs each): \(String(format: "%.2f", on / off))")
        report.line("")

        let restart = try await RestartRun.run(directory: directory + "/restart", keys: restartKeys, logger: logger)
        report.line("## Restart and keydir memory (\(restartKeys) keys)")
        report.line("")
        report.line("| keys | segments | open time | keydir heap bytes per key | mean key bytes |")
        report.line("|---|---|---|---|---|")
        report.line(
            "| \(restart.keys) | \(restart.segments) | \(String(format: "%.2f", restart.openSeconds)) s | "
                + "\(String(format: "%.0f", restart.heapBytesPerKey)) | \(String(format: "%.1f", restart.meanKeyBytes)) |"
        )
        report.line("")
        print(report.text, terminator: "")
    }
}

/// Collects the Markdown the benchmark prints.
final class Report {
    var text = ""
    func line(_ s: String) {
        text += s + "\n"
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }
}

/// Microseconds, printed with a unit.
struct Micros: CustomStringConvertible {
    let nanos: UInt64
    init(_ nanos: UInt64) { self.nanos = nanos }
    var description: String { String(format: "%.0f µs", Double(nanos) / 1000) }
}

enum MachineDescription {
    static func current() -> String {
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let load =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: " ") ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), load average \(load)"
    }
}
