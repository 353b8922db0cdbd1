import ArgumentParser
import Foundation
import Linearizability

/// `ringstore-check`: checks a recorded history of single-key registers for
/// linearizability (the fault bench records histories in Python and asks this).
///
/// Input: a JSON object from key to operations, each
/// `{"client": 1, "f": "write"|"read"|"cas", "value": "v"|null, "expected": ...,
/// "succeeded": true|false|null, "call": 12, "returned": 15|null}` (`returned` null: no
/// answer, the outcome is unknown). Prints one line per key; exits 1 if any key is not
/// linearizable, 3 if the search ran out of steps.
@main
struct RingstoreCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringstore-check", abstract: "Check a JSON register history for linearizability.")

    @Argument(help: "The history file (JSON).") var history: String
    @Option(help: "Search steps per key before giving up.") var stepLimit = 20_000_000

    struct Recorded: Decodable {
        var client: Int
        var f: String
        var value: String?
        var expected: String?
        var succeeded: Bool?
        var call: Int64
        var returned: Int64?
    }

    func run() throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: history))
        } catch {
            throw ValidationError("cannot read \(history): \(error.localizedDescription)")
        }
        let recorded: [String: [Recorded]]
        do {
            recorded = try JSONDecoder().decode([String: [Recorded]].self, from: data)
        } catch {
            throw ValidationError("\(history) is not a history: \(error)")
        }
        var operations: [String: [RegisterOperation]] = [:]
        for (key, entries) in recorded {
            operations[key] = try entries.map { entry in
                let action: RegisterOperation.Action
                switch entry.f {
                case "write": action = .write(entry.value)
                case "read": action = .read(entry.value)
                case "cas":
                    action = .compareAndSet(expected: entry.expected, new: entry.value, succeeded: entry.succeeded)
                default: throw ValidationError("unknown operation '\(entry.f)' on key \(key)")
                }
                return RegisterOperation(
                    client: entry.client, action: action, call: entry.call, returned: entry.returned)
            }
        }
        let checker = LinearizabilityChecker(stepLimit: stepLimit)
        var failed = false
        var undecided = false
        for key in operations.keys.sorted() {
            let count = operations[key]!.count
            switch checker.check(key: key, operations[key]!) {
            case .linearizable:
                print("\(key): \(count) operations: linearizable")
            case .notLinearizable(_, let kept, let linearized):
                print(
                    "\(key): \(count) operations: NOT linearizable (at most \(linearized) of \(kept.count) linearize)")
                failed = true
            case .undecided:
                print("\(key): \(count) operations: undecided (the search ran out of steps)")
                undecided = true
            }
        }
        if failed { throw ExitCode(1) }
        if undecided { throw ExitCode(3) }
    }
}
