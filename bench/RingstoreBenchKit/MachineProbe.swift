import Foundation

/// Reads how busy the machine is from /proc (Linux): the 1-minute load average and the
/// cumulative busy and total CPU jiffies.
public enum MachineProbe {
    public static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// (busy, total) jiffies over all CPUs since boot.
    public static func cpuTimes() -> (busy: UInt64, total: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 5 else { return nil }
        let total = fields.reduce(0, +)
        let idle = fields[3] + fields[4]  // idle + iowait
        return (total - idle, total)
    }

    public static func busyShare(from start: (busy: UInt64, total: UInt64)?, to end: (busy: UInt64, total: UInt64)?)
        -> Double?
    {
        guard let start, let end, end.total > start.total else { return nil }
        return Double(end.busy - start.busy) / Double(end.total - start.total)
    }
}
