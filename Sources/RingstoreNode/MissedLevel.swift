import RingstoreCore

extension RingstoreError {
    /// The 503 of a read or write whose consistency level was not met: how many replicas
    /// were required, how many answered, and why the others did not.
    static func missedLevel(
        _ what: String, required: Int, answered: Int, verb: String, reasons: [String], note: String = ""
    ) -> RingstoreError {
        let why = reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))"
        return RingstoreError(
            .unavailable, "\(what) needed \(required) replicas and \(answered) \(verb) in time\(why)\(note)",
            required: required, answered: answered)
    }
}
