import Foundation
import Histogram

/// Once a second: collects the connections' intervals into the throughput series and
/// the progress line, ends the warm-up (forgetting what it measured), stops the phase
/// when its duration is up, and closes connections whose operation has hung past the
/// timeout (and, after the stop, every connection still waiting).
struct Sampler: Sendable {
    struct Sampled: Sendable {
        var measuredFrom: ContinuousClock.Instant
        var stoppedAt: ContinuousClock.Instant?
        var series: [PhaseResult.Interval]
    }

    let control: RunControl
    let recorders: [ConnectionRecorder]
    let slots: [ChannelSlot]
    let settings: PhaseSettings
    let label: String

    func sample() async -> Sampled {
        let phaseStart = ContinuousClock.now
        var sampled = Sampled(measuredFrom: phaseStart, stoppedAt: nil, series: [])
        var tick = 0
        var measuredSeconds = 0
        var stoppedTick: Int?
        var idleSeconds = 0
        let idleLimit = max(1, Int(settings.timeout.components.seconds))
        while !Task.isCancelled {
            do { try await Task.sleep(until: phaseStart + .seconds(tick + 1)) } catch { break }
            tick += 1
            var interval = LatencySummary.makeHistogram()
            var errors = 0
            for recorder in recorders {
                let (histogram, intervalErrors) = recorder.takeInterval()
                interval.add(histogram)
                errors += intervalErrors
            }
            // A phase where nothing completes (the target is down or hangs) ends by
            // itself after the timeout instead of retrying forever.
            idleSeconds = interval.totalCount == 0 ? idleSeconds + 1 : 0
            if idleSeconds >= idleLimit, stoppedTick == nil {
                control.stop()
                sampled.stoppedAt = .now
                stoppedTick = tick
                progress("no operation completed for \(idleSeconds) s, stopping", interval, errors, tick)
            }
            if tick <= settings.warmupSeconds {
                progress("warm-up", interval, errors, tick)
                if tick == settings.warmupSeconds {
                    for recorder in recorders { recorder.reset() }
                    sampled.measuredFrom = .now
                }
            } else if stoppedTick == nil {
                measuredSeconds += 1
                let p99 = interval.totalCount == 0 ? 0 : interval.valueAtPercentile(99)
                sampled.series.append(
                    .init(second: measuredSeconds, operations: interval.totalCount, p99: p99, errors: errors))
                progress(label, interval, errors, measuredSeconds)
                if let duration = settings.durationSeconds, measuredSeconds >= duration {
                    control.stop()
                    sampled.stoppedAt = .now
                    stoppedTick = tick
                }
            }
            closeHung(stoppedFor: stoppedTick.map { tick - $0 })
        }
        return sampled
    }

    /// Closes connections whose operation is older than the timeout; once the phase has
    /// been stopped for the timeout's length, closes every connection.
    private func closeHung(stoppedFor: Int?) {
        let now = ClosedLoopConnection.now()
        let timeoutSeconds = Int(settings.timeout.components.seconds)
        for (recorder, slot) in zip(recorders, slots) {
            if let stoppedFor, stoppedFor >= max(1, timeoutSeconds) {
                slot.close()
            } else if let start = recorder.operationStart, now > start, now - start >= control.timeoutNanos {
                slot.close()
            }
        }
    }

    private func progress(_ label: String, _ interval: Histogram<UInt64>, _ errors: Int, _ second: Int) {
        guard settings.progress else { return }
        let p99 = interval.totalCount == 0 ? 0 : Double(interval.valueAtPercentile(99)) / 1000
        let line = String(
            format: "[%@ %3ds] %8d ops/s  p99 %7.2f ms  errors %d\n", label, second, Int(interval.totalCount), p99,
            errors)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
