import Foundation

/// The human-readable summary of a result, printed at the end of a run.
public enum ResultTable {
    public static func render(_ result: BenchResult) -> String {
        var lines: [String] = []
        let limit =
            result.durationSeconds.map { "\($0) s after \(result.warmupSeconds) s warm-up" }
            ?? "\(result.operationLimit ?? 0) operations"
        lines.append(
            "\(result.label): \(result.target) at \(result.endpoints.joined(separator: ",")); workload \(result.workload.rawValue) (\(result.distribution.rawValue)), \(result.records) records of \(result.valueBytes) B, \(result.connections) connections, \(limit)"
        )
        if !result.parameters.isEmpty {
            lines.append(
                "parameters: "
                    + result.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                        separator: " "))
        }
        if let load = result.load {
            lines.append(
                String(
                    format: "load: %d records in %.1f s (%.0f/s), ", Int(load.operations), load.seconds, load.throughput
                )
                    + errorText(load.errors))
        }
        let run = result.run
        lines.append(
            String(
                format: "run:  %d operations in %.1f s: %.0f ops/s; ", Int(run.operations), run.seconds, run.throughput)
                + "not found \(run.notFound); " + errorText(run.errors))
        lines.append(
            "latency (ms)".padding(toLength: 20, withPad: " ", startingAt: 0)
                + ["count", "mean", "p50", "p90", "p99", "p99.9", "max"].map { pad($0, 10) }.joined())
        let kinds = OperationKind.allCases.map(\.rawValue).filter { run.latency[$0] != nil } + ["all"]
        for kind in kinds {
            guard let summary = run.latency[kind] else { continue }
            let cells =
                [pad(String(summary.count), 10), pad(String(format: "%.2f", summary.mean / 1000), 10)]
                + [summary.p50, summary.p90, summary.p99, summary.p999, summary.max].map {
                    pad(String(format: "%.2f", Double($0) / 1000), 10)
                }
            lines.append(kind.padding(toLength: 20, withPad: " ", startingAt: 0) + cells.joined())
        }
        if let busy = result.machine.busyShare {
            lines.append(
                String(
                    format: "machine: %d CPUs, %.0f%% busy during the run, load average %.2f before, %.2f after",
                    result.machine.cpus, busy * 100, result.machine.loadAverageBefore ?? 0,
                    result.machine.loadAverageAfter ?? 0))
        }
        return lines.joined(separator: "\n")
    }

    static func errorText(_ errors: [String: Int]) -> String {
        errors.isEmpty
            ? "errors: none"
            : "errors: " + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : String(repeating: " ", count: width - text.count) + text
    }
}
